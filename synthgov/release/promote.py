"""The promote stage's store: public releases, review bundles and quarantine, written atomically.

A promoted candidate is split in two bundles:
- releases/<release_id>/: the public release. The synthetic table, the public dataset card
  (card.json, card.md: DP outputs and public facts only, synthgov.release.card) and a manifest of
  the files with their SHA-256. Nothing computed from the private rows without DP.
- review/<release_id>/: the review bundle, for the data owner and the reviewers they appoint. The
  audit, training, validation and attack reports, the gate verdicts with every score, the full
  lineage (source content hash, DVC md5s), and the trained model with the positions of the rows
  it trained on (so that a nightly run on an unchanged source can sample a fresh table from it
  without spending budget). Marked as holding statistics of the private data.
A candidate that fails its gates goes whole to quarantine/<run_id>/, which is a review bundle too.

Each bundle is copied into a hidden staging folder, flushed to disk, then renamed into place in one
step; the review bundle lands before the release, and only then does the CURRENT pointer move
(os.replace of a uniquely named temporary file). Earlier releases are never touched, so a failed or
interrupted run cannot change or half-write one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from synthgov.atomic import fsync_dir, sha256_file, write_json_atomic, write_text_atomic
from synthgov.errors import ReleaseError
from synthgov.locks import locked

REVIEW_NOTICE = """# Review bundle: statistics of the PRIVATE data

Everything in this folder was computed from the private source rows WITHOUT differential privacy:
audit findings, group shares and base rates, validation scores and intervals, attack results, gate
scores, row counts and content hashes. It is for the data owner and the reviewers they appoint,
under the same access rules as the source itself. Never publish it or attach it to the release:
the public release is releases/{release_id}/, which holds only the synthetic table and DP outputs.
"""


def _place(files: list[Path], extra: dict[str, Any], target: Path) -> Path:
    """Copy `files` and write `extra` (name -> JSON payload or text) into `target`, atomically."""
    if target.exists():
        raise ReleaseError(f"{target} already exists; release and run ids are never reused")
    staging = target.with_name(f".incoming-{target.name}-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for f in files:
        if f.is_dir():
            shutil.copytree(f, staging / f.name)
        else:
            shutil.copy2(f, staging / f.name)
    for name, payload in extra.items():
        if isinstance(payload, str):
            write_text_atomic(staging / name, payload)
        else:
            write_json_atomic(staging / name, payload)
    for f in staging.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    try:
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        raise ReleaseError(f"{target} already exists; release and run ids are never reused") from None
    fsync_dir(target.parent)
    return target


class ReleaseStore:
    """releases/<id>/ with a CURRENT pointer, review/<id>/ and quarantine/<run_id>/, in a workspace."""

    def __init__(self, workspace: Path):
        self.root = Path(workspace)
        self.releases = self.root / "releases"
        self.review = self.root / "review"
        self.quarantine_dir = self.root / "quarantine"

    def current(self) -> str | None:
        """The id of the current release, or None before the first promotion."""
        pointer = self.releases / "CURRENT"
        text = pointer.read_text().strip() if pointer.is_file() else ""
        return text or None

    def review_json(self, release_id: str | None, name: str) -> dict[str, Any] | None:
        """A JSON file of a release's review bundle (e.g. its audit.json), or None."""
        path = self.review / release_id / name if release_id else None
        return json.loads(path.read_text()) if path is not None and path.is_file() else None

    def current_review_json(self, name: str) -> dict[str, Any] | None:
        """A JSON file of the current release's review bundle, or None without a release."""
        return self.review_json(self.current(), name)

    def promote(self, public: list[Path], card: dict[str, Any], render: Callable[[dict[str, Any]], str],
                review: list[Path], review_manifest: dict[str, Any], release_id: str,
                review_card: Callable[[dict[str, Any]], dict[str, Any | str]] | None = None) -> Path:
        """Place the review bundle, then the public release, then move CURRENT to it, under the
        workspace's releases lock (so each card names the release it really succeeds).
        `review_card(public card)` gives extra files of the review bundle (name -> JSON or text)."""
        with locked(self.root, "releases", wait=600, what="the release store"):
            self.releases.mkdir(parents=True, exist_ok=True)
            self.review.mkdir(parents=True, exist_ok=True)
            card = {**card, "previous_release": self.current()}
            extra = review_card(card) if review_card else {}
            _place(review, {**extra, "manifest.json": {**review_manifest, "release_id": release_id},
                            "NOTICE.md": REVIEW_NOTICE.format(release_id=release_id)}, self.review / release_id)
            manifest = {"release_id": release_id, "card": "card.json",
                        "files": {f.name: sha256_file(f) for f in public}}
            target = _place(public, {"card.json": card, "card.md": render(card), "manifest.json": manifest},
                            self.releases / release_id)
            self.set_current(release_id)
        return target

    def set_current(self, release_id: str | None) -> None:
        """Point CURRENT at a release (or at none), atomically."""
        self.releases.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.releases / "CURRENT", (release_id or "") + "\n")
        fsync_dir(self.releases)

    def quarantine(self, files: list[Path], manifest: dict[str, Any], run_id: str) -> Path:
        """Keep a failed candidate for review; it is never a release."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        return _place(files, {"manifest.json": manifest,
                              "NOTICE.md": REVIEW_NOTICE.format(release_id="(none: not promoted)")},
                      self.quarantine_dir / run_id)
