"""The life of one pipeline run: its locks, its status file, and the recovery of runs that died.

A run holds two cross-process locks (synthgov.locks) for as long as its process lives:
- run-<run_id>: its liveness marker. A run whose status says `running` while nobody holds this
  lock was killed; the next run to start finds it and closes its records: status `killed`, MLflow
  runs KILLED with a tag saying so, open ledger reservations settled as spent;
- source-<key>: one run per source at a time (params/operations.yaml: a second run waits up to
  busy_wait_seconds, or is refused at once).
runs/<run_id>/status.json records the state, the stage in progress and, at the end, the outcome.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from synthgov import locks
from synthgov.atomic import write_json_atomic
from synthgov.errors import BusyError, WorkspaceError

log = logging.getLogger("synthgov")
STATUS = "status.json"
_HELD: dict[tuple[str, str], list[int | None]] = {}  # (root, run_id) -> open lock descriptors


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _status_path(root: Path, run_id: str) -> Path:
    return Path(root) / "runs" / run_id / STATUS


def read_status(root: Path, run_id: str) -> dict[str, Any]:
    path = _status_path(root, run_id)
    return json.loads(path.read_text()) if path.is_file() else {}


def _update(root: Path, run_id: str, **fields: Any) -> None:
    status = read_status(root, run_id)
    status.update(fields)
    write_json_atomic(_status_path(root, run_id), status)


def source_key(source: str) -> str:
    """The lock name of a source: a digest of its resolved path."""
    return "source-" + hashlib.sha256(str(Path(source).resolve()).encode()).hexdigest()[:16]


def resumable(root: Path, run_id: str) -> None:
    """Refuse to resume a run that is alive, that does not exist, or that already succeeded."""
    status = read_status(root, run_id)
    if not status:
        raise WorkspaceError(f"{Path(root) / 'runs' / run_id}: no such run to resume (see runs/ for run ids)")
    if alive(root, run_id):
        raise BusyError(f"run {run_id} is still running; it cannot be resumed while it runs")
    if status.get("state") == "finished":
        raise WorkspaceError(f"run {run_id} finished; only a run that failed or was killed can be resumed")


def begin(root: Path, run_id: str, source: str | None, *, on_busy: str, wait_seconds: float,
          resumed: bool = False) -> None:
    """Mark the run alive and take its source's lock (waiting or refusing as params say)."""
    root = Path(root)
    fds = [locks.acquire(locks.lock_path(root, f"run-{run_id}"), wait=0)]
    if fds[0] is None:
        raise BusyError(f"run {run_id} is already running")
    if source is not None:
        wait = 0 if on_busy == "refuse" else wait_seconds
        fd = locks.acquire(locks.lock_path(root, source_key(source)), wait=wait)
        if fd is None:
            locks.release(fds[0])
            raise BusyError(
                f"another run of {source} is in progress in this workspace; "
                + ("operations.on_busy is 'refuse' (params/operations.yaml): start this run when it ends"
                   if on_busy == "refuse" else
                   f"waited {wait_seconds:g} s (operations.busy_wait_seconds in params/operations.yaml)"))
        fds.append(fd)
    _HELD[(str(root), run_id)] = fds
    before = read_status(root, run_id) if resumed else {}
    write_json_atomic(_status_path(root, run_id), {"run_id": run_id, "state": "running", "pid": os.getpid(),
                                                   "started_at": _now(), "stage": None,
                                                   **({"resumed_after": before.get("state"),
                                                       "first_started_at": before.get("started_at")} if resumed else {})})


def stage(root: Path, run_id: str, name: str) -> None:
    """Record the stage in progress."""
    if read_status(root, run_id):
        _update(root, run_id, stage=name)


def end(root: Path, run_id: str, state: str, **fields: Any) -> None:
    """Record how the run ended and release its locks."""
    if read_status(root, run_id):
        _update(root, run_id, state=state, ended_at=_now(), **fields)
    for fd in _HELD.pop((str(Path(root)), run_id), []):
        locks.release(fd)


def alive(root: Path, run_id: str) -> bool:
    return locks.is_held(locks.lock_path(root, f"run-{run_id}"))


def recover(root: Path, tracking_uri: str | None, by: str) -> list[str]:
    """Close the records of every run that died while running; returns their ids."""
    from synthgov.privacy.ledger import PrivacyLedger

    root, dead = Path(root), []
    for status_file in sorted((root / "runs").glob(f"*/{STATUS}")):
        status = json.loads(status_file.read_text())
        run_id = status.get("run_id", status_file.parent.name)
        if status.get("state") == "running" and not alive(root, run_id):
            _update(root, run_id, state="killed", ended_at=_now(),
                    error=f"the process ended during stage {status.get('stage')} without closing the run; "
                          f"found by run {by}")
            dead.append(run_id)
    ledger = PrivacyLedger(root)
    for entry in ledger.open_reservations():
        if not alive(root, entry["run_id"]):
            ledger.settle(entry["run_id"])
    if tracking_uri:
        from synthgov.release.tracking import close_dead_runs

        # a store shared with other workspaces holds their runs too: only this workspace's are judged
        close_dead_runs(tracking_uri, lambda rid: alive(root, rid) or not (root / "runs" / rid).is_dir(), by)
    for run_id in dead:
        log.warning("run %s had died during a stage; its records are closed as killed", run_id)
    return dead
