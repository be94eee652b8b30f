"""Privacy accounting, in one screen: the budget's slices and DP-SGD's noise for the declared relation.

A run's (epsilon, delta) is the sum of its slices (sequential composition): the DP counts
(privacy.count_epsilon), the DP preprocessing of undeclared schema values
(privacy.preprocessing_epsilon and a tenth of delta, only when something is undeclared) and
DP-SGD (the rest).

DP-SGD with Poisson sampling at rate q for T steps (both public constants of params/train.yaml),
noise multiplier sigma and clipping norm C is accounted for the declared neighbouring relation:
add-remove by Opacus' PRV (default) or RDP accountant, or by dp-accounting's PLD accountant;
replace-one by the PLD accountant only (one row replaced moves a sampled sum by up to 2C).
`calibrate_noise` finds the smallest sigma that spends at most the target epsilon at delta;
`epsilon_spent` is the inverse.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

from synthgov.errors import PrivacyBudgetError

RELATIONS = ("add-remove", "replace-one")


def plan_budget(*, epsilon: float, delta: float, count_epsilon: float, preprocessing_epsilon: float,
                estimates: bool, estimates_delta: bool, schema_epsilon: float = 0.0) -> dict[str, float]:
    """The slices of a run's (epsilon, delta): counts, preprocessing (when `estimates`), the DP
    bounds of a drafted schema (`schema_epsilon`, synthgov init), training.

    >>> plan_budget(epsilon=1.0, delta=1e-5, count_epsilon=0.05, preprocessing_epsilon=0.1,
    ...             estimates=False, estimates_delta=False)["training_epsilon"]
    0.95
    """
    pre_eps = preprocessing_epsilon if estimates else 0.0
    pre_delta = delta / 10.0 if estimates and estimates_delta else 0.0
    training = epsilon - count_epsilon - pre_eps - schema_epsilon
    if training <= 0.05 * epsilon:
        raise PrivacyBudgetError(
            f"privacy.epsilon = {epsilon:g} leaves {training:g} for training after the DP counts "
            f"({count_epsilon:g}), the DP preprocessing ({pre_eps:g}) and the DP schema bounds "
            f"({schema_epsilon:g}); raise privacy.epsilon, lower privacy.count_epsilon, "
            "privacy.preprocessing_epsilon or privacy.schema_epsilon, or declare every column's "
            "categories and bounds in params/schema.yaml (declared values cost nothing)")
    return {"count_epsilon": count_epsilon, "preprocessing_epsilon": pre_eps, "preprocessing_delta": pre_delta,
            "schema_epsilon": schema_epsilon, "training_epsilon": round(training, 12),
            "training_delta": delta - pre_delta}


def _pld_epsilon(sigma: float, q: float, steps: int, delta: float, neighbouring: str) -> float:
    from dp_accounting import NeighboringRelation, dp_event
    from dp_accounting.pld.pld_privacy_accountant import PLDAccountant

    relation = NeighboringRelation.REPLACE_ONE if neighbouring == "replace-one" else \
        NeighboringRelation.ADD_OR_REMOVE_ONE
    acc = PLDAccountant(neighboring_relation=relation, value_discretization_interval=1e-3)
    acc.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)
    return float(acc.get_epsilon(delta))


def epsilon_spent(*, noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                  accountant: str, neighbouring: str = "add-remove") -> float:
    """The epsilon that `steps` DP-SGD steps spend at delta, for the neighbouring relation.

    >>> round(epsilon_spent(noise_multiplier=1.0, sample_rate=0.01, steps=1000, delta=1e-5, accountant="rdp"), 3)
    2.101
    """
    if neighbouring not in RELATIONS:
        raise ValueError(f"unknown neighbouring relation {neighbouring!r}; known: {RELATIONS}")
    if accountant == "pld" or neighbouring == "replace-one":
        return _pld_epsilon(noise_multiplier, sample_rate, steps, delta, neighbouring)
    from opacus.accountants import create_accountant

    acc = create_accountant(mechanism=accountant)
    acc.history = [(noise_multiplier, sample_rate, steps)]
    with warnings.catch_warnings():  # Opacus' note that its widest RDP order was the best one
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        return float(acc.get_epsilon(delta=delta))


MAX_NOISE_MULTIPLIER = 1e6  # Opacus' own cap: no budget that needs more noise is meetable
_TOLERANCE = 0.005  # the calibrated sigma spends between epsilon - 0.005 (or 1 %, if less) and epsilon


@functools.lru_cache(maxsize=32)
def calibrate_noise(*, epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str,
                    neighbouring: str = "add-remove") -> float:
    """The noise multiplier that spends at most `epsilon` over `steps` Poisson-sampled steps, by
    the accountant of `epsilon_spent`, and no less than epsilon - 0.005 (or 99 % of epsilon, if
    that is closer).

    A search on the accountant's curve: log epsilon falls almost linearly in log sigma, so a
    bracket narrowed by interpolation on that line takes a handful of evaluations where halving
    takes a dozen (the slow ones are at small sigma). Memoised: a run asks for one schedule more
    than once (the refusal before anything starts, then the training).

    >>> sigma = calibrate_noise(epsilon=1.0, delta=1e-5, sample_rate=0.1, steps=80, accountant="rdp")
    >>> 0.995 <= epsilon_spent(noise_multiplier=sigma, sample_rate=0.1, steps=80, delta=1e-5, accountant="rdp") <= 1.0
    True

    Raises:
        PrivacyBudgetError: when no noise multiplier can meet the budget, naming what to change.
    """
    if neighbouring not in RELATIONS:
        raise ValueError(f"unknown neighbouring relation {neighbouring!r}; known: {RELATIONS}")

    def spent(sigma: float) -> float:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning)  # log(0) in PRV's domain search
            warnings.filterwarnings("ignore", message="Optimal order is the")  # at the search's far ends
            return epsilon_spent(noise_multiplier=sigma, sample_rate=sample_rate, steps=steps, delta=delta,
                                 accountant=accountant, neighbouring=neighbouring)

    # bracket: low spends more than epsilon (None: not found yet), high spends at most epsilon
    low, e_low, high = None, math.inf, 1.0
    e_high = spent(high)
    while e_high > epsilon:
        low, e_low, high = high, e_high, 2 * high
        if high > MAX_NOISE_MULTIPLIER:
            raise PrivacyBudgetError(
                f"the privacy budget epsilon = {epsilon:g} at delta = {delta:g} cannot be met with {steps} "
                f"steps at sample_rate = {sample_rate:g}: lower train.epochs or train.sample_rate in "
                "params/train.yaml, or raise privacy.epsilon")
        e_high = spent(high)
    while low is None and high > 1e-2:  # below 0.01 noise is no defence; take 0.01 (spends less)
        e = spent(high / 2)
        if e > epsilon:
            low, e_low = high / 2, e
        else:
            high, e_high = high / 2, e
    tolerance = min(_TOLERANCE, 0.01 * epsilon)
    for _ in range(60):  # each step keeps at least a tenth of the bracket off: this ends long before
        if low is None or epsilon - e_high <= tolerance:
            break
        t, aim = 0.5, epsilon - tolerance / 2  # the middle of what is accepted
        if math.isfinite(e_low) and e_high > 0:
            t = (math.log(e_low) - math.log(aim)) / (math.log(e_low) - math.log(e_high))
        mid = math.exp(math.log(low) + min(max(t, 0.1), 0.9) * (math.log(high) - math.log(low)))
        e = spent(mid)
        if e > epsilon:
            low, e_low = mid, e
        else:
            high, e_high = mid, e
    return high


def both_relations(*, noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> dict[str, Any]:
    """The training epsilon of one schedule under each neighbouring relation (PLD accountant)."""
    if noise_multiplier <= 0:
        return {r: math.inf for r in RELATIONS}
    return {r: epsilon_spent(noise_multiplier=noise_multiplier, sample_rate=sample_rate, steps=steps,
                             delta=delta, accountant="pld", neighbouring=r) for r in RELATIONS}
