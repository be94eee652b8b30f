"""Run-level tasks: open a pipeline run, record its lineage, and close it with a summary.

Opening gives the run its own folder (runs/<run_id>/), marks it alive and takes its source's lock
(synthgov.runs), closes the records of runs that died, and opens the MLflow parent run. Closing,
whatever ended the run (success, a failed gate, bad input, an internal error, an interrupt), sets
the MLflow parent run's status, commits a promoted run's outputs to DVC when the workspace is a
DVC project run with its own params, writes the run summary and releases the locks.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from synthgov import __version__, runs
from synthgov.atomic import write_json_atomic
from synthgov.errors import SynthgovError, WorkspaceError, error_message, outcome_of
from synthgov.locks import locked
from synthgov.params import Params
from synthgov.release import lineage
from synthgov.release import tracking as trk
from synthgov.resume import params_digest as params_hash
from synthgov.tasks.stages import IO_RETRIES
from synthgov.workspace import STAGES, Workspace

log = logging.getLogger("synthgov")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def note_kept(workspace: str, tracking: trk.Tracking, kept: list[str]) -> None:
    """Tag the resumed run's MLflow parent run with the stages kept from its earlier attempt; a
    kept training spent its budget in that attempt (this MLflow run logs epsilon 0)."""
    if not tracking.parent_run_id:
        return
    client = tracking.client()
    client.set_tag(tracking.parent_run_id, "synthgov.kept_stages", ",".join(kept))
    if "train" in kept:
        ws = Workspace(workspace, tracking.run_id)
        client.set_tag(tracking.parent_run_id, "synthgov.model_epsilon", str(ws.read_json("train", "training.json")["epsilon"]))
        trk.log_metrics(tracking, tracking.parent_run_id, {"epsilon": 0.0, "delta": 0.0})


def regeneration_params(workspace: str, params: Params) -> Params:
    """The nightly's params: the data settings (source, holdout, format, split) of the current
    release, so that it regenerates what is live; params' own when nothing is released yet."""
    from synthgov.release.promote import ReleaseStore

    store = ReleaseStore(Workspace(workspace).root)
    manifest = store.review_json(store.current(), "manifest.json") if store.current() else None
    if not manifest:
        return params
    data = manifest["params"]["data"]
    keys = ("source", "holdout", "format", "holdout_fraction", "split_seed")
    return params.model_copy(update={"data": params.data.model_copy(update={k: data[k] for k in keys})})


def _prefect_context() -> dict[str, str]:
    """The Prefect flow run and deployment this run belongs to (empty outside a flow run)."""
    from prefect.runtime import deployment, flow_run

    out = {}
    for key, value in (("prefect_flow_run_id", flow_run.id), ("prefect_flow_run_name", flow_run.name),
                       ("prefect_deployment", deployment.name)):
        if value:
            out[key] = str(value)
    return out


def govern_releases(root: Path, uri: str, ttl_days: float) -> None:
    """releases/CURRENT decides: never an expired or retired release, and the MLflow alias follows."""
    from synthgov.release import registry
    from synthgov.release.lifecycle import Lifecycle

    lifecycle = Lifecycle(root, ttl_days)
    before, after = lifecycle.enforce()
    if before != after:
        registry.mark(uri, before, lifecycle.status(before), found_by="a run's start")
    registry.sync_alias(uri, after)


def preflight(params: Params) -> None:
    """Refuse, before anything starts, a privacy budget the params alone show cannot be met."""
    if not params.dp or params.train.synthesizer != "dp-autoregressive":
        return
    from synthgov.privacy.accounting import calibrate_noise, plan_budget
    from synthgov.privacy.preprocessing import needs_estimates
    from synthgov.synthesizers.dpar import DPAutoregressive

    pp, tp = params.privacy, params.train
    todo, need_delta = needs_estimates(params, DPAutoregressive.trained_columns(params))
    plan = plan_budget(epsilon=pp.epsilon, delta=params.delta_for(1), count_epsilon=pp.count_epsilon,
                       preprocessing_epsilon=pp.preprocessing_epsilon, estimates=bool(todo),
                       estimates_delta=bool(need_delta), schema_epsilon=pp.schema_epsilon)
    calibrate_noise(epsilon=plan["training_epsilon"], delta=plan["training_delta"], sample_rate=tp.sample_rate,
                    steps=tp.steps, accountant=pp.accountant, neighbouring=pp.neighbouring)


