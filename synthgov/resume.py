"""Resuming a run from its last completed stage.

A stage that completes writes runs/<run_id>/done/<stage>.json: the fingerprint of its inputs and
the sha256 of every file it wrote. The inputs of ingest are the params and the source and holdout
files; the inputs of any later stage are the params and the files every earlier stage wrote. On
`synthgov run --resume RUN_ID` a stage is kept when its record exists, its inputs' fingerprint is
unchanged and its files are intact; the first stage not kept, and so every stage after it (their
inputs changed), runs again. A kept training spends nothing: its spend is in the ledger already,
under the same run id. The gate and promotion always run again: they are cheap, and promotion is
what makes a release.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from synthgov.atomic import sha256_file, write_json_atomic
from synthgov.params import Params
from synthgov.workspace import Workspace

RESUMABLE = ("ingest", "audit", "train", "generate", "validate", "attack")


def params_digest(params: Params) -> str:
    return hashlib.sha256(json.dumps(params.dump(), sort_keys=True).encode()).hexdigest()


def _record_path(ws: Workspace, stage: str) -> Path:
    return ws.run_dir / "done" / f"{stage}.json"


def _record(ws: Workspace, stage: str) -> dict[str, Any] | None:
    path = _record_path(ws, stage)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def outputs(ws: Workspace, stage: str) -> dict[str, str]:
    """sha256 of every file under the run's folder of `stage`, by relative path."""
    root = ws.run_dir / stage
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def fingerprint(ws: Workspace, params: Params, stage: str) -> str | None:
    """The fingerprint of what `stage` reads; None when an earlier stage has no record."""
    stage_params = {k: v for k, v in params.dump().items() if k not in ("operations", "release")}  # not what stages compute
    parts: list[Any] = [hashlib.sha256(json.dumps(stage_params, sort_keys=True).encode()).hexdigest()]
    if stage == "ingest":
        for declared in (params.data.source, params.data.holdout):
            path = ws.path(declared) if declared else None
            parts.append(sha256_file(path) if path is not None and path.is_file() else None)
    for earlier in RESUMABLE[:RESUMABLE.index(stage)]:
        record = _record(ws, earlier)
        if record is None:
            return None
        parts.append(record["outputs"])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def mark_done(ws: Workspace, params: Params, stage: str) -> None:
    """Record that `stage` completed: what it read and what it wrote."""
    write_json_atomic(_record_path(ws, stage), {"stage": stage, "inputs": fingerprint(ws, params, stage),
                                                "outputs": outputs(ws, stage)})


def kept(ws: Workspace, params: Params, stage: str) -> bool:
    """Whether the completed `stage` of this run can be kept: same inputs, files intact."""
    record = _record(ws, stage)
    if record is None or record.get("inputs") is None:
        return False
    if record["inputs"] != fingerprint(ws, params, stage):
        return False
    return record["outputs"] == outputs(ws, stage)
