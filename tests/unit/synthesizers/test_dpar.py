"""Real Opacus DP-SGD for a few steps on real Adult rows."""

import io
import re

import pytest

from synthgov.errors import PrivacyBudgetError, RegistryError
from synthgov.params import load_params
from synthgov.synthesizers import get_synthesizer, load_synthesizer
from synthgov.synthesizers.dpar import DPAutoregressive
from tests.conftest import REPO, seeded, small


@pytest.fixture(scope="module")
def fast_params():
    return load_params(REPO / "params", {"train.epochs": 2, "train.sample_rate": 0.2})


def _parquet_bytes(df):
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def test_dp_fit_spends_the_target_epsilon(fast_params, adult):
    # Setup
    train = small(adult[0], 1000)
    # Run
    report = DPAutoregressive().fit(train, fast_params, seeded())
    # Assert
    assert report["epsilon"] <= fast_params.privacy.epsilon
    assert report["epsilon"] >= 0.95 * fast_params.privacy.epsilon
    assert report["delta"] <= 1 / (10 * report["rows_released"])
    assert report["noise_multiplier"] > 0
    assert report["steps"] == 10


def test_a_large_poisson_batch_in_chunks_is_the_same_step(adult):
    """train.max_physical_batch bounds the per-sample gradients held at once: a batch of ~200 rows
    in chunks of 32 is clipped and summed chunk by chunk and noised once, so with the same (test
    mode) randomness it takes the same number of steps to the same weights (up to summation order)."""
    import torch

    train = small(adult[0], 1000)
    nets = {}
    for chunk in (4096, 32):
        params = load_params(REPO / "params", {"train.epochs": 2, "train.sample_rate": 0.2,
                                               "train.max_physical_batch": chunk})
        synth = DPAutoregressive()
        report = synth.fit(train, params, seeded())
        assert report["steps"] == 10 and 150 < report["expected_batch_size"] < 250  # q x a DP count
        # ~200 rows a batch: one pass a step unchunked, about seven in chunks of 32
        assert (synth.physical_batches == 10) if chunk == 4096 else (synth.physical_batches > 40)
        assert "physical_batches" not in report  # it follows the private batch sizes
        nets[chunk] = synth.net.state_dict()
    assert nets[4096].keys() == nets[32].keys()
    for name in nets[4096]:
        assert torch.allclose(nets[4096][name], nets[32][name], atol=1e-5), name


def test_max_batch_lowers_the_rate_on_a_large_table_and_the_noise_with_it(adult):
    """train.max_batch bounds the expected batch: on 1,000 rows at rate 0.2 (~200 rows a batch), a
    bound of 50 rows lowers the rate to 50 / the DP-counted rows for the same steps, the batches
    hold about 50 rows, the run spends the same epsilon, and the lower rate needs less noise."""
    train = small(adult[0], 1000)
    reports = {}
    for bound in (None, 50):
        params = load_params(REPO / "params", {"train.epochs": 2, "train.sample_rate": 0.2, "train.max_batch": bound})
        synth = DPAutoregressive()
        reports[bound] = report = synth.fit(train, params, seeded())
        assert report["steps"] == 10
        assert report["sample_rate"] == params.train.rate_for(report["rows_released"])
        assert report["epsilon"] == pytest.approx(1.0, abs=0.01)
    assert reports[None]["sample_rate"] == 0.2 and 150 < reports[None]["expected_batch_size"] < 250
    assert reports[50]["sample_rate"] == pytest.approx(50 / reports[50]["rows_released"])
    assert reports[50]["expected_batch_size"] == 50
    assert reports[50]["noise_multiplier"] < reports[None]["noise_multiplier"]


def test_a_large_sample_is_drawn_in_chunks(fast_params, adult, monkeypatch):
    """Rows are drawn DRAW_CHUNK at a time (bounded memory at any size): the right number of rows,
    byte for byte the same for a seed, and a sample no larger than a chunk is drawn as before."""
    from synthgov.synthesizers import dpar

    synth = DPAutoregressive()
    synth.fit(small(adult[0], 800), fast_params, seeded())
    one_chunk = _parquet_bytes(synth.sample(100, seed=5))
    monkeypatch.setattr(dpar, "DRAW_CHUNK", 100)
    chunked = synth.sample(250, seed=5)
    assert len(chunked) == 250 and _parquet_bytes(chunked) == _parquet_bytes(synth.sample(250, seed=5))
    assert _parquet_bytes(synth.sample(100, seed=5)) == one_chunk
    # the chunks draw from one stream: not the first chunk repeated
    assert not chunked.iloc[:100].reset_index(drop=True).equals(chunked.iloc[100:200].reset_index(drop=True))


