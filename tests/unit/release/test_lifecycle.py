"""Release lifecycle against a real release store and a real MLflow registry (SQLite): expiry,
retirement, and releases/CURRENT as the single source of truth that the alias follows."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from synthgov.cli import main
from synthgov.errors import ReleaseError
from synthgov.release import registry
from synthgov.release.lifecycle import Lifecycle, expires_at
from synthgov.release.promote import ReleaseStore


def _tree(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def ws(tmp_path):
    """A workspace with three promoted releases (r1 oldest), each a registered MLflow version."""
    from mlflow import MlflowClient

    root = tmp_path / "ws"
    uri = f"sqlite:///{root / 'mlflow.db'}"
    root.mkdir()
    client = MlflowClient(uri)
    exp = client.create_experiment("synthgov", artifact_location=(root / "mlartifacts").as_uri())
    store, now = ReleaseStore(root), datetime.now(timezone.utc)
    for i, rid in enumerate(["20260101T000000Z-r1", "20260201T000000Z-r2", "20260301T000000Z-r3"]):
        cand = tmp_path / "synthetic.parquet"
        cand.write_bytes(rid.encode())
        created = (now - timedelta(days=3 - i)).isoformat(timespec="seconds")
        card = {"release_id": rid, "created_at": created, "expires_at": expires_at(created, 30),
                "privacy": {"epsilon": 1.0, "neighbouring": "add-remove"}}
        store.promote([cand], card, json.dumps, [], {"lineage": {"source_hash": "ab" * 32}, "run_id": rid}, rid)
        run = client.create_run(exp)
        registry.register(uri, run.info.run_id, rid, "release", {"synthgov.epsilon": "1"}, f"card of {rid}")
    store.quarantine([cand], {}, "20260401T000000Z-q1")
    return root, uri


def test_listing_gives_each_release_its_status(ws):
    root, _ = ws
    rows = {r["release_id"][-2:]: r["status"] for r in Lifecycle(root).listing()}
    assert rows == {"r3": "current", "r2": "superseded", "r1": "superseded", "q1": "quarantined"}


def test_retiring_the_current_release_rolls_current_back_and_the_alias_follows(ws, capsys):
    from synthgov.privacy.ledger import PrivacyLedger

    root, uri = ws
    before = _tree(root / "releases" / "20260301T000000Z-r3")
    code = main(["retire", "20260301T000000Z-r3", "--reason", "consent withdrawn", "--by", "dpo",
                 "--workspace", str(root)])
    assert code == 0 and "CURRENT moved from 20260301T000000Z-r3 to 20260201T000000Z-r2" in capsys.readouterr().out
    assert ReleaseStore(root).current() == "20260201T000000Z-r2"
    assert registry.aliased_release(uri) == "20260201T000000Z-r2"
    assert _tree(root / "releases" / "20260301T000000Z-r3") == before  # its files are kept unchanged
    assert Lifecycle(root).status("20260301T000000Z-r3") == "retired"
    [entry] = [e for e in PrivacyLedger(root).entries() if e["purpose"] == "retirement"]
    assert entry["reason"] == "consent withdrawn" and entry["epsilon"] == 0.0
    from mlflow import MlflowClient

    v = MlflowClient(uri).get_model_version(registry.REGISTERED_NAME, registry.version_of(uri, "20260301T000000Z-r3"))
    assert v.tags["synthgov.status"] == "retired" and v.tags["synthgov.retired_reason"] == "consent withdrawn"
    # twice is an error, and so is an unknown release or an empty reason
    assert main(["retire", "20260301T000000Z-r3", "--reason", "again", "--workspace", str(root)]) == 2
    with pytest.raises(ReleaseError, match="no such release"):
        Lifecycle(root).retire("nope", "x", "me")
    with pytest.raises(ReleaseError, match="needs a reason"):
        Lifecycle(root).retire("20260101T000000Z-r1", " ", "me")


def test_an_expired_release_is_never_current(ws):
    root, uri = ws
    lifecycle = Lifecycle(root)
    later = datetime.now(timezone.utc) + timedelta(days=28)  # r1 and r2 expired by then; r3 not yet
    assert lifecycle.enforce(later) == ("20260301T000000Z-r3", "20260301T000000Z-r3")
    much_later = datetime.now(timezone.utc) + timedelta(days=40)  # every release expired
    assert lifecycle.enforce(much_later) == ("20260301T000000Z-r3", None)
    assert ReleaseStore(root).current() is None
    assert registry.sync_alias(uri, None) is not None and registry.aliased_release(uri) is None
    events = json.loads((root / "releases" / "LIFECYCLE.json").read_text())["events"]
    assert events[-1]["event"] == "current expired" and events[-1]["moved_to"] is None


def test_an_expired_current_falls_back_to_the_newest_valid_release(ws, tmp_path):
    root, _ = ws
    cand = tmp_path / "short.parquet"
    cand.write_bytes(b"short-lived")
    now = datetime.now(timezone.utc)
    created = now.isoformat(timespec="seconds")
    ReleaseStore(root).promote([cand], {"release_id": "20260501T000000Z-r4", "created_at": created,
                                        "expires_at": expires_at(created, 1)}, json.dumps, [], {}, "20260501T000000Z-r4")
    lifecycle = Lifecycle(root)
    assert lifecycle.enforce(now) == ("20260501T000000Z-r4", "20260501T000000Z-r4")
    assert lifecycle.enforce(now + timedelta(days=2)) == ("20260501T000000Z-r4", "20260301T000000Z-r3")
    assert ReleaseStore(root).current() == "20260301T000000Z-r3"


def test_a_moved_alias_is_put_back_where_current_says(ws):
    from mlflow import MlflowClient

    root, uri = ws
    MlflowClient(uri).set_registered_model_alias(registry.REGISTERED_NAME, registry.ALIAS,
                                                 registry.version_of(uri, "20260101T000000Z-r1"))
    message = registry.sync_alias(uri, ReleaseStore(root).current())
    assert "releases/CURRENT decides" in message
    assert registry.aliased_release(uri) == "20260301T000000Z-r3"
    assert registry.sync_alias(uri, "20260301T000000Z-r3") is None
