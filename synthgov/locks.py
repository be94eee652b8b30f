"""Cross-process file locks (fcntl): released by the kernel when the holder exits, even on kill -9.

Locks live under <workspace>/.synthgov/locks/. A lock is held while its file descriptor is open;
`hold` keeps one for the life of a run (the run's liveness marker), `locked` for a block of code.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from synthgov.errors import BusyError

LOCKS = Path(".synthgov") / "locks"


def lock_path(root: Path, name: str) -> Path:
    path = Path(root) / LOCKS / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def acquire(path: Path, *, wait: float | None = None) -> int | None:
    """An open descriptor holding an exclusive lock on `path`: None if busy after `wait` seconds
    (None: wait forever; 0: do not wait)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if deadline is not None and time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.2)


def release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock on `path` (a dead holder's lock is free)."""
    if not Path(path).exists():
        return False
    fd = acquire(path, wait=0)
    release(fd)
    return fd is None


@contextmanager
def locked(root: Path, name: str, *, wait: float | None = None, what: str = "") -> Iterator[None]:
    """Hold the workspace lock `name` for a block; BusyError if not free within `wait` seconds."""
    fd = acquire(lock_path(root, name), wait=wait)
    if fd is None:
        raise BusyError(f"{what or name} is busy: another run holds {lock_path(root, name)}")
    try:
        yield
    finally:
        release(fd)
