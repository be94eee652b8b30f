"""Both fairness-aware generation modes move the group outcome rates in the declared direction."""

from __future__ import annotations

import re

import pytest

from synthgov.errors import ParamsError
from synthgov.params import FairnessParams, load_params
from synthgov.synthesizers.dpar import DPAutoregressive
from tests.conftest import REPO, seeded, small


@pytest.fixture(scope="module")
def model(adult):
    params = load_params(REPO / "params", {"train.epochs": 4, "privacy.epsilon": 4.0})
    synth = DPAutoregressive()
    synth.fit(small(adult[0], 6000), params, seeded())
    return synth


def _rates(df):
    positive = df["income"] == ">50K"
    return {g: float(positive[df["sex"] == g].mean()) for g in ("Female", "Male")}


def test_parity_closes_the_outcome_gap(model):
    base = _rates(model.sample(20000, seed=1))
    fair = _rates(model.sample(20000, seed=1, fairness=FairnessParams(mode="parity", attribute="sex"),
                               positive_label=">50K"))
    assert base["Male"] - base["Female"] > 0.08  # the learned bias is there to remove
    assert abs(fair["Male"] - fair["Female"]) < 0.03
    assert fair["Female"] > base["Female"] and fair["Male"] < base["Male"]


def test_rebalance_reaches_declared_shares_and_rates(model):
    fairness = FairnessParams(mode="rebalance", attribute="sex",
                              target_shares={"Female": 0.5, "Male": 0.5},
                              target_outcome_rates={"Female": 0.3})
    out = model.sample(10000, seed=2, fairness=fairness, positive_label=">50K")
    assert (out["sex"] == "Female").mean() == pytest.approx(0.5, abs=1e-9)
    assert _rates(out)["Female"] == pytest.approx(0.3, abs=0.03)
    again = model.sample(10000, seed=2, fairness=fairness, positive_label=">50K")
    assert out.equals(again)


def test_fairness_attribute_must_be_declared_categorical(params_dir):
    (params_dir / "generate.yaml").write_text(
        "rows: null\nseed: 0\nfairness: {mode: parity, attribute: age}\n")
    with pytest.raises(ParamsError, match=re.escape("generate.fairness.attribute 'age' must be a categorical")):
        load_params(params_dir)
