"""The accounting matches Opacus' accountants, and an unmeetable budget is an error."""

import re

import pytest

from synthgov.errors import PrivacyBudgetError
from synthgov.privacy.accounting import calibrate_noise, epsilon_spent, plan_budget


# Golden values computed with Opacus' own accountants (opacus==1.6.0).
@pytest.mark.parametrize("sigma, q, steps, accountant, expected", [
    (1.0, 0.01, 1000, "rdp", 2.1013652716430564),
    (1.0, 0.01, 1000, "prv", 1.8383716376346455),
])
def test_epsilon_golden(sigma, q, steps, accountant, expected):
    eps = epsilon_spent(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=1e-5, accountant=accountant)
    assert eps == pytest.approx(expected, rel=1e-6)


def test_calibrated_noise_spends_at_most_the_target():
    sigma = calibrate_noise(epsilon=1.0, delta=1e-5, sample_rate=0.1, steps=88, accountant="prv")
    spent = epsilon_spent(noise_multiplier=sigma, sample_rate=0.1, steps=88, delta=1e-5, accountant="prv")
    assert 0.99 <= spent <= 1.0


def test_unmeetable_budget_is_an_error_naming_the_fix():
    with pytest.raises(PrivacyBudgetError, match=re.escape("lower train.epochs or train.sample_rate")):
        calibrate_noise(epsilon=1e-4, delta=1e-9, sample_rate=1.0, steps=100_000, accountant="rdp")


def test_slices_that_leave_nothing_for_training_are_refused():
    with pytest.raises(PrivacyBudgetError, match=re.escape("declare every column's categories and bounds")):
        plan_budget(epsilon=0.1, delta=1e-5, count_epsilon=0.05, preprocessing_epsilon=0.1, estimates=True,
                    estimates_delta=True)
