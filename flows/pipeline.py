"""The governed pipeline: ingest -> audit -> train -> generate -> validate -> attack -> gate -> promote.

Wiring only: every stage is a task in synthgov.tasks. A blocking audit finding stops the run before
training (no privacy budget is spent); a failing gate quarantines the candidate and ends the flow
run Failed, with every failed gate named. However the run ends, even by an unexpected error or an
interrupt, it is closed in MLflow, summarised, and its locks are released.
"""

from __future__ import annotations

import logging

from prefect import flow

from synthgov import resume as resuming
from synthgov.isolation import isolating
from synthgov.parallel import flow_fans_out, settle
from synthgov.params import Params, load_params
from synthgov.release.approval import wait_for_decision
from synthgov.tasks import release, run, stages
from synthgov.workspace import Workspace

log = logging.getLogger("synthgov")


@flow(name="synthgov-pipeline", log_prints=True)
def pipeline(params: Params | None = None, workspace: str = ".", params_dir: str = "params",
             source_path: str | None = None, tracking_uri: str | None = None,
             summary_json: str | None = None, commit_dvc: bool = False, trigger: str = "manual",
             regenerate: bool = False, resume: str | None = None, artifact_root: str | None = None) -> dict:
    """Run every stage in `workspace`; promote only if every blocking gate passes.

    Deployments pass no `params`: they are loaded from `params_dir` (relative to the workspace).
    A new source (`source_path`, from the watcher's event) is split into training rows and a
    holdout as data.yaml declares. `regenerate` (the nightly) runs the current release's source
    again, and samples its model again when the source and params are unchanged (no new spend).
    `resume` (a run id) continues a run that failed or was killed, keeping its completed stages.
    Run with a Dask task runner (synthgov.parallel), validate and attack run at the same time. On
    a large source each stage runs in a child process of its own (synthgov.isolation).
    """
    if params is None:
        overrides = {"data.source": source_path, "data.format": "auto", "data.holdout": None} if source_path else {}
        params = load_params(Workspace(workspace).path(params_dir), overrides)
    if regenerate:
        params = run.regeneration_params(workspace, params)
    tracking = run.start_run(workspace, params, tracking_uri, trigger, resume, artifact_root)
    ws, kept = Workspace(workspace, tracking.run_id), []
    isolate = isolating(workspace, params)
    if isolate:
        log.info("each stage runs in a child process of its own (operations.isolate_stages: %s)",
                 params.operations.isolate_stages)
    try:
        checks = []  # validate and attack: at the same time when the task runner is Dask's
        for name, task, extra in (("ingest", stages.ingest_stage, {}), ("audit", stages.audit_stage, {}),
                                  ("train", stages.train_stage, {"reuse_model": regenerate}),
                                  ("generate", stages.generate_stage, {}), ("validate", stages.validate_stage, {}),
                                  ("attack", stages.attack_stage, {})):
            if resume and len(kept) == resuming.RESUMABLE.index(name) and resuming.kept(ws, params, name):
                kept.append(name)
                log.info("stage %s: kept from the earlier attempt of run %s (inputs unchanged)", name, resume)
                continue
            if name in ("validate", "attack") and flow_fans_out():
                checks.append((name, task.submit(workspace, params, tracking)))
                continue
            task(workspace, params, tracking, **extra, isolate=isolate)
            resuming.mark_done(ws, params, name)
        settle(checks, lambda name: resuming.mark_done(ws, params, name))
        if kept:
            run.note_kept(workspace, tracking, kept)
        verdict = release.gate_stage(workspace, params, tracking)
        facts = run.record_lineage(workspace, params, tracking)
        decision = None
        if params.release.require_approval and verdict["promotable"]:  # a person decides (pauses the flow run)
            decision = wait_for_decision(ws.run_dir, tracking.run_id, params.release.approval_timeout_seconds)
        release.promote_stage(workspace, params, tracking.run_id, facts, tracking, decision)
    except BaseException as exc:
        run.finish_run(workspace, params, tracking, exc, summary_json, commit_dvc)
        raise
    return run.finish_run(workspace, params, tracking, None, summary_json, commit_dvc)
