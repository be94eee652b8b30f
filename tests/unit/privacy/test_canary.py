"""The canary audit catches a DP-SGD run that claims epsilon = 1 but adds no noise, and does not
accuse a correct one. Real Opacus training on real Adult rows (two runs per audit)."""

from __future__ import annotations

import pytest
import torch

from synthgov.privacy.canary import canary_audit, canary_check
from synthgov.synthesizers.dpar import DPAutoregressive
from tests.conftest import seeded, small


@pytest.fixture(scope="module")
def rows(adult):
    return small(adult[0], 3000)


def test_noise_free_run_claiming_epsilon_one_is_caught(params, rows, monkeypatch):
    # Setup: the bug: DP-SGD's noise is never added, while the accountant still claims epsilon = 1
    import opacus.optimizers.optimizer as dp_optimizer

    monkeypatch.setattr(dp_optimizer, "_generate_noise",
                        lambda std, reference, generator=None, secure_mode=False: torch.zeros_like(reference))
    # Run
    report = canary_audit(rows, params, DPAutoregressive, pairs=100, seed=0, randomness=seeded)
    check = canary_check(report, params)
    # Assert: the bound is compared with the replace-one epsilon of the same run (the twins of a
    # pair are replace-one neighbours), about twice the declared add-remove epsilon of 1
    assert report["declared_epsilon"] == pytest.approx(1.0, abs=0.01)
    assert report["claimed_relation"] == "replace-one" and 1.5 < report["claimed_epsilon"] < 2.5
    assert report["epsilon_lower_bound"] > report["claimed_epsilon"]
    assert not check.passed and check.severity == "block"


def test_correct_run_is_not_accused(params, rows):
    report = canary_audit(rows, params, DPAutoregressive, pairs=100, seed=0, randomness=seeded)
    assert report["epsilon_lower_bound"] <= report["claimed_epsilon"]
    assert canary_check(report, params).passed
