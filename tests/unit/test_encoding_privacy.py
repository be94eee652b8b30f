"""The DP path reads no private statistic, and the accounting matches Opacus' accountants."""

import re

import numpy as np
import pytest

from synthgov.encoding import TabularEncoder
from synthgov.errors import PrivacyBudgetError
from synthgov.privacy import calibrate_noise, check_delta, epsilon_spent
from synthgov.synthesizers.dpar import DPAutoregressive


def test_encoder_ignores_extremes_and_rare_categories(params, adult):
    # Setup: the same source, but with extreme values and a rare category changed
    train = adult[0].head(2000).copy()
    changed = train.copy()
    changed.loc[0, "age"] = 90
    changed.loc[1, "capital_gain"] = 99999
    changed.loc[2, "native_country"] = "Holand-Netherlands"
    columns = DPAutoregressive.column_order(params)
    # Run
    a, b = TabularEncoder(params.schema_, columns), TabularEncoder(params.schema_, columns)
    a.encode(train), b.encode(changed)
    # Assert: the fitted encoder is a function of the declared schema only
    assert a.state() == b.state()


def test_encode_decode_keeps_categories_and_bins(params, adult):
    train = adult[0].head(500)
    enc = TabularEncoder(params.schema_, list(params.schema_))
    codes = enc.encode(train)
    back = enc.decode(codes, np.random.default_rng(0))
    assert (back["sex"] == train["sex"]).all()
    assert back["age"].between(17, 90).all()
    assert np.array_equal(enc.encode(back), codes)


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


def test_delta_above_one_over_n_is_refused():
    with pytest.raises(PrivacyBudgetError, match=re.escape("privacy.delta = 0.01 exceeds 1/n")):
        check_delta(0.01, 1000)
