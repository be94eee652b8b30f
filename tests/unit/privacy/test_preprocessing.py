"""DP-correct preprocessing: declared values cost nothing and read nothing; the rest is DP."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from synthgov.params import load_params
from synthgov.privacy.preprocessing import resolve_schema
from synthgov.synthesizers.dpar import DPAutoregressive
from tests.conftest import seeded, small


def _with_extremes(df):
    changed = df.copy()
    changed.loc[0, "age"] = 90.0
    changed.loc[1, "capital_gain"] = 99999.0
    changed.loc[2, "native_country"] = "Holand-Netherlands"
    changed.loc[3, "fnlwgt"] = 1_490_000.0
    return changed


def test_declared_schema_makes_released_artifacts_independent_of_extremes(params, adult, tmp_path):
    # Setup
    fast = params.model_copy(update={"train": params.train.model_copy(update={"epochs": 1.0})})
    base = small(adult[0], 800)
    # Run: fit on the data, and on the data with its extremes and a rare category changed
    for name, df in (("a", base), ("b", _with_extremes(base))):
        synth = DPAutoregressive()
        report = synth.fit(df, fast, seeded())
        synth.save(tmp_path / name)
        assert report["preprocessing"]["epsilon"] == 0.0
    # Assert: the released model config (encoder, bins, categories) is byte-identical
    assert (tmp_path / "a" / "meta.json").read_bytes() == (tmp_path / "b" / "meta.json").read_bytes()


@pytest.fixture()
def undeclared(params_dir):
    """Params where native_country's categories and capital_gain's bin edges are not declared."""
    path = params_dir / "schema.yaml"
    schema = yaml.safe_load(path.read_text())
    schema["native_country"].pop("categories")
    schema["capital_gain"] = {"type": "numeric", "lower": 0, "upper": 100000, "integer": True,
                              "bins": 8, "edges": "dp-quantiles"}
    path.write_text(yaml.safe_dump(schema))
    return load_params(params_dir, {"train.epochs": 1})


def test_undeclared_values_are_estimated_with_dp_and_rare_ones_collapse(undeclared, adult):
    train = adult[0]
    cols = DPAutoregressive.column_order(undeclared)
    schema, report = resolve_schema(train, undeclared, cols, epsilon=0.1, delta=1e-6, rng=np.random.default_rng(0))
    country = report["columns"]["native_country"]
    assert report["epsilon"] == pytest.approx(0.1) and report["delta"] == pytest.approx(1e-6)
    assert country["method"] == "dp-histogram"
    # rare countries fail the DP threshold; how many did is a private count, never reported
    assert country["categories_kept"] < train["native_country"].nunique()
    assert "categories_collapsed_into_other" not in country
    assert "United-States" in schema["native_country"].categories
    assert schema["native_country"].categories[-1] == "Other"
    assert "Holand-Netherlands" not in schema["native_country"].categories  # a single row
    edges = schema["capital_gain"].bins
    assert edges[0] == 0 and edges[-1] == 100001 and edges == sorted(edges)


def test_total_epsilon_includes_the_preprocessing_slice(undeclared, adult, tmp_path):
    synth = DPAutoregressive()
    report = synth.fit(small(adult[0], 2000), undeclared, seeded())
    assert report["epsilon"] == pytest.approx(report["epsilon_training"] + 0.1 + 0.05)  # + the counts
    assert report["epsilon"] <= undeclared.privacy.epsilon
    out = synth.sample(1000, seed=0)
    assert set(out["native_country"].dropna()) <= set(synth.encoder.schema["native_country"].categories)


def test_delta_is_split_over_the_estimated_categorical_columns(params_dir, adult, monkeypatch):
    # Setup: two categorical columns and one numeric column left to estimate
    import synthgov.privacy.preprocessing as pre

    path = params_dir / "schema.yaml"
    schema = yaml.safe_load(path.read_text())
    for col in ("native_country", "occupation"):
        schema[col].pop("categories")
    schema["capital_gain"] = {"type": "numeric", "lower": 0, "upper": 100000, "bins": 8, "edges": "dp-quantiles"}
    path.write_text(yaml.safe_dump(schema))
    params = load_params(params_dir)
    seen = []
    real = pre.dp_categories
    monkeypatch.setattr(pre, "dp_categories", lambda values, **kw: seen.append(kw) or real(values, **kw))
    # Run
    _, report = resolve_schema(adult[0], params, DPAutoregressive.column_order(params), epsilon=0.3,
                               delta=1e-6, rng=np.random.default_rng(0))
    # Assert: each histogram gets delta / 2 (the quantiles take none), each column epsilon / 3;
    # the report states the slice they add up to
    assert [kw["delta"] for kw in seen] == [pytest.approx(5e-7)] * 2
    assert [kw["epsilon"] for kw in seen] == [pytest.approx(0.1)] * 2
    assert report["delta"] == pytest.approx(1e-6) and report["epsilon"] == pytest.approx(0.3)
