"""Run-level tasks: open a pipeline run, record its lineage, and close it with a summary.

Opening clears artifacts/ so that nothing from an earlier run can be mistaken for this one's.
Closing sets the MLflow parent run's status, commits the outputs to DVC when the workspace is a
DVC project run with its own params, and writes the run summary (--summary-json).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import uuid
from datetime import datetime, timezone
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from synthgov import __version__
from synthgov.release import lineage
from synthgov.release import tracking as trk
from synthgov.params import Params
from synthgov.atomic import write_json_atomic
from synthgov.tasks.stages import STAGES, Workspace

log = logging.getLogger("synthgov")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _cumulative(ws: Workspace, snapshot: dict[str, Any]) -> tuple[float, float]:
    from synthgov.privacy.ledger import PrivacyLedger

    if "source_hash" not in snapshot:
        return 0.0, 0.0
    return PrivacyLedger(ws.root).spent(snapshot["source_hash"])


@task(name="start-run", cache_policy=NO_CACHE)
def start_run(workspace: str, params: Params, tracking_uri: str | None) -> trk.Tracking:
    """Clear the candidate area and open the MLflow parent run with params and code lineage."""
    ws = Workspace(workspace)
    shutil.rmtree(ws.root / "artifacts", ignore_errors=True)
    run_id = new_run_id()
    dumped = params.dump()
    params_hash = hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()
    tags = {"synthgov.git_commit": lineage.git_commit(), "synthgov.version": __version__,
            "synthgov.params_hash": params_hash, "synthgov.synthesizer": params.train.synthesizer,
            "synthgov.seed": str(params.train.seed), "synthgov.workspace": str(ws.root)}
    tracking = trk.start_pipeline(tracking_uri or trk.default_uri(ws.root), ws.root, run_id, dumped, tags)
    log.info("run %s: MLflow parent run %s", run_id, tracking.parent_run_id)
    return tracking


@task(name="record-lineage", cache_policy=NO_CACHE)
def record_lineage(workspace: str, tracking: trk.Tracking) -> dict[str, str]:
    """DVC md5 of the source snapshot and the synthetic output, as parent-run tags."""
    ws = Workspace(workspace)
    snap = ws.read_json("ingest", "snapshot.json")
    facts = {
        "source_hash": snap["source_hash"],
        "dvc_md5_source_snapshot": lineage.dvc_md5(ws.stage_dir("ingest") / "train.parquet"),
        "dvc_md5_holdout_snapshot": lineage.dvc_md5(ws.stage_dir("ingest") / "holdout.parquet"),
        "dvc_md5_synthetic": lineage.dvc_md5(ws.stage_dir("generate") / "synthetic.parquet"),
    }
    client = tracking.client()
    for key, value in facts.items():
        client.set_tag(tracking.parent_run_id, f"synthgov.{key}", value)
    return {**facts, "git_commit": client.get_run(tracking.parent_run_id).data.tags["synthgov.git_commit"]}


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_run(workspace: str, params: Params, tracking: trk.Tracking, error: str | None,
               summary_json: str | None, commit_dvc: bool) -> dict[str, Any]:
    """Close the parent run, commit a promoted run's outputs to DVC, and write the summary."""
    ws = Workspace(workspace)
    art = ws.root / "artifacts"

    def read(stage: str, name: str) -> dict[str, Any]:
        p = art / stage / name
        return json.loads(p.read_text()) if p.is_file() else {}

    snap, training, validation = read("ingest", "snapshot.json"), read("train", "training.json"), read("validate", "validation.json")
    gates, receipt = read("gate", "gates.json"), read("promote", "receipt.json")
    results = gates.get("results") or read("audit", "audit.json").get("checks", [])
    promoted = bool(receipt.get("promoted")) and error is None
    passed = bool(gates) and gates.get("promotable", False) and error is None
    cumulative = _cumulative(ws, snap)
    dvc_committed: list[str] = []
    if promoted and commit_dvc and lineage.is_dvc_project(ws.root):
        dvc_committed = lineage.dvc_commit(ws.root, STAGES)
    summary = {
        "run_id": tracking.run_id,
        "mlflow_run_id": tracking.parent_run_id,
        "promoted": promoted,
        "gates_passed": passed,
        "gates": [{"name": r["name"], "passed": r["passed"], "score": r["score"],
                   "threshold": r["threshold"], "severity": r["severity"]} for r in results],
        "failed_gates": [r["name"] for r in results if not r["passed"] and r["severity"] == "block"],
        "epsilon": training.get("epsilon", 0.0),
        "delta": training.get("delta", 0.0),
        "epsilon_cumulative": cumulative[0],
        "delta_cumulative": cumulative[1],
        "budget_epsilon": params.privacy.budget_epsilon,
        "tstr_auc": validation.get("tstr_auc"),
        "trtr_auc": validation.get("trtr_auc"),
        "synthetic_path": str(ws.root / receipt["path"] / "synthetic.parquet") if receipt else None,
        "release_id": receipt.get("release_id"),
        "source_hash": snap.get("source_hash"),
        "dvc_committed": dvc_committed,
        "error": error,
    }
    trk.log_json(tracking, tracking.parent_run_id, "summary.json", summary)
    if not training:  # nothing trained: the run spent no privacy budget
        trk.log_metrics(tracking, tracking.parent_run_id, {"epsilon": 0.0, "delta": 0.0})
    trk.finish_pipeline(tracking, "FINISHED" if (promoted or (passed and not receipt)) else "FAILED")
    if summary_json:
        write_json_atomic(ws.path(summary_json), summary)
    return summary
