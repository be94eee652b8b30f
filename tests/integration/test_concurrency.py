"""Three runs started at once on a fresh workspace, two of one source and one of another: real
processes (`python -m synthgov.cli run`) against the Prefect test server, MLflow on SQLite, real
Opacus. None crashes, every release they make is complete, the ledger holds exactly their
trainings, and the two runs of one source run one after the other (its lock)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.integration.test_faults import _start, _workspace

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_three_runs_at_once_on_a_fresh_workspace(api_env, adult, tmp_path):
    from mlflow import MlflowClient

    from synthgov.privacy.ledger import PrivacyLedger

    # Setup: a fresh workspace (no MLflow store yet); two runs of one source, one of another
    ws = _workspace(tmp_path, adult, sources=2)
    # Run
    procs = [_start(ws, api_env, "--summary-json", str(ws / f"s{i}.json"), *source)
             for i, source in enumerate(([], [], ["--source", str(ws / "data" / "source1.csv"),
                                                  "--holdout", str(ws / "data" / "holdout.csv")]))]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    # Assert: none crashed, all promoted
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(o[-2000:] for o in outs)
    summaries = [json.loads((ws / f"s{i}.json").read_text()) for i in range(3)]
    assert all(s["promoted"] for s in summaries)
    # the ledger sum equals the three trainings
    ledger = PrivacyLedger(ws).entries()
    assert sorted(e["run_id"] for e in ledger) == sorted(s["run_id"] for s in summaries)
    assert sum(e["epsilon"] for e in ledger) == pytest.approx(sum(s["epsilon"] for s in summaries))
    # every release is complete (its manifest's hashes hold), and CURRENT names one of them
    for s in summaries:
        release = ws / "releases" / s["release_id"]
        manifest = json.loads((release / "manifest.json").read_text())
        for name, digest in manifest["files"].items():
            assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest
        assert (ws / "review" / s["release_id"] / "NOTICE.md").is_file()
    assert (ws / "releases" / "CURRENT").read_text().strip() in {s["release_id"] for s in summaries}
    # the two runs of one source ran one after the other (its lock), the other source alongside
    same = sorted((json.loads((ws / "runs" / s["run_id"] / "status.json").read_text()) for s in summaries[:2]),
                  key=lambda st: st["started_at"])
    assert same[0]["ended_at"] <= same[1]["started_at"]
    client = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}")
    exp = client.get_experiment_by_name("synthgov")
    parents = [r for r in client.search_runs([exp.experiment_id]) if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(r.info.status for r in parents) == ["FINISHED"] * 3
