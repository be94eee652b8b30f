"""The governed pipeline: ingest -> audit -> train -> generate -> validate -> attack -> gate -> promote.

Wiring only: every stage is a task in synthgov.tasks. A blocking audit finding stops the run before
training (no privacy budget is spent); a failing gate quarantines the candidate and ends the flow
run Failed, with every failed gate named. However the run ends, even by an unexpected error or an
interrupt, it is closed in MLflow, summarised, and its locks are released.
"""

from __future__ import annotations

from prefect import flow

from synthgov.params import Params, load_params
from synthgov.tasks import release, run, stages
from synthgov.workspace import Workspace


@flow(name="synthgov-pipeline", log_prints=True)
def pipeline(params: Params | None = None, workspace: str = ".", params_dir: str = "params",
             source_path: str | None = None, tracking_uri: str | None = None,
             summary_json: str | None = None, commit_dvc: bool = False, trigger: str = "manual") -> dict:
    """Run every stage in `workspace`; promote only if every blocking gate passes.

    Deployments pass no `params`: they are loaded from `params_dir` (relative to the workspace),
    with `source_path` (from a new-source event) overriding data.source.
    """
    if params is None:
        overrides = {"data.source": source_path, "data.format": "auto"} if source_path else {}
        params = load_params(Workspace(workspace).path(params_dir), overrides)
    tracking = run.start_run(workspace, params, tracking_uri, trigger)
    try:
        stages.ingest_stage(workspace, params, tracking)
        stages.audit_stage(workspace, params, tracking)
        stages.train_stage(workspace, params, tracking)
        stages.generate_stage(workspace, params, tracking)
        stages.validate_stage(workspace, params, tracking)
        stages.attack_stage(workspace, params, tracking)
        release.gate_stage(workspace, params, tracking)
        facts = run.record_lineage(workspace, params, tracking)
        release.promote_stage(workspace, params, tracking.run_id, facts, tracking)
    except BaseException as exc:
        run.finish_run(workspace, params, tracking, exc, summary_json, commit_dvc)
        raise
    return run.finish_run(workspace, params, tracking, None, summary_json, commit_dvc)
