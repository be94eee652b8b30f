"""Thin Prefect tasks of the governance stages: gate (one verdict) and promote (two bundles).

A promoted candidate becomes a public release (the synthetic table and the public dataset card)
and a review bundle for the data owner (every report and score, the full lineage); a failed one
goes to quarantine whole. See synthgov.release.promote.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from synthgov import __version__
from synthgov.atomic import write_json_atomic
from synthgov.checks import CheckResult
from synthgov.errors import GateFailedError
from synthgov.params import Params
from synthgov.release import tracking as trk
from synthgov.release.promote import ReleaseStore
from synthgov.workspace import Workspace, begin_stage

log = logging.getLogger("synthgov")

# what a run produced: the review bundle (or the quarantine) holds all of it
REVIEW_FILES = [("ingest", "snapshot.json"), ("audit", "audit.json"), ("audit", "audit.html"),
                ("train", "training.json"), ("generate", "generate.json"), ("validate", "validation.json"),
                ("validate", "validation.html"), ("attack", "attack.json"), ("attack", "attack.html"),
                ("gate", "gates.json")]


def _ws(workspace: str, tracking: trk.Tracking | None) -> Workspace:
    return Workspace(workspace, tracking.run_id if tracking else None)


def _checks(payload: dict[str, Any]) -> list[CheckResult]:
    return [CheckResult.model_validate(c) for c in payload.get("checks", [])]


@task(name="gate", cache_policy=NO_CACHE)
def gate_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """One verdict per gate, from every stage's check results."""
    from synthgov.release.gate import gate

    ws = _ws(workspace, tracking)
    begin_stage(ws, "gate")
    results: list[CheckResult] = []
    for stage, name in [("audit", "audit.json"), ("train", "training.json"),
                        ("validate", "validation.json"), ("attack", "attack.json")]:
        if ws.has(stage, name):  # `synthgov evaluate` has no audit and no training
            results += _checks(ws.read_json(stage, name))
    verdict = gate(results)
    write_json_atomic(ws.stage_dir("gate") / "gates.json", verdict)
    with trk.stage_run(tracking, "gate") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, {"promotable": float(verdict["promotable"])})
            trk.log_json(tracking, run_id, "gates.json", verdict)
    for r in results:
        log.info("gate: %s", r.describe())
    return verdict


@task(name="promote", cache_policy=NO_CACHE)
def promote_stage(workspace: str, params: Params, run_id: str, lineage: dict[str, str],
                  tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Promote the candidate atomically if every blocking gate passed; else quarantine it and fail."""
    from synthgov.privacy.randomness import source_version_id
    from synthgov.release.card import card_markdown, public_card

    ws = _ws(workspace, tracking)
    begin_stage(ws, "promote")
    verdict = ws.read_json("gate", "gates.json")
    results = [CheckResult.model_validate(r) for r in verdict["results"]]
    review = [ws.file(stage, name) for stage, name in REVIEW_FILES if ws.has(stage, name)]
    synthetic = ws.file("generate", "synthetic.parquet")
    manifest = {"run_id": run_id, "lineage": lineage, "params": params.dump(), "failed_gates": verdict["failed"],
                "warned_gates": [r.name for r in results if not r.passed and r.severity == "warn"]}
    store = ReleaseStore(ws.root)
    with trk.stage_run(tracking, "promote") as stage_run_id:
        if not verdict["promotable"]:
            where = store.quarantine([synthetic, *review], manifest, run_id)
            receipt = {"promoted": False, "path": str(where), "failed": verdict["failed"]}
            write_json_atomic(ws.stage_dir("promote") / "receipt.json", receipt)
            if stage_run_id:
                trk.log_metrics(tracking, tracking.parent_run_id, {"promoted": 0.0})
                tracking.client().set_tag(tracking.parent_run_id, "synthgov.quarantine", str(where))
            raise GateFailedError([r for r in results if r.blocking_failure], results, quarantined=str(where))
        release_id = run_id
        card = public_card(
            release_id=release_id, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            previous_release=None, source_version=source_version_id(lineage["source_hash"], ws.root),
            training=ws.read_json("train", "training.json"),
            blocking_gates=[r.name for r in results if r.severity == "block"],
            code={"version": __version__, "commit": lineage.get("git_commit", "unknown"),
                  "params_hash": lineage.get("params_hash", "")})
        where = store.promote([synthetic], card, card_markdown, review, manifest, release_id)
        receipt = {"promoted": True, "path": str(where), "release_id": release_id,
                   "review": str(store.review / release_id)}
        if stage_run_id:
            client = tracking.client()
            client.log_artifacts(tracking.parent_run_id, str(where), "release")
            receipt["model_version"] = trk.register_release(tracking, release_id, "release")
            trk.log_metrics(tracking, tracking.parent_run_id, {"promoted": 1.0})
            client.set_tag(tracking.parent_run_id, "synthgov.release_id", release_id)
        write_json_atomic(ws.stage_dir("promote") / "receipt.json", receipt)
    log.info("promote: release %s at %s (review bundle %s)", release_id, where, receipt["review"])
    return receipt
