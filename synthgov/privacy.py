"""Privacy accounting for DP-SGD, in one screen.

DP-SGD with Poisson sampling at rate q for T steps, noise multiplier sigma and clipping norm C is
accounted by Opacus' PRV (default) or RDP accountant. `calibrate_noise` finds the smallest sigma
that spends at most the target epsilon at delta; `epsilon_spent` is the inverse. The noise itself
is added in exactly two places: Opacus' DPOptimizer (set up in synthesizers/dpar.py) for training,
and the DP preprocessing estimators at the end of this module, for schema values that were not
declared. The reported epsilon of a run is the sum of every slice (sequential composition).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
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


# --- DP preprocessing: the only other place where noise is added ---------------------------------
# Each source row contributes one value per column, so a column's histogram has L1 sensitivity 1
# and a rank (for quantiles) changes by at most 1 when a row is added or removed.


def dp_categories(values: pd.Series, *, epsilon: float, delta: float, rng: np.random.Generator
                  ) -> tuple[list[str], int]:
    """Categories of a column released by a stability-based histogram: (epsilon, delta)-DP.

    Laplace(1/epsilon) noise is added to each observed value's count and only values whose noisy
    count clears tau = 1 + ln(1 / (2 delta)) / epsilon are released, so a value held by one row
    is released with probability at most delta. Returns the kept labels (sorted) and how many
    observed labels collapsed into "Other". Only the labels leave this function, never a count.
    """
    counts = values.dropna().astype(str).value_counts()
    noisy = counts.to_numpy(dtype=float) + rng.laplace(0.0, 1.0 / epsilon, size=len(counts))
    tau = 1.0 + math.log(1.0 / (2.0 * delta)) / epsilon
    kept = sorted(counts.index[noisy > tau].tolist())
    return kept, len(counts) - len(kept)


def dp_quantiles(values: np.ndarray, qs: list[float], *, lower: float, upper: float,
                 epsilon: float, rng: np.random.Generator) -> list[float]:
    """Quantiles by the exponential mechanism (Smith 2011), each at epsilon / len(qs): epsilon-DP.

    Values are clipped to the public [lower, upper]; the interval between consecutive sorted
    values is chosen with probability proportional to its length times exp(-eps |rank - q n| / 2),
    then a point uniformly inside it.
    """
    x = np.sort(np.clip(values[~np.isnan(values)], lower, upper))
    x = np.concatenate([[lower], x, [upper]])
    eps_each = epsilon / len(qs)
    lengths = np.diff(x)
    out = []
    for q in qs:
        utility = -np.abs(np.arange(len(lengths)) - q * (len(x) - 2))
        with np.errstate(divide="ignore"):
            logw = np.log(lengths) + eps_each * utility / 2.0
        logw -= logw.max()
        w = np.exp(logw)
        i = rng.choice(len(w), p=w / w.sum())
        out.append(float(x[i] + rng.random() * lengths[i]))
    return sorted(out)
