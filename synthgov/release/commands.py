"""The governance commands of the CLI: releases, retire, lineage, approve.

    synthgov releases [--json]                 every release with its status, ε and expiry
    synthgov retire RELEASE_ID --reason TEXT [--by NAME]
                                               retire a release; CURRENT moves back, the alias follows
    synthgov lineage RELEASE_ID [--json]       source -> code -> params -> model -> ε -> gates -> approver -> release
    synthgov approve RUN_ID --reviewer NAME --note TEXT [--reject]
                                               decide on a run waiting for approval
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
from pathlib import Path
from typing import Any, Callable

from synthgov.errors import ReleaseError


def add_parsers(sub, common: Callable[[argparse.ArgumentParser], None]) -> None:
    ls = sub.add_parser("releases", help="list every release with its status (current, superseded, expired, "
                                         "retired, quarantined), epsilon and expiry")
    common(ls)
    ls.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///<workspace>/mlflow.db)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    retire = sub.add_parser("retire", help="retire a release (a withdrawn consent, a recalled source)")
    common(retire)
    retire.add_argument("release_id")
    retire.add_argument("--reason", required=True, help="why; kept in the release history, MLflow and the ledger")
    retire.add_argument("--by", default=None, help="who retires it (default: the current user)")
    retire.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else sqlite:///<workspace>/mlflow.db)")
    lin = sub.add_parser("lineage", help="the chain from source to release, and where each link is kept")
    common(lin)
    lin.add_argument("release_id")
    lin.add_argument("--json", action="store_true", help="print JSON")
    approve = sub.add_parser("approve", help="approve (or --reject) a run waiting for a reviewer")
    common(approve)
    approve.add_argument("run_id")
    approve.add_argument("--reviewer", required=True, help="who decides")
    approve.add_argument("--note", required=True, help="why (kept in MLflow and on the card)")
    approve.add_argument("--reject", action="store_true", help="reject: the candidate is quarantined")


def _uri(args: argparse.Namespace, root: Path) -> str:
    from synthgov.release.tracking import resolve_uri

    return resolve_uri(getattr(args, "tracking_uri", None), root)


def _ttl(args: argparse.Namespace, root: Path) -> float:
    from synthgov.params import load_params

    params_dir = Path(args.params_dir) if Path(args.params_dir).is_absolute() else root / args.params_dir
    try:
        return load_params(params_dir).release.ttl_days
    except Exception:  # noqa: BLE001  (listing must work without valid params: the default TTL)
        from synthgov.params import ReleaseParams

        return ReleaseParams().ttl_days


def releases(args: argparse.Namespace) -> int:
    from synthgov.release import registry
    from synthgov.release.lifecycle import Lifecycle

    root = Path(args.workspace).resolve()
    lifecycle = Lifecycle(root, _ttl(args, root))
    before, after = lifecycle.enforce()
    if (root / "mlflow.db").is_file() or args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI"):
        if before != after:
            registry.mark(_uri(args, root), before, lifecycle.status(before), found_by="synthgov releases")
        registry.sync_alias(_uri(args, root), after)
    rows = lifecycle.listing()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'release':<26} {'status':<12} {'epsilon':>8}  {'expires':<26} note")
    for r in rows:
        eps = f"{r['epsilon']:.4g}" if isinstance(r["epsilon"], (int, float)) else "-"
        note = f"retired: {r['retired']['reason']}" if "retired" in r else ""
        print(f"{r['release_id']:<26} {r['status']:<12} {eps:>8}  {r['expires_at'] or '-':<26} {note}")
    if not rows:
        print("(no releases yet)")
    return 0


def retire(args: argparse.Namespace) -> int:
    from synthgov.privacy.ledger import PrivacyLedger
    from synthgov.release import registry
    from synthgov.release.lifecycle import Lifecycle
    from synthgov.release.promote import ReleaseStore

    root = Path(args.workspace).resolve()
    by = args.by or getpass.getuser()
    before, after = Lifecycle(root, _ttl(args, root)).retire(args.release_id, args.reason, by)
    uri = _uri(args, root)
    registry.mark(uri, args.release_id, "retired", retired_reason=args.reason, retired_by=by)
    registry.sync_alias(uri, after, report=False)
    manifest = ReleaseStore(root).review_json(args.release_id, "manifest.json") or {}
    source = (manifest.get("lineage") or {}).get("source_hash", "unknown")
    PrivacyLedger(root).record(source, args.release_id, "retirement", reason=args.reason, by=by)
    moved = f"; CURRENT moved from {before} to {after or 'none'}" if before != after else ""
    print(f"retired release {args.release_id} ({args.reason}){moved}")
    if before == args.release_id and after is None:
        print("WARNING: no valid release remains: nothing is CURRENT until a run promotes one")
    return 0


def lineage_chain(root: Path, release_id: str) -> list[dict[str, Any]]:
    from synthgov.release.lifecycle import Lifecycle
    from synthgov.release.promote import ReleaseStore

    store = ReleaseStore(root)
    manifest = store.review_json(release_id, "manifest.json")
    if manifest is None:
        raise ReleaseError(f"{store.review / release_id}: no review bundle for release {release_id} "
                           "(see `synthgov releases`)")
    lin = manifest.get("lineage") or {}
    training = store.review_json(release_id, "training.json") or {}
    gates = store.review_json(release_id, "gates.json") or {}
    approval = manifest.get("approval") or {}
    review, run_dir = store.review / release_id, root / "runs" / manifest["run_id"]
    params = manifest.get("params", {}).get("data", {})
    return [
        {"link": "source", "value": f"{params.get('source')} sha256 {lin.get('source_hash')}",
         "where": f"DVC md5 {lin.get('dvc_md5_source_snapshot')} (artifacts/ingest/train.parquet in dvc.lock); "
                  f"{run_dir / 'ingest'}"},
        {"link": "code", "value": f"git {lin.get('git_commit')}", "where": "MLflow tag synthgov.git_commit"},
        {"link": "params", "value": f"sha256 {lin.get('params_hash')}", "where": f"{review / 'manifest.json'} (params)"},
        {"link": "model", "value": f"{training.get('synthesizer')}, trained by run {manifest['run_id']}"
                                   + (f" (reused from {training['reused_from']})" if training.get("reused_from") else ""),
         "where": f"{review / 'model'}"},
        {"link": "privacy", "value": f"epsilon {training.get('epsilon')}, delta {training.get('delta')}, "
                                     f"{training.get('neighbouring')} neighbours",
         "where": "ledger/privacy_ledger.json; MLflow metric epsilon"},
        {"link": "gates", "value": f"{sum(r['passed'] for r in gates.get('results', []))}/"
                                   f"{len(gates.get('results', []))} passed, blocking failures: "
                                   f"{', '.join(gates.get('failed', [])) or 'none'}",
         "where": f"{review / 'gates.json'}; MLflow metrics gate.*"},
        {"link": "approval", "value": (f"{approval.get('decision')} by {approval.get('reviewer')}"
                                       if approval.get("required") else "not required"),
         "where": "MLflow tags synthgov.approval*; the card"},
        {"link": "release", "value": f"{release_id}, expires {Lifecycle(root).expiry(release_id)}, "
                                     f"status {Lifecycle(root).status(release_id)}",
         "where": f"{store.releases / release_id}; MLflow model synthgov-release, tag release_id; "
                  f"DVC md5 {lin.get('dvc_md5_synthetic')}"},
    ]


def lineage(args: argparse.Namespace) -> int:
    chain = lineage_chain(Path(args.workspace).resolve(), args.release_id)
    if args.json:
        print(json.dumps(chain, indent=2))
        return 0
    for i, link in enumerate(chain):
        print(f"{'  ' * min(i, 1)}{'-> ' if i else ''}{link['link']}: {link['value']}")
        print(f"{'  ' * min(i, 1)}   ({link['where']})")
    return 0


def approve(args: argparse.Namespace) -> int:
    from synthgov.release.approval import answer

    decision = answer(Path(args.workspace), args.run_id, reviewer=args.reviewer, note=args.note, reject=args.reject)
    print(f"run {args.run_id}: {decision['decision']} by {decision['reviewer']}; the run continues")
    return 0


COMMANDS = {"releases": releases, "retire": retire, "lineage": lineage, "approve": approve}