@task(name="start-run", cache_policy=NO_CACHE)
def start_run(workspace: str, params: Params, tracking_uri: str | None, trigger: str = "manual",
              resume: str | None = None, artifact_root: str | None = None) -> trk.Tracking:
    """Mark the run alive under its source's lock, close dead runs' records, open the MLflow run.

    With `resume` (a run id), the run continues in that run's folder: every stage whose inputs
    are unchanged since it completed there is kept, not run again (no new privacy spend).
    `tracking_uri` and `artifact_root`: see synthgov.release.tracking.resolve_uri and artifact_root."""
    root = Workspace(workspace).root
    preflight(params)
    if not root.is_dir():
        raise WorkspaceError(f"{root}: the workspace is not a folder; create it (synthgov init) or pass --workspace")
    if resume:
        runs.resumable(root, resume)
    run_id = resume or new_run_id()
    uri = trk.resolve_uri(tracking_uri, root)
    runs.begin(root, run_id, str(Workspace(workspace).path(params.data.source)),
               on_busy=params.operations.on_busy, wait_seconds=params.operations.busy_wait_seconds,
               resumed=bool(resume))
    Workspace(workspace, run_id).mark_latest()
    try:
        exp_id = trk.prepare_store(uri, root, artifact_root)  # schema set up once, under the workspace lock
        runs.recover(root, uri, by=run_id)
        govern_releases(root, uri, params.release.ttl_days)
        pp = params.privacy
        tags = {"synthgov.git_commit": lineage.git_commit(), "synthgov.version": __version__,
                "synthgov.params_hash": params_hash(params), "synthgov.synthesizer": params.train.synthesizer,
                "synthgov.workspace": str(root), "synthgov.trigger": trigger,
                "synthgov.neighbouring": pp.neighbouring,
                "synthgov.randomness": "TEST MODE (seeded, not private)" if pp.test_mode else "secret",
                **({"synthgov.resumed": "true"} if resume else {}),
                **{f"synthgov.{k}": v for k, v in _prefect_context().items()}}
        tracking = trk.start_pipeline(uri, exp_id, run_id, params.dump(), tags, run_name=f"{run_id} {trigger}"[:250])
    except BaseException:
        runs.end(root, run_id, "failed", error="the run could not be opened")
        raise
    log.info("run %s: MLflow parent run %s in %s, folder %s", run_id, tracking.parent_run_id, trk.redact(uri),
             root / "runs" / run_id)
    return tracking


@task(name="record-lineage", cache_policy=NO_CACHE, **IO_RETRIES)
def record_lineage(workspace: str, params: Params, tracking: trk.Tracking) -> dict[str, str]:
    """DVC md5 of the source snapshot and the synthetic output, as parent-run tags."""
    ws = Workspace(workspace, tracking.run_id)
    snap = ws.read_json("ingest", "snapshot.json")
    facts = {
        "source_hash": snap["source_hash"],
        "dvc_md5_source_snapshot": lineage.dvc_md5(ws.file("ingest", "train.parquet")),
        "dvc_md5_holdout_snapshot": lineage.dvc_md5(ws.file("ingest", "holdout.parquet")),
        "dvc_md5_synthetic": lineage.dvc_md5(ws.file("generate", "synthetic.parquet")),
    }
    client = tracking.client()
    for key, value in facts.items():
        client.set_tag(tracking.parent_run_id, f"synthgov.{key}", value)
    return {**facts, "git_commit": client.get_run(tracking.parent_run_id).data.tags["synthgov.git_commit"],
            "params_hash": params_hash(params)}


def _commit_to_dvc(ws: Workspace) -> list[str]:
    """Copy a promoted run's stage folders into artifacts/ and record them in dvc.lock, under the
    workspace's dvc lock (one writer of artifacts/ and dvc.lock at a time)."""
    with locked(ws.root, "dvc", wait=600, what="artifacts/ and dvc.lock"):
        for stage in STAGES:
            src = ws.run_dir / stage
            if src.is_dir():
                dst = ws.root / "artifacts" / stage
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst)
        return lineage.dvc_commit(ws.root, STAGES)


