"""The privacy-budget ledger composes runs on one source version and refuses to overspend."""

from __future__ import annotations

import hashlib
import re

import pytest

from synthgov.errors import PrivacyBudgetError
from synthgov.privacy.ledger import PrivacyLedger
from synthgov.params import load_params
from synthgov.tasks.stages import ingest_stage, train_stage
from tests.conftest import REPO, small


def test_ledger_composes_per_source_version(tmp_path):
    ledger = PrivacyLedger(tmp_path)
    ledger.record("a" * 64, "r1", 1.0, 1e-5, "dp-autoregressive")
    ledger.record("a" * 64, "r2", 1.0, 1e-5, "dp-autoregressive")
    ledger.record("b" * 64, "r3", 3.0, 1e-5, "dp-autoregressive")
    assert ledger.spent("a" * 64) == (2.0, 2e-5)
    assert ledger.spent("b" * 64) == (3.0, 1e-5)
    ledger.check("a" * 64, 1.0, 1e-5, budget_epsilon=3.0, budget_delta=1e-4)  # exactly at budget
    with pytest.raises(PrivacyBudgetError, match=re.escape("has spent epsilon = 2, delta = 2e-05 over 2 run(s)")):
        ledger.check("a" * 64, 1.5, 1e-5, budget_epsilon=3.0, budget_delta=1e-4)


def test_run_over_budget_is_refused_before_training(tmp_path, adult):
    # Setup: a workspace with a small real source, a budget for one run of epsilon = 1 only
    ws = tmp_path
    (ws / "data").mkdir()
    small(adult[0], 600).to_csv(ws / "data" / "s.csv", index=False)
    small(adult[1], 300).to_csv(ws / "data" / "h.csv", index=False)
    params = load_params(REPO / "params", {
        "data.source": "data/s.csv", "data.holdout": "data/h.csv", "data.format": "auto",
        "train.epochs": 1, "train.sample_rate": 0.2, "privacy.budget_epsilon": 1.5})
    ingest_stage.fn(str(ws), params)
    train_stage.fn(str(ws), params)
    weights = hashlib.sha256((ws / "artifacts/train/model/weights.pt").read_bytes()).hexdigest()
    source = hashlib.sha256((ws / "data/s.csv").read_bytes()).hexdigest()
    # Run / Assert: the second run would spend 2 > 1.5 and is refused, at ingest and at train
    with pytest.raises(PrivacyBudgetError, match=re.escape("Nothing was trained")):
        ingest_stage.fn(str(ws), params)
    with pytest.raises(PrivacyBudgetError, match="over the budget of epsilon = 1.5"):
        train_stage.fn(str(ws), params)
    assert len(PrivacyLedger(ws).entries()) == 1
    assert hashlib.sha256((ws / "artifacts/train/model/weights.pt").read_bytes()).hexdigest() == weights
    assert hashlib.sha256((ws / "data/s.csv").read_bytes()).hexdigest() == source
    assert not (ws / "releases").exists()
