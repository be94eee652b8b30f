"""Atomic writes: a file is either absent, the old version, or the whole new one, never half-written.

Every write goes to a temporary file with a unique name in the same folder (so concurrent writers
never share one), is flushed to disk, then renamed over the target with os.replace.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A unique temporary path beside `path`, renamed over it on success, removed on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to `path` atomically.

    >>> import tempfile; d = Path(tempfile.mkdtemp())
    >>> write_text_atomic(d / "a.txt", "x"); (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('x', ['a.txt'])
    """
    with _replacing(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to `path` atomically (sorted keys, indented)."""
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str))


def write_parquet_atomic(df, path: Path) -> None:
    """Write a DataFrame as Parquet to `path` atomically."""
    with _replacing(path) as tmp:
        df.to_parquet(tmp, index=False)
