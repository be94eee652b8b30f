"""Evaluate a synthetic table made elsewhere: validate -> attack -> gate, with no training.

Wiring only, like flows/pipeline.py. The real train file plays the source and the real holdout
stays locked; the run is logged to MLflow like a pipeline run, and ends Failed when a gate fails.
"""

from __future__ import annotations

from prefect import flow

from synthgov.checks import CheckResult
from synthgov.errors import GateFailedError
from synthgov.parallel import flow_fans_out, settle
from synthgov.params import Params
from synthgov.tasks import release, run, stages


@flow(name="synthgov-evaluate", log_prints=True)
def evaluate(params: Params, synthetic_path: str, workspace: str = ".",
             tracking_uri: str | None = None, summary_json: str | None = None,
             artifact_root: str | None = None) -> dict:
    """Validate and attack `synthetic_path` against the real train and holdout files in `params`."""
    tracking = run.start_run(workspace, params, tracking_uri, "evaluate", artifact_root=artifact_root)
    try:
        stages.ingest_stage(workspace, params, tracking)
        stages.import_synthetic_stage(workspace, params, synthetic_path, tracking)
        if flow_fans_out():  # a Dask task runner: both at the same time (synthgov.parallel)
            settle([(name, task.submit(workspace, params, tracking))
                    for name, task in (("validate", stages.validate_stage), ("attack", stages.attack_stage))])
        else:
            stages.validate_stage(workspace, params, tracking)
            stages.attack_stage(workspace, params, tracking)
        verdict = release.gate_stage(workspace, params, tracking)
        if not verdict["promotable"]:
            results = [CheckResult.model_validate(r) for r in verdict["results"]]
            raise GateFailedError([r for r in results if r.blocking_failure], results)
    except BaseException as exc:
        run.finish_run(workspace, params, tracking, exc, summary_json, False)
        raise
    return run.finish_run(workspace, params, tracking, None, summary_json, False)
