"""New source detection: the workspace's incoming folder, polled.

A file dropped into <workspace>/incoming/ (params/operations.yaml: incoming) is considered only
once it is completely written: its size and modification time have not changed for
settle_seconds, and its name does not mark a file in transit (a leading dot, .tmp, .part,
.crdownload). Writers that can should write elsewhere and rename into place. The file is then
moved to <workspace>/data/sources/<sha256><suffix> (operations.sources), recorded in the
folder's index.json, and announced by the Prefect event `synthgov.source.arrived`, whose resource
id `synthgov.source.<first 16 hex of the hash>` the on-new-source trigger matches and whose
payload carries `source_path` (the content-addressed path) and `sha256`. A file whose content
is already under sources/ triggers nothing: it is removed from incoming/, and the log says so.
No value of the file is read but its bytes for the hash.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from synthgov.atomic import sha256_file, write_json_atomic

log = logging.getLogger("synthgov")
IN_TRANSIT = (".tmp", ".part", ".crdownload", ".partial")
EVENT = "synthgov.source.arrived"


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    return "".join(suffixes) if suffixes else ""


def _emit(event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
    """Send one event to the server that PREFECT_API_URL names now, and return once it is sent.

    Not prefect.events.emit_event: it hands events to a process-wide worker cached by client type,
    not by server, so a process that has talked to another Prefect server before keeps sending
    there, and it sends in the background (an event may still be queued when serve stops)."""
    from prefect.events import Event
    from prefect.events.clients import get_events_client
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def send() -> None:
        async with get_events_client() as client:
            await client.emit(Event(event=event, resource=resource, payload=payload))

    run_coro_as_sync(send())


class Watcher:
    """Polls one incoming folder; `poll()` handles the files that have settled."""

    def __init__(self, workspace: Path, incoming: str = "incoming", sources: str = "data/sources",
                 settle_seconds: float = 2.0, emit: Callable[..., None] = _emit):
        self.workspace = Path(workspace).resolve()
        self.incoming = self.workspace / incoming
        self.sources = self.workspace / sources
        self.settle = settle_seconds
        self.emit = emit
        self._seen: dict[Path, tuple[int, int, float]] = {}  # path -> (size, mtime, stable since)
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.sources.mkdir(parents=True, exist_ok=True)

    def _index(self) -> dict[str, Any]:
        path = self.sources / "index.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def _ready(self, path: Path, now: float) -> bool:
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns)
        before = self._seen.get(path)
        if before is None or before[:2] != key:
            self._seen[path] = (*key, now)
            return self.settle == 0 and st.st_size > 0
        return st.st_size > 0 and now - before[2] >= self.settle

    def pending(self) -> list[Path]:
        """Files in incoming/ that may become sources (not hidden, not in transit)."""
        return sorted(p for p in self.incoming.iterdir() if p.is_file() and not p.name.startswith(".")
                      and not p.name.lower().endswith(IN_TRANSIT))

    def poll(self, now: float | None = None) -> list[dict[str, Any]]:
        """Handle every settled file once; returns the new sources announced."""
        now = time.monotonic() if now is None else now
        announced = []
        for path in self.pending():
            if not self._ready(path, now):
                continue
            self._seen.pop(path, None)
            digest = sha256_file(path)
            index = self._index()
            if digest in index:
                log.info("watcher: %s has the content of an earlier source (%s): nothing to do", path.name,
                         index[digest]["path"])
                path.unlink()
                continue
            target = self.sources / f"{digest}{_suffix(path)}"
            try:
                os.replace(path, target)
            except OSError:  # another file system: copy, then remove
                shutil.copy2(path, target)
                path.unlink()
            entry = {"path": str(target), "original_name": path.name,
                     "arrived_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            write_json_atomic(self.sources / "index.json", {**index, digest: entry})
            self.emit(EVENT, {"prefect.resource.id": f"synthgov.source.{digest[:16]}",
                              "prefect.resource.name": path.name, "synthgov.workspace": str(self.workspace)},
                      {"source_path": str(target), "sha256": digest, "original_name": path.name})
            log.info("watcher: new source %s -> %s; event %s emitted", path.name, target.name, EVENT)
            announced.append({"sha256": digest, **entry})
        return announced
