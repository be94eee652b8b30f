"""A workspace, and the folder of one run in it.

A workspace is a folder holding params/, the data contract, and what runs produce:
- runs/<run_id>/<stage>/: the working folder of one pipeline run, written by that run only and
  never deleted by another (runs/LATEST names the newest run);
- artifacts/<stage>/: the fixed folder of `dvc repro` (which runs one stage at a time) and the copy
  of the last promoted run's outputs that dvc.lock records;
- releases/, review/, quarantine/ (synthgov.release.promote), ledger/ (synthgov.privacy.ledger),
  mlflow.db and mlartifacts/ (MLflow), .synthgov/ (the workspace secret and the locks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgov.atomic import write_text_atomic

STAGES = ["ingest", "audit", "train", "generate", "validate", "attack", "gate", "promote"]


class Workspace:
    """Paths of a workspace and of one run in it: runs/<run_id>/, or artifacts/ without a run id."""

    def __init__(self, root: str | Path, run_id: str | None = None):
        self.root = Path(root).resolve()
        self.run_id = run_id
        self.run_dir = self.root / "runs" / run_id if run_id else self.root / "artifacts"

    def path(self, relative: str | Path) -> Path:
        """A path relative to the workspace (absolute paths are kept)."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    def stage_dir(self, stage: str) -> Path:
        """The run's folder of a stage, created on first use."""
        d = self.run_dir / stage
        d.mkdir(parents=True, exist_ok=True)
        return d

    def file(self, stage: str, name: str) -> Path:
        return self.run_dir / stage / name

    def has(self, stage: str, name: str) -> bool:
        return self.file(stage, name).is_file()

    def read_json(self, stage: str, name: str) -> dict[str, Any]:
        return json.loads(self.file(stage, name).read_text())

    def mark_latest(self) -> None:
        """runs/LATEST names this run (atomically)."""
        if self.run_id:
            write_text_atomic(self.root / "runs" / "LATEST", self.run_id + "\n")


def begin_stage(ws: Workspace, stage: str) -> None:
    """Log a stage's start and record it in the run's status (what a killed run was doing)."""
    import logging

    from synthgov import runs
    from synthgov.parallel import worker_logging

    worker_logging()
    if ws.run_id:
        runs.stage(ws.root, ws.run_id, stage)
    logging.getLogger("synthgov").info("stage %s: started", stage)
