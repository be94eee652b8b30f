"""The schema draft of `synthgov init`: types from the data, nothing private copied, identifiers out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgov.errors import SourceError
from synthgov.ingest.infer import draft_schema
from synthgov.ingest.readers import conform, read_table
from synthgov.params import ColumnSchema
from synthgov.privacy.bounds import EDGES, dp_bounds


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "record": (rng.permutation(n) + 5000).astype(str),
        "weight": rng.normal(70, 12, n).round(3).astype(str),  # unique-ish, but a measurement
        "age": rng.integers(18, 91, n).astype(str),
        "code": rng.choice(["1.0", "2.0", "3.0"], n),  # integer codes written as floats
        "city": rng.choice(["Lyon", "Metz", "Nice"], n),
        "y": rng.choice(["0", "1"], n),
    })


def _draft(df: pd.DataFrame, **kw):
    kw = {"source": "t.csv", "target": "y", "protected": ["age"], "positive_label": None, "schema_epsilon": 0.2,
          "rng": np.random.default_rng(1), **kw}
    return draft_schema(df, **kw)


def test_types_from_the_data_and_nothing_copied():
    df = _table()
    draft = _draft(df)
    assert list(draft.exclude) == ["record"] and "record number" in draft.exclude["record"]
    assert draft.schema["weight"]["type"] == "numeric" and draft.schema["weight"]["bounds"] == "dp"
    assert draft.schema["code"] == {"type": "categorical", "nullable": False}  # codes, categories left to DP
    assert "categories" not in draft.schema["city"]
    assert draft.schema["y"]["categories"] == ["0", "1"] and draft.positive_label == "1"
    for col in ("weight", "age"):
        spec = draft.schema[col]
        assert spec["lower"] in set(EDGES) | {float(np.floor(e)) for e in EDGES}
        assert (spec["lower"], spec["upper"]) != (float(df[col].astype(float).min()), float(df[col].astype(float).max()))
    lower, upper = draft.schema["age"]["lower"], draft.schema["age"]["upper"]
    assert draft.protected_bins["age"][0] == lower and draft.protected_bins["age"][-1] == upper
    assert draft.schema_epsilon == 0.2


def test_a_target_that_is_not_a_code_needs_its_positive_class():
    df = _table().assign(y=lambda d: np.where(d["age"].astype(int) > 60, "high", np.where(d["age"].astype(int) > 40,
                                                                                               "mid", "low")))
    with pytest.raises(SourceError, match="'y'.*--positive-label"):
        _draft(df)
    draft = _draft(df, positive_label="high")
    assert draft.schema["y"] == {"type": "categorical", "categories": ["high", "Other"], "other": True,
                                 "nullable": False}


def test_a_missing_column_is_named():
    with pytest.raises(SourceError, match=r"\['sex'\].*its columns are"):
        _draft(_table(), protected=["sex"])


def test_dp_bounds_need_enough_rows_for_their_epsilon():
    rng = np.random.default_rng(0)
    assert dp_bounds(rng.uniform(0, 100, 30), epsilon=0.01, rng=rng) is None
    lower, upper = dp_bounds(rng.uniform(0, 100, 50000), epsilon=1.0, rng=rng)
    assert lower <= 1 and 90 < upper <= 128


def test_decimal_numbers_are_not_phone_numbers():
    from types import SimpleNamespace

    from synthgov.audit.identifiers import _reasons
    from synthgov.params import AuditParams

    params = SimpleNamespace(audit=AuditParams(), data=SimpleNamespace(min_group_size=20))
    decimals = pd.Series([f"{x:.7f}" for x in np.random.default_rng(0).uniform(0, 9, 500)])
    phones = pd.Series([f"+33 6 {i:02d} {i % 97:02d} {i % 89:02d} 11" for i in range(500)])
    assert not any("phone" in r for r in _reasons(decimals, params, False))
    assert any("phone" in r for r in _reasons(phones, params, False))


def test_messy_csv_header_missing_markers_and_float_codes(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1.0,x,?\n2.0,NA,5\n1.0,y,7\n")
    df = read_table(path, header=False, na_values=["?", "NA"])
    assert list(df.columns) == ["c0", "c1", "c2"] and df.isna().sum().tolist() == [0, 1, 1]
    typed, _ = conform(df, {"c0": ColumnSchema(type="categorical")}, "t.csv")
    assert typed["c0"].tolist() == ["1", "2", "1"]


def test_common_zeros_become_a_point_from_the_same_dp_histogram():
    rng = np.random.default_rng(2)
    df = _table().assign(spend=lambda d: np.where(rng.random(len(d)) < 0.4, 0.0,
                                                  rng.lognormal(5, 1, len(d)).round(2)).astype(str))
    draft = _draft(df)
    assert draft.schema["spend"]["points"] == [0.0] and "0 is a point" in draft.notes["spend"]
    assert "points" not in draft.schema["weight"] and "points" not in draft.schema["age"]  # no zeros
    assert draft.schema_epsilon == 0.2  # nothing more spent


def test_few_distinct_decimals_are_named_for_review():
    """A decimal column of a few steps (a plan's log coinsurance rates) is drafted numeric, and the
    note says a release spreads its values over their bins unless they are declared as points."""
    rng = np.random.default_rng(3)
    steps = np.log([11.0, 26.0, 51.0, 96.0])
    df = _table().assign(rate=lambda d: rng.choice(steps, len(d)).round(6).astype(str))
    draft = _draft(df)
    assert draft.schema["rate"]["type"] == "numeric" and "points" not in draft.schema["rate"]
    assert "declare them as points" in draft.notes["rate"]
    assert "few distinct" not in draft.notes["weight"] and "few distinct" not in draft.notes["age"]
    assert not any(f"{v:.3f}" in draft.notes["rate"] for v in steps)  # no value is copied
