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


def test_a_small_budget_is_calibrated_to_one_percent():
    # the absolute tolerance (0.005) would accept anything from 0.195 to 0.2 here
    sigma = calibrate_noise(epsilon=0.2, delta=1e-5, sample_rate=0.01, steps=100, accountant="rdp")
    spent = epsilon_spent(noise_multiplier=sigma, sample_rate=0.01, steps=100, delta=1e-5, accountant="rdp")
    assert 0.99 * 0.2 <= spent <= 0.2


def test_unmeetable_budget_is_an_error_naming_the_fix():
    with pytest.raises(PrivacyBudgetError, match=re.escape("lower train.epochs or train.sample_rate")):
        calibrate_noise(epsilon=1e-4, delta=1e-9, sample_rate=1.0, steps=100_000, accountant="rdp")


def test_slices_that_leave_nothing_for_training_are_refused():
    with pytest.raises(PrivacyBudgetError, match=re.escape("declare every column's categories and bounds")):
        plan_budget(epsilon=0.1, delta=1e-5, count_epsilon=0.05, preprocessing_epsilon=0.1, estimates=True,
                    estimates_delta=True)


# Golden values of dp-accounting's PLD accountant (dp-accounting==0.6.0, value discretisation 1e-3),
# an accountant independent of Opacus, for both neighbouring relations.
@pytest.mark.parametrize("sigma, q, steps, delta, relation, expected", [
    (1.0, 0.01, 1000, 1e-5, "add-remove", 1.8289344124594729),
    (1.0, 0.01, 1000, 1e-5, "replace-one", 2.843994929214653),
    # the default Adult release's DP-SGD schedule (sigma calibrated by Opacus' PRV to 0.95)
    (4.0234375, 0.1, 80, 3.0703101013202333e-06, "add-remove", 0.9387880818391275),
    (4.0234375, 0.1, 80, 3.0703101013202333e-06, "replace-one", 1.8695016884621638),
])
def test_pld_epsilon_golden(sigma, q, steps, delta, relation, expected):
    eps = epsilon_spent(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=delta, accountant="pld",
                        neighbouring=relation)
    assert eps == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("sigma, q, steps", [(1.0, 0.01, 1000), (4.0234375, 0.1, 80), (2.0, 0.05, 300)])
def test_opacus_and_pld_agree_on_add_remove_and_replace_one_costs_more(sigma, q, steps):
    kw = {"noise_multiplier": sigma, "sample_rate": q, "steps": steps, "delta": 1e-5}
    prv = epsilon_spent(accountant="prv", **kw)
    pld = epsilon_spent(accountant="pld", **kw)
    replace = epsilon_spent(accountant="pld", neighbouring="replace-one", **kw)
    assert pld == pytest.approx(prv, rel=0.03)  # two independent accountants, one mechanism
    assert 1.4 * pld < replace < 2.1 * pld  # a replaced row moves a sampled sum by up to 2C


def test_calibration_for_replace_one_spends_at_most_the_target():
    sigma = calibrate_noise(epsilon=1.0, delta=1e-5, sample_rate=0.1, steps=80, accountant="pld",
                            neighbouring="replace-one")
    spent = epsilon_spent(noise_multiplier=sigma, sample_rate=0.1, steps=80, delta=1e-5, accountant="pld",
                          neighbouring="replace-one")
    assert 0.99 <= spent <= 1.0


def test_replace_one_needs_the_pld_accountant(params_dir):
    from synthgov.errors import ParamsError
    from synthgov.params import load_params

    with pytest.raises(ParamsError, match=re.escape("neighbouring 'replace-one' needs accountant 'pld'")):
        load_params(params_dir, {"privacy.neighbouring": "replace-one"})


def test_the_schema_slice_comes_out_of_training():
    from synthgov.privacy.accounting import plan_budget

    plan = plan_budget(epsilon=1.0, delta=1e-5, count_epsilon=0.05, preprocessing_epsilon=0.1, estimates=True,
                       estimates_delta=True, schema_epsilon=0.2)
    assert plan["schema_epsilon"] == 0.2 and plan["training_epsilon"] == pytest.approx(0.65)
    assert plan["count_epsilon"] + plan["preprocessing_epsilon"] + plan["schema_epsilon"] + \
        plan["training_epsilon"] == pytest.approx(1.0)
