"""Lineage: which code, data version and DVC objects a run used.

Hashes of artifacts are DVC's own (the md5 that dvc.lock records), so a run logged to MLflow can be
matched to `dvc.lock` and restored with `dvc checkout`. When the workspace is a DVC project whose
params are the ones the run used, the run's outputs are committed to the DVC cache and dvc.lock.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
CODE_ROOT = Path(__file__).resolve().parents[2]


def git_commit(path: Path = CODE_ROOT) -> str:
    """The git commit of the code (with '-dirty' when it has uncommitted changes), or 'unknown'."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def dvc_md5(path: Path) -> str:
    """DVC's md5 of a file: the value dvc.lock records for it."""
    from dvc_data.hashfile.hash import file_md5
    from dvc_objects.fs.local import LocalFileSystem

    return file_md5(str(path), LocalFileSystem())


def is_dvc_project(workspace: Path) -> bool:
    """A DVC project with our dvc.yaml and the code it depends on (a checkout of synthgov)."""
    return all((workspace / p).exists() for p in (".dvc", "dvc.yaml", "synthgov"))


def dvc_commit(workspace: Path, stages: list[str]) -> list[str]:
    """Record the current outputs of `stages` in dvc.lock and the DVC cache; returns those committed."""
    from contextlib import chdir

    from dvc.repo import Repo

    done = []
    with chdir(workspace), Repo(str(workspace)) as repo:
        for stage in stages:
            repo.commit(f"dvc.yaml:{stage}", force=True)
            done.append(stage)
    return done
