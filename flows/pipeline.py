"""The governed pipeline: ingest -> audit -> train -> generate -> validate -> attack -> gate -> promote.

Wiring only: every stage is a task in synthgov.tasks. A blocking audit finding stops the run before
training (no privacy budget is spent); a failing gate quarantines the candidate and ends the flow
run Failed, with every failed gate named. Either way the run is closed in MLflow and summarised.
"""

from __future__ import annotations

from prefect import flow

from synthgov.errors import SynthgovError
from synthgov.params import Params, load_params
from synthgov.tasks import run, stages


@flow(name="synthgov-pipeline", log_prints=True)
def pipeline(params: Params | None = None, workspace: str = ".", params_dir: str = "params",
             source_path: str | None = None, tracking_uri: str | None = None,
             summary_json: str | None = None, commit_dvc: bool = False) -> dict:
    """Run every stage in `workspace`; promote only if every blocking gate passes.

    Deployments pass no `params`: they are loaded from `params_dir` (relative to the workspace),
    with `source_path` (from a new-source event) overriding data.source.
    """
    if params is None:
        overrides = {"data.source": source_path, "data.format": "auto"} if source_path else {}
        params = load_params(stages.Workspace(workspace).path(params_dir), overrides)
    tracking = run.start_run(workspace, params, tracking_uri)
    try:
        stages.ingest_stage(workspace, params, tracking)
        stages.audit_stage(workspace, params, tracking)
        stages.train_stage(workspace, params, tracking)
        stages.generate_stage(workspace, params, tracking)
        stages.validate_stage(workspace, params, tracking)
        stages.attack_stage(workspace, params, tracking)
        stages.gate_stage(workspace, params, tracking)
        facts = run.record_lineage(workspace, tracking)
        stages.promote_stage(workspace, params, tracking.run_id, facts, tracking)
    except SynthgovError as exc:
        run.finish_run(workspace, params, tracking, str(exc), summary_json, commit_dvc)
        raise
    return run.finish_run(workspace, params, tracking, None, summary_json, commit_dvc)
