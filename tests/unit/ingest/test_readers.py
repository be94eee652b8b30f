"""A CSV source read in chunks is the same table as one read whole."""

from __future__ import annotations

import pandas as pd

from synthgov.ingest import readers


def test_a_csv_read_in_chunks_is_the_same_table_with_shared_labels(tmp_path, monkeypatch):
    rows = [("31", "Private", "x1"), ("?", "Self-emp", ""), ("45", "Private", "x3"), ("52", " Private", "NA"),
            ("19", "?", "x5"), ("60", "Self-emp", "x6"), ("27", "Private", "x7")]
    path = tmp_path / "source.csv"
    path.write_text("age,workclass,note\n" + "\n".join(",".join(r) for r in rows) + "\n")
    whole = readers.read_table(path)
    monkeypatch.setattr(readers, "CSV_CHUNK_ROWS", 3)  # three chunks of at most three rows
    chunked = readers.read_table(path)
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked["age"].isna().tolist() == [False, True] + [False] * 5  # "?" is missing in every chunk
    assert chunked["workclass"].fillna("(missing)").tolist() == [
        "Private", "Self-emp", "Private", "Private", "(missing)", "Self-emp", "Private"]
    # equal labels within a chunk are one object: a pointer a cell, not a string each
    assert chunked["workclass"][0] is chunked["workclass"][2]
    # a header-only file is an empty table with its columns, chunked or not
    empty = tmp_path / "empty.csv"
    empty.write_text("age,workclass\n")
    header_only = readers.read_table(empty)
    assert list(header_only.columns) == ["age", "workclass"] and len(header_only) == 0