def test_test_mode_gives_byte_identical_output(fast_params, adult, tmp_path):
    train = small(adult[0], 800)
    a, b = DPAutoregressive(), DPAutoregressive()
    a.fit(train, fast_params, seeded())
    b.fit(train, fast_params, seeded())
    assert _parquet_bytes(a.sample(500, seed=3)) == _parquet_bytes(b.sample(500, seed=3))
    assert _parquet_bytes(a.sample(500, seed=3)) != _parquet_bytes(a.sample(500, seed=4))
    # a saved and reloaded model samples the same rows
    a.save(tmp_path / "model")
    again = load_synthesizer(tmp_path / "model")
    assert _parquet_bytes(again.sample(500, seed=3)) == _parquet_bytes(a.sample(500, seed=3))


def test_samples_respect_the_declared_schema(fast_params, adult):
    synth = DPAutoregressive()
    synth.fit(small(adult[0], 800), fast_params, seeded())
    out = synth.sample(2000, seed=0)
    assert list(out.columns) == DPAutoregressive.column_order(fast_params)
    assert out["age"].between(17, 90).all()
    assert set(out["sex"]) <= {"Female", "Male"}
    assert set(out["income"]) <= {"<=50K", ">50K"}


@pytest.mark.parametrize("overrides, message", [
    # a schedule no noise can make private at this epsilon
    ({"privacy.epsilon": 0.02, "privacy.count_epsilon": 0.01, "privacy.accountant": "rdp", "train.epochs": 100_000,
      "train.sample_rate": 1.0},
     "cannot be met"),
    # slices that leave nothing for training
    ({"privacy.epsilon": 0.001}, "leaves -0.049 for training"),
])
def test_unmeetable_budget_fails_before_any_mechanism(adult, overrides, message):
    synth = DPAutoregressive()
    with pytest.raises(PrivacyBudgetError, match=re.escape(message)):
        synth.fit(small(adult[0], 200), load_params(REPO / "params", overrides), seeded())
    assert synth.mechanisms_started is False  # no DP count, histogram or step touched the rows


def test_unknown_synthesizer_lists_known_ones():
    with pytest.raises(RegistryError, match=re.escape("known: dp-autoregressive, sdv-ctgan")):
        get_synthesizer("dp-gan")


def test_values_outside_the_schema_are_mapped_or_dropped_never_an_error(fast_params, adult):
    # Setup: a feature label nobody declared, a missing value in a non-nullable column, and a
    # target label outside the declared ones (the audit's contract would flag all three)
    rows = small(adult[0], 800).copy()
    rows.loc[:29, "workclass"] = "Martian"
    rows.loc[30:34, "sex"] = None
    rows.loc[35:39, "income"] = "unknown"
    synth = DPAutoregressive()
    # Run
    report = synth.fit(rows, fast_params, seeded())
    # Assert: the Martian rows are trained with workclass "Other"; rows the schema cannot encode
    # (a missing sex, an undeclared income) are dropped; the count of such rows is a DP count
    assert "Other" in synth.encoder.schema["workclass"].categories
    assert report["rows_trained"] == 790 and len(synth.trained_rows) == 790
    assert set(report["dp_counts"]) == {"rows", "rows_outside_schema"}
    assert synth.log_likelihood(rows.iloc[:30]).shape == (30,)  # "Martian" encodes as "Other"
    # the model keeps "Other" improbable: a label no declared value maps to starts at a low prior
    assert (synth.sample(2000, seed=0)["sex"] != "Other").all()


def test_a_derived_column_is_not_trained_and_always_agrees_with_its_label(fast_params, adult, tmp_path):
    # Setup: some rows hold an education level the schema does not declare
    train = small(adult[0], 800).copy()
    train.loc[:19, "education"] = "Kindergarten"
    code = fast_params.schema_["education_num"].derived_map
    # Run
    synth = DPAutoregressive()
    report = synth.fit(train, fast_params, seeded())
    synth.save(tmp_path / "model")
    out, again = synth.sample(3000, seed=0), load_synthesizer(tmp_path / "model").sample(3000, seed=0)
    # Assert: the model never saw education_num; education has no "Other" (its undeclared rows were
    # dropped, as the target's are), so every released row carries the code of its level
    assert "education_num" not in synth.encoder.columns
    assert "Other" not in synth.encoder.schema["education"].categories
    assert report["rows_trained"] == 780
    assert list(out.columns) == list(again.columns) == DPAutoregressive.column_order(fast_params)
    for table in (out, again):
        assert (table["education_num"] == table["education"].map(code)).all()
    assert _parquet_bytes(out) == _parquet_bytes(again)
