"""The release store: atomic promotion, history kept, ids never reused."""

from __future__ import annotations

import hashlib
import re

import pytest

from synthgov.errors import ReleaseError
from synthgov.release.promote import ReleaseStore


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_release_store_is_atomic_and_keeps_history(tmp_path):
    cand = tmp_path / "synthetic.parquet"
    cand.write_bytes(b"first")
    store = ReleaseStore(tmp_path / "ws")
    assert store.current() is None
    store.promote([cand], {"k": 1}, "r1")
    before = _digest(store.releases / "r1")
    cand.write_bytes(b"second")
    store.quarantine([cand], {"k": 2}, "r2")
    assert store.current() == "r1" and _digest(store.releases / "r1") == before
    store.promote([cand], {"k": 3}, "r3")
    assert store.current() == "r3" and _digest(store.releases / "r1") == before
    assert not list(store.releases.glob(".incoming-*"))
    with pytest.raises(ReleaseError, match=re.escape("already exists")):
        store.promote([cand], {}, "r1")
