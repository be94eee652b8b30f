"""The privacy-budget ledger composes runs on one source version, reserves before training under a
lock, and refuses to overspend."""

from __future__ import annotations

import hashlib
import multiprocessing
import re

import pytest

from synthgov.errors import PrivacyBudgetError
from synthgov.params import load_params
from synthgov.privacy.ledger import ABANDONED, PrivacyLedger
from synthgov.tasks.stages import ingest_stage, train_stage
from tests.conftest import REPO, small

BUDGET = {"budget_epsilon": 3.0, "budget_delta": 1e-4, "synthesizer": "dp-autoregressive"}


def test_ledger_composes_per_source_version(tmp_path):
    ledger = PrivacyLedger(tmp_path)
    for source, run, eps in (("a", "r1", 1.0), ("a", "r2", 1.0), ("b", "r3", 3.0)):
        ledger.reserve(source * 64, run, eps, 1e-5, **BUDGET)
        ledger.commit(run, eps, 1e-5)
    assert ledger.spent("a" * 64) == (2.0, 2e-5)
    assert ledger.spent("b" * 64) == (3.0, 1e-5)
    with pytest.raises(PrivacyBudgetError, match=re.escape("has spent epsilon = 2, delta = 2e-05 over 2 run(s)")):
        ledger.reserve("a" * 64, "r4", 1.5, 1e-5, **BUDGET)
    ledger.reserve("a" * 64, "r4", 1.0, 1e-5, **BUDGET)  # exactly at budget
    assert ledger.spent("a" * 64) == pytest.approx((3.0, 3e-5))  # a reservation counts as spent


def test_cancel_frees_a_reservation_and_settle_keeps_it_counted(tmp_path):
    ledger = PrivacyLedger(tmp_path)
    ledger.reserve("a" * 64, "never-trained", 1.0, 1e-5, **BUDGET)
    ledger.cancel("never-trained")
    assert ledger.spent("a" * 64) == (0.0, 0.0)
    ledger.reserve("a" * 64, "killed", 1.0, 1e-5, **BUDGET)
    assert ledger.settle("killed") == 1
    assert ledger.spent("a" * 64) == (1.0, 1e-5)
    assert ledger.entries()[0]["status"] == ABANDONED and not ledger.open_reservations()


def _reserve(args):
    root, run = args
    try:
        PrivacyLedger(root).reserve("c" * 64, run, 1.0, 1e-5, budget_epsilon=1.5, budget_delta=1e-4,
                                    synthesizer="dp-autoregressive")
        return True
    except PrivacyBudgetError:
        return False


def test_concurrent_reservations_never_overspend(tmp_path):
    # Setup: six processes race for a budget that holds one run of epsilon = 1
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        granted = pool.map(_reserve, [(str(tmp_path), f"r{i}") for i in range(6)])
    # Assert: exactly one got it, and the ledger holds exactly that one
    assert sum(granted) == 1
    assert PrivacyLedger(tmp_path).spent("c" * 64) == (1.0, 1e-5)


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
    # Run / Assert: the second run would spend 2 > 1.5 and is refused before training
    ingest_stage.fn(str(ws), params)
    with pytest.raises(PrivacyBudgetError, match=re.escape("over the budget of epsilon = 1.5")):
        train_stage.fn(str(ws), params)
    assert len(PrivacyLedger(ws).entries()) == 1
    assert hashlib.sha256((ws / "artifacts/train/model/weights.pt").read_bytes()).hexdigest() == weights
    assert hashlib.sha256((ws / "data/s.csv").read_bytes()).hexdigest() == source
    assert not (ws / "releases").exists()
