"""Privacy accounting for DP-SGD, in one screen.

DP-SGD with Poisson sampling at rate q for T steps, noise multiplier sigma and clipping norm C is
accounted by Opacus' PRV (default) or RDP accountant. `calibrate_noise` finds the smallest sigma
that spends at most the target epsilon at delta; `epsilon_spent` is the inverse. The reported
epsilon of a run is the sum of every slice (sequential composition).
"""

from __future__ import annotations

from opacus.accountants import create_accountant
from opacus.accountants.utils import get_noise_multiplier

from synthgov.errors import PrivacyBudgetError


def check_delta(delta: float, n_rows: int) -> None:
    """Refuse a delta above 1/n: it would allow releasing a whole record.

    >>> check_delta(1e-5, 32561)
    >>> check_delta(0.1, 100)
    Traceback (most recent call last):
    ...
    synthgov.errors.PrivacyBudgetError: privacy.delta = 0.1 exceeds 1/n = 0.01 for n = 100 rows; set privacy.delta <= 0.01 in params/privacy.yaml (or null for the default)
    """
    if delta > 1.0 / n_rows:
        raise PrivacyBudgetError(
            f"privacy.delta = {delta:g} exceeds 1/n = {1.0 / n_rows:g} for n = {n_rows} rows; set "
            f"privacy.delta <= {1.0 / n_rows:g} in params/privacy.yaml (or null for the default)"
        )


def calibrate_noise(*, epsilon: float, delta: float, sample_rate: float, steps: int,
                    accountant: str) -> float:
    """The noise multiplier that spends at most `epsilon` over `steps` Poisson-sampled steps.

    Raises:
        PrivacyBudgetError: when no noise multiplier can meet the budget, naming what to change.
    """
    try:
        return float(get_noise_multiplier(
            target_epsilon=epsilon, target_delta=delta, sample_rate=sample_rate, steps=steps,
            accountant=accountant, epsilon_tolerance=0.005,
        ))
    except ValueError:
        raise PrivacyBudgetError(
            f"the privacy budget epsilon = {epsilon:g} at delta = {delta:g} cannot be met with "
            f"{steps} steps at sample_rate = {sample_rate:g}: lower train.epochs or "
            "train.sample_rate in params/train.yaml, or raise privacy.epsilon"
        ) from None


def epsilon_spent(*, noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                  accountant: str) -> float:
    """The epsilon that `steps` DP-SGD steps spend at delta.

    >>> round(epsilon_spent(noise_multiplier=1.0, sample_rate=0.01, steps=1000, delta=1e-5, accountant="rdp"), 3)
    2.101
    """
    acc = create_accountant(mechanism=accountant)
    acc.history = [(noise_multiplier, sample_rate, steps)]
    return float(acc.get_epsilon(delta=delta))
