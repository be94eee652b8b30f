"""The new-source watcher: settled files only, content-addressed, one event per content."""

from __future__ import annotations

import hashlib

from synthgov.operations.watcher import EVENT, Watcher


def _watcher(tmp_path, settle=5.0):
    events = []
    w = Watcher(tmp_path, settle_seconds=settle, emit=lambda *a: events.append(a))
    return w, events


def test_a_file_is_announced_only_once_its_size_has_settled(tmp_path):
    w, events = _watcher(tmp_path)
    f = w.incoming / "new.csv"
    f.write_text("a,b\n1,2\n")
    assert w.poll(now=0) == []  # first seen
    with open(f, "a") as fh:
        fh.write("3,4\n")  # still being written
    assert w.poll(now=10) == []  # changed since: the clock restarts
    assert w.poll(now=12) == []
    [new] = w.poll(now=16)
    digest = hashlib.sha256(b"a,b\n1,2\n3,4\n").hexdigest()
    assert new["sha256"] == digest and not f.exists()
    assert (w.sources / f"{digest}.csv").read_text() == "a,b\n1,2\n3,4\n"
    [(event, resource, payload)] = events
    assert event == EVENT and resource["prefect.resource.id"] == f"synthgov.source.{digest[:16]}"
    assert payload == {"source_path": str(w.sources / f"{digest}.csv"), "sha256": digest, "original_name": "new.csv"}


def test_files_in_transit_hidden_or_empty_are_left_alone(tmp_path):
    w, events = _watcher(tmp_path, settle=0)
    for name in ("upload.csv.part", "x.tmp", ".hidden.csv", "partial.crdownload"):
        (w.incoming / name).write_text("a\n1\n")
    (w.incoming / "empty.csv").write_text("")
    assert w.poll(now=0) == [] and w.poll(now=100) == []
    assert events == [] and len(list(w.incoming.iterdir())) == 5


def test_the_same_content_twice_triggers_nothing(tmp_path):
    w, events = _watcher(tmp_path, settle=0)
    (w.incoming / "first.csv").write_text("a\n1\n")
    assert len(w.poll(now=0)) == 1
    (w.incoming / "again.csv").write_text("a\n1\n")
    assert w.poll(now=1) == [] and len(events) == 1
    assert not (w.incoming / "again.csv").exists()  # its content is kept under sources/ already
    # a restarted watcher remembers (the index on disk)
    w2, events2 = _watcher(tmp_path, settle=0)
    (w2.incoming / "third.csv").write_text("a\n1\n")
    assert w2.poll(now=0) == [] and events2 == []
    (w2.incoming / "other.parquet").write_bytes(b"PAR1")
    assert [e["path"].endswith(".parquet") for e in w2.poll(now=0)] == [True]
