"""The release store: atomic promotion of two bundles, history kept, ids never reused, and
concurrent promotions that all land."""

from __future__ import annotations

import hashlib
import json
import re
import threading

import pytest

from synthgov.errors import ReleaseError
from synthgov.release.promote import ReleaseStore


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _promote(store, cand, review, release_id):
    return store.promote([cand], {"title": release_id}, lambda card: json.dumps(card), [review], {"k": 1}, release_id)


def test_release_store_is_atomic_and_keeps_history(tmp_path):
    cand, review = tmp_path / "synthetic.parquet", tmp_path / "audit.json"
    cand.write_bytes(b"first")
    review.write_text("{}")
    store = ReleaseStore(tmp_path / "ws")
    assert store.current() is None
    _promote(store, cand, review, "r1")
    before = _digest(store.releases / "r1")
    assert sorted(before) == ["card.json", "card.md", "manifest.json", "synthetic.parquet"]
    assert sorted(_digest(store.review / "r1")) == ["NOTICE.md", "audit.json", "manifest.json"]
    assert json.loads((store.releases / "r1" / "card.json").read_text())["previous_release"] is None
    cand.write_bytes(b"second")
    store.quarantine([cand], {"k": 2}, "r2")
    assert store.current() == "r1" and _digest(store.releases / "r1") == before
    _promote(store, cand, review, "r3")
    assert store.current() == "r3" and _digest(store.releases / "r1") == before
    assert json.loads((store.releases / "r3" / "card.json").read_text())["previous_release"] == "r1"
    assert not list(store.releases.glob(".incoming-*"))
    with pytest.raises(ReleaseError, match=re.escape("already exists")):
        _promote(store, cand, review, "r1")


def test_concurrent_promotions_all_land_and_current_names_one(tmp_path):
    # Setup: 40 threads promote at once (each its own release id), as concurrent runs would
    cand, review = tmp_path / "synthetic.parquet", tmp_path / "audit.json"
    cand.write_bytes(b"rows")
    review.write_text("{}")
    store, errors = ReleaseStore(tmp_path / "ws"), []

    def go(i):
        try:
            _promote(store, cand, review, f"r{i:02d}")
        except Exception as exc:  # noqa: BLE001 - any error fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Assert: no error, every release complete, CURRENT names one of them, no temporary left
    assert errors == []
    assert len([d for d in store.releases.iterdir() if d.is_dir()]) == 40
    assert store.current() in {f"r{i:02d}" for i in range(40)}
    assert not [p for p in store.releases.iterdir() if p.name.startswith(".")]
