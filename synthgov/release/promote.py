"""The promote stage: the release store, written atomically.

A candidate is copied into a hidden staging folder, flushed to disk, then renamed into place in
one step, and only then does the CURRENT pointer move (os.replace, also atomic). Earlier releases
are never touched, so a failed or interrupted run cannot change or half-write a release. A
candidate that fails its gates goes to quarantine/<run_id>/ for review instead.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from synthgov.atomic import fsync_dir, write_json_atomic
from synthgov.errors import ReleaseError


def _place(files: list[Path], manifest: dict[str, Any], target: Path) -> Path:
    if target.exists():
        raise ReleaseError(f"{target} already exists; release and run ids are never reused")
    staging = target.with_name(f".incoming-{target.name}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for f in files:
        shutil.copy2(f, staging / f.name)
    write_json_atomic(staging / "manifest.json", manifest)
    for f in staging.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    os.rename(staging, target)
    fsync_dir(target.parent)
    return target


class ReleaseStore:
    """releases/<release_id>/ with a CURRENT pointer, and quarantine/<run_id>/, under a workspace."""

    def __init__(self, workspace: Path):
        self.releases = Path(workspace) / "releases"
        self.quarantine_dir = Path(workspace) / "quarantine"

    def current(self) -> str | None:
        """The id of the current release, or None before the first promotion."""
        pointer = self.releases / "CURRENT"
        return pointer.read_text().strip() if pointer.is_file() else None

    def current_json(self, name: str) -> dict[str, Any] | None:
        """A JSON file of the current release (e.g. its audit.json), or None without a release."""
        current = self.current()
        path = self.releases / current / name if current else None
        return json.loads(path.read_text()) if path is not None and path.is_file() else None

    def promote(self, files: list[Path], manifest: dict[str, Any], release_id: str) -> Path:
        """Place a new release and move CURRENT to it, atomically."""
        self.releases.mkdir(parents=True, exist_ok=True)
        target = _place(files, {**manifest, "release_id": release_id,
                                "previous_release": self.current()}, self.releases / release_id)
        tmp = self.releases / ".CURRENT.tmp"
        tmp.write_text(release_id + "\n")
        os.replace(tmp, self.releases / "CURRENT")
        fsync_dir(self.releases)
        return target

    def quarantine(self, files: list[Path], manifest: dict[str, Any], run_id: str) -> Path:
        """Keep a failed candidate for review; it is never a release."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        return _place(files, manifest, self.quarantine_dir / run_id)
