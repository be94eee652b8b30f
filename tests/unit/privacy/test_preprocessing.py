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


def test_points_of_a_small_integer_range_cost_no_delta_and_find_only_the_heaps():
    from synthgov.params import ColumnSchema
    from synthgov.privacy.mechanisms import dp_points

    # hours a week: heaps at 40 and 50 over a spread of other values (about 20 rows each), none of 70-79
    rng = np.random.default_rng(1)
    spread = rng.choice(np.r_[1:70, 80:100], 1800).astype(float)
    values = np.r_[np.full(900, 40.0), np.full(300, 50.0), spread]
    found = [dp_points(values, lower=1, upper=99, integer=True, epsilon=0.1, delta=0.0, min_count=0.02 * 3000,
                       rng=np.random.default_rng(seed)) for seed in range(200)]
    # Assert: the heaps every time; a value of the spread (under the 2 % share) rarely, when its
    # noise is large; a value no row holds never (the threshold is over the noise's reach)
    assert all({40.0, 50.0} <= set(f) for f in found)
    assert sum(len(f) > 2 for f in found) < 0.3 * len(found)  # measured: 21 %
    assert not any(70 <= v < 80 for f in found for v in f)
    hours = ColumnSchema(type="numeric", lower=1, upper=99, integer=True, discover_points=0.02)
    rate = ColumnSchema(type="numeric", lower=0, upper=8, discover_points=0.02)
    assert hours.needs_dp_estimate and not hours.estimates_need_delta  # every value of 1..99 counted
    assert rate.needs_dp_estimate and rate.estimates_need_delta  # only values the rows hold: stability


def test_points_of_a_real_valued_column_never_release_a_value_of_one_row():
    from synthgov.privacy.mechanisms import dp_points

    # a plan's payments: two heaps of 400 rows, and one row's own value (a person's private amount)
    values = np.r_[np.full(400, 3.258), np.full(400, 4.615), [6.0321], np.linspace(0.1, 8, 2199)]
    runs = [dp_points(values, lower=0, upper=8, integer=False, epsilon=0.5, delta=1e-6, min_count=60,
                      rng=np.random.default_rng(seed)) for seed in range(300)]
    assert all(r == [3.258, 4.615] for r in runs)  # threshold 1 + 2 ln(1/(2e-6)): about 27 rows
    assert not any(6.0321 in r for r in runs)


def test_discovered_points_join_the_declared_ones_within_the_preprocessing_slice(params_dir, adult):
    # Setup: hours_per_week's points left to discover (0 declared), capital_gain's as declared
    path = params_dir / "schema.yaml"
    schema = yaml.safe_load(path.read_text())
    schema["hours_per_week"]["points"] = []
    schema["hours_per_week"]["discover_points"] = 0.03
    schema["capital_gain"]["points"] = [0]
    schema["capital_gain"]["discover_points"] = 0.5
    path.write_text(yaml.safe_dump(schema))
    params = load_params(params_dir)
    cols = DPAutoregressive.trained_columns(params)
    # Run
    out, report = resolve_schema(adult[0], params, cols, epsilon=0.2, delta=1e-6, rng=np.random.default_rng(0),
                                 rows=len(adult[0]))
    # Assert: 40 and the other round numbers over 3 % of the rows, each exactly a point; capital
    # gain's zero (92 % of rows) found again and kept once; the slice is spent, and the delta by
    # capital gain alone (its range, 0-100,000, is too wide to count every value: stability-based)
    assert {40.0, 50.0, 45.0, 60.0}.issubset(out["hours_per_week"].points)
    assert all(p % 5 == 0 for p in out["hours_per_week"].points)
    assert out["capital_gain"].points == [0.0]
    assert report["columns"]["hours_per_week"] == {"points_method": "dp-histogram",
                                                   "points_found": len(out["hours_per_week"].points)}
    assert report["epsilon"] == pytest.approx(0.2) and report["delta"] == pytest.approx(1e-6)
    assert "education_num" not in cols  # derived: never trained, never estimated