def summarize(ws: Workspace, params: Params, tracking: trk.Tracking | None, error: BaseException | None,
              dvc_committed: list[str]) -> dict[str, Any]:
    """The run summary: outcome, gates, privacy spend, utility headline, where the release is."""
    from synthgov.privacy.ledger import PrivacyLedger

    def read(stage: str, name: str) -> dict[str, Any]:
        return ws.read_json(stage, name) if ws.has(stage, name) else {}

    snap, training, validation = read("ingest", "snapshot.json"), read("train", "training.json"), read("validate", "validation.json")
    gates, receipt = read("gate", "gates.json"), read("promote", "receipt.json")
    results = gates.get("results") or read("audit", "audit.json").get("checks", [])
    outcome, exit_code = outcome_of(error)
    promoted = bool(receipt.get("promoted")) and error is None
    spent = PrivacyLedger(ws.root).spent(snap["source_hash"]) if "source_hash" in snap else (0.0, 0.0)
    status = runs.read_status(ws.root, ws.run_id) if ws.run_id else {}
    return {
        "run_id": ws.run_id, "mlflow_run_id": tracking.parent_run_id if tracking else None,
        "outcome": outcome, "exit_code": exit_code, "promoted": promoted,
        "gates_passed": bool(gates) and gates.get("promotable", False) and error is None,
        "gates": [{"name": r["name"], "passed": r["passed"], "verdict": r.get("verdict"), "score": r["score"],
                   "threshold": r["threshold"], "severity": r["severity"]} for r in results],
        "failed_gates": [r["name"] for r in results if not r["passed"] and r["severity"] == "block"],
        "warn_gates": [r["name"] for r in results if not r["passed"] and r["severity"] == "warn"],
        # intervals that straddle their threshold: the sample cannot tell (blocking or not, by policy)
        "undecidable_gates": [r["name"] for r in results if r.get("verdict") == "undecidable"],
        "approval": read("promote", "approval.json") or None,
        "epsilon": training.get("epsilon", 0.0), "delta": training.get("delta", 0.0),
        "epsilon_this_run": training.get("epsilon_this_run", training.get("epsilon", 0.0)),
        "model_reused_from": training.get("reused_from"),
        "neighbouring": params.privacy.neighbouring, "test_mode": params.privacy.test_mode,
        "randomness": training.get("randomness"),
        "rows_released": training.get("rows_released"),
        "epsilon_cumulative": spent[0], "delta_cumulative": spent[1],
        "budget_epsilon": params.privacy.budget_epsilon,
        "tstr_auc": validation.get("tstr_auc"), "trtr_auc": validation.get("trtr_auc"),
        "synthetic_path": str(Path(receipt["path"]) / "synthetic.parquet") if receipt.get("promoted") else None,
        "release_id": receipt.get("release_id"), "review_path": receipt.get("review"),
        "quarantine_path": receipt.get("path") if receipt and not receipt.get("promoted") else None,
        "source_hash": snap.get("source_hash"), "dvc_committed": dvc_committed,
        "run_folder": str(ws.run_dir), "error": error_message(error) if error is not None else None,
        "error_stage": status.get("stage") if error is not None else None,
    }


def _tell_prefect(summary: dict[str, Any], error: BaseException | None) -> None:
    """Inside a Prefect flow run: a summary artifact linking the MLflow run and the release, and an
    event when a source version's privacy budget is exhausted (automations can notify on it)."""
    from prefect.runtime import flow_run

    if not flow_run.id:
        return
    from prefect.artifacts import create_markdown_artifact
    from prefect.events import emit_event

    from synthgov.errors import PrivacyBudgetError

    lines = [f"**{summary['outcome']}** (exit {summary['exit_code']})", "",
             f"- synthgov run: `{summary['run_id']}`", f"- MLflow run: `{summary['mlflow_run_id']}`",
             f"- release: `{summary['release_id']}`" if summary["release_id"] else "- release: none",
             f"- epsilon this run: {summary['epsilon_this_run']:.4g} (neighbouring {summary['neighbouring']})"]
    if summary["error"]:
        lines.append(f"- error: {summary['error']}")
    create_markdown_artifact(markdown="\n".join(lines), key="synthgov-run", description="synthgov run summary")
    if isinstance(error, PrivacyBudgetError) and summary.get("source_hash"):
        emit_event(event="synthgov.budget.exhausted",
                   resource={"prefect.resource.id": f"synthgov.source.{summary['source_hash'][:16]}"},
                   payload={"message": summary["error"], "run_id": summary["run_id"]})


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_run(workspace: str, params: Params, tracking: trk.Tracking, error: BaseException | None,
               summary_json: str | None, commit_dvc: bool) -> dict[str, Any]:
    """Close the run, whatever ended it: MLflow status, DVC commit, summary file, locks."""
    ws = Workspace(workspace, tracking.run_id)
    dvc_committed: list[str] = []
    if error is not None and not isinstance(error, SynthgovError):
        import traceback

        (ws.run_dir / "error.log").write_text("".join(traceback.format_exception(error)))
    try:
        receipt = ws.read_json("promote", "receipt.json") if ws.has("promote", "receipt.json") else {}
        if error is None and receipt.get("promoted") and commit_dvc and lineage.is_dvc_project(ws.root):
            dvc_committed = _commit_to_dvc(ws)
        summary = summarize(ws, params, tracking, error, dvc_committed)
        write_json_atomic(ws.run_dir / "summary.json", summary)
        if summary_json:
            write_json_atomic(ws.path(summary_json), summary)
        trk.log_json(tracking, tracking.parent_run_id, "summary.json", summary)
        trk.review_page(tracking, summary)
        client = tracking.client()
        if error is not None:
            client.set_tag(tracking.parent_run_id, "synthgov.error", summary["error"][:4000])
            if summary["error_stage"]:
                client.set_tag(tracking.parent_run_id, "synthgov.error_stage", summary["error_stage"])
        if not ws.has("train", "training.json"):  # nothing trained: the run spent no privacy budget
            trk.log_metrics(tracking, tracking.parent_run_id, {"epsilon": 0.0, "delta": 0.0})
        trk.finish_pipeline(tracking, "FINISHED" if summary["exit_code"] == 0 else
                            "KILLED" if summary["outcome"] == "interrupted" else "FAILED")
        _tell_prefect(summary, error)
    finally:
        outcome = outcome_of(error)[0]
        runs.end(ws.root, tracking.run_id, "finished" if error is None else outcome,
                 **({"error": error_message(error)} if error is not None else {}))
    return summary
