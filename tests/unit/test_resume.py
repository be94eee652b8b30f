"""Which completed stages of a run a resume keeps: same inputs and intact files only."""

from __future__ import annotations

from synthgov import resume
from synthgov.workspace import Workspace


def _run(tmp_path, params):
    ws = Workspace(tmp_path, "r1")
    source = tmp_path / "source.csv"
    source.write_text("a,b\n1,2\n")
    p = params.model_copy(update={"data": params.data.model_copy(update={"source": str(source), "holdout": None})})
    for stage in ("ingest", "audit", "train"):
        (ws.stage_dir(stage) / "out.json").write_text(f'{{"stage": "{stage}"}}')
        resume.mark_done(ws, p, stage)
    return ws, p, source


def test_completed_stages_with_unchanged_inputs_are_kept(tmp_path, params):
    ws, p, _ = _run(tmp_path, params)
    assert [resume.kept(ws, p, s) for s in resume.RESUMABLE] == [True, True, True, False, False, False]


def test_a_changed_source_reruns_everything(tmp_path, params):
    ws, p, source = _run(tmp_path, params)
    source.write_text("a,b\n1,3\n")
    assert not resume.kept(ws, p, "ingest")


def test_a_tampered_output_reruns_its_stage_and_changes_the_inputs_of_the_next(tmp_path, params):
    ws, p, _ = _run(tmp_path, params)
    (ws.run_dir / "audit" / "out.json").write_text("{}")
    assert resume.kept(ws, p, "ingest") and not resume.kept(ws, p, "audit")
    resume.mark_done(ws, p, "audit")  # audit ran again and wrote other files
    assert resume.kept(ws, p, "audit") and not resume.kept(ws, p, "train")


def test_changed_stage_params_rerun_but_operations_do_not(tmp_path, params):
    ws, p, _ = _run(tmp_path, params)
    ops = p.model_copy(update={"operations": p.operations.model_copy(update={"on_busy": "refuse"})})
    assert resume.kept(ws, ops, "train")
    other = p.model_copy(update={"train": p.train.model_copy(update={"epochs": p.train.epochs + 1})})
    assert not resume.kept(ws, other, "ingest")
