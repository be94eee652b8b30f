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
from synthgov.errors import GateFailedError, NotApprovedError
from synthgov.params import Params
from synthgov.release import tracking as trk
from synthgov.release.promote import ReleaseStore
from synthgov.tasks.stages import training_fingerprint
from synthgov.workspace import Workspace, begin_stage

log = logging.getLogger("synthgov")

# what a run produced: the review bundle (or the quarantine) holds all of it
REVIEW_FILES = [("ingest", "snapshot.json"), ("audit", "audit.json"), ("audit", "audit.html"),
                ("train", "training.json"), ("train", "model"), ("train", "trained_rows.parquet"),
                ("generate", "generate.json"), ("validate", "validation.json"),
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
            trk.log_severities(tracking, tracking.parent_run_id, results)
    for r in results:
        log.info("gate: %s", r.describe())
    return verdict


def _quarantine(ws: Workspace, store: ReleaseStore, files: list, manifest: dict[str, Any], run_id: str,
                tracking: trk.Tracking | None, stage_run_id: str | None, why: list[str]) -> str:
    where = store.quarantine(files, manifest, run_id)
    write_json_atomic(ws.stage_dir("promote") / "receipt.json", {"promoted": False, "path": str(where), "failed": why})
    if stage_run_id:
        trk.log_metrics(tracking, tracking.parent_run_id, {"promoted": 0.0})
        tracking.client().set_tag(tracking.parent_run_id, "synthgov.quarantine", str(where))
    return str(where)


@task(name="promote", cache_policy=NO_CACHE)
def promote_stage(workspace: str, params: Params, run_id: str, lineage: dict[str, str],
                  tracking: trk.Tracking | None = None, approval: dict[str, Any] | None = None) -> dict[str, Any]:
    """Promote the candidate atomically if every blocking gate passed (and, where params require
    it, a reviewer approved); else quarantine it and fail. The release carries the public card, the
    review bundle the reviewer's card; MLflow gets the reviewer's card and a tagged model version."""
    from synthgov.privacy.randomness import source_version_id
    from synthgov.release import registry
    from synthgov.release.approval import not_required
    from synthgov.release.card import card_markdown, public_card
    from synthgov.release.lifecycle import expires_at
    from synthgov.release.review_card import review_card, review_markdown

    ws = _ws(workspace, tracking)
    begin_stage(ws, "promote")
    approval = approval or not_required()
    write_json_atomic(ws.stage_dir("promote") / "approval.json", approval)
    verdict = ws.read_json("gate", "gates.json")
    results = [CheckResult.model_validate(r) for r in verdict["results"]]
    review = [ws.file(stage, name) for stage, name in REVIEW_FILES if ws.file(stage, name).exists()]
    synthetic = ws.file("generate", "synthetic.parquet")
    manifest = {"run_id": run_id, "lineage": lineage, "params": params.dump(), "failed_gates": verdict["failed"],
                "training_fingerprint": training_fingerprint(params), "approval": approval,
                "warned_gates": [r.name for r in results if not r.passed and r.severity == "warn"]}
    store = ReleaseStore(ws.root)
    with trk.stage_run(tracking, "promote") as stage_run_id:
        if not verdict["promotable"]:
            where = _quarantine(ws, store, [synthetic, *review], manifest, run_id, tracking, stage_run_id,
                                verdict["failed"])
            raise GateFailedError([r for r in results if r.blocking_failure], results, quarantined=where)
        if approval["required"] and approval["decision"] != "approved":
            where = _quarantine(ws, store, [synthetic, *review], manifest, run_id, tracking, stage_run_id,
                                [f"approval {approval['decision']}"])
            raise NotApprovedError(approval, where)
        release_id, created = run_id, datetime.now(timezone.utc).isoformat(timespec="seconds")
        card = public_card(
            release_id=release_id, created_at=created, previous_release=None,
            source_version=source_version_id(lineage["source_hash"], ws.root),
            training=ws.read_json("train", "training.json"),
            blocking_gates=[r.name for r in results if r.severity == "block"],
            code={"version": __version__, "commit": lineage.get("git_commit", "unknown"),
                  "params_hash": lineage.get("params_hash", "")},
            expires_at=expires_at(created, params.release.ttl_days), approval=approval,
            uses={"intended": params.release.intended_uses, "prohibited": params.release.prohibited_uses})
        reviewer_card: dict[str, Any] = {}

        def _review_files(final: dict[str, Any]) -> dict[str, Any]:
            reviewer_card.update(review_card(
                final, snapshot=ws.read_json("ingest", "snapshot.json"), lineage=lineage,
                gates=verdict["results"], approval=approval,
                audit=ws.read_json("audit", "audit.json") if ws.has("audit", "audit.json") else None))
            return {"card.json": reviewer_card, "card.md": review_markdown(reviewer_card)}

        where = store.promote([synthetic], card, card_markdown, review, manifest, release_id, _review_files)
        receipt = {"promoted": True, "path": str(where), "release_id": release_id,
                   "review": str(store.review / release_id), "expires_at": card["expires_at"]}
        if stage_run_id:
            client = tracking.client()
            client.log_artifacts(tracking.parent_run_id, str(where), "release")
            for name in ("card.json", "card.md"):
                client.log_artifact(tracking.parent_run_id, str(store.review / release_id / name), "review_card")
            p = reviewer_card["privacy"]
            gates_summary = (f"{sum(r.passed for r in results)}/{len(results)} passed; failed blocking: none; "
                             f"failed warn: {', '.join(manifest['warned_gates']) or 'none'}")
            receipt["model_version"] = registry.register(
                tracking.uri, tracking.parent_run_id, release_id, "release",
                tags={"synthgov.epsilon": f"{p['epsilon']:.6g}", "synthgov.delta": f"{p['delta']:.3g}",
                      "synthgov.neighbouring": p["neighbouring"], "synthgov.source_hash": lineage["source_hash"],
                      "synthgov.git_commit": lineage.get("git_commit", "unknown"),
                      "synthgov.release_path": str(where), "synthgov.gates": gates_summary,
                      "synthgov.expires_at": card["expires_at"],
                      "synthgov.approval": str(approval["decision"] or "not required"),
                      "synthgov.approver": str(approval["reviewer"] or "none")},
                description=review_markdown(reviewer_card))
            trk.log_metrics(tracking, tracking.parent_run_id, {"promoted": 1.0})
            client.set_tag(tracking.parent_run_id, "synthgov.release_id", release_id)
        write_json_atomic(ws.stage_dir("promote") / "receipt.json", receipt)
    log.info("promote: release %s at %s (review bundle %s), expires %s", release_id, where, receipt["review"],
             card["expires_at"])
    return receipt
