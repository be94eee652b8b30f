"""The budget's floor for fidelity_js: what an (epsilon, delta)-DP release of the marginals alone
would score on the source at its size.

A DP release that fails fidelity_js is further from the source's marginals than the threshold
allows; the failure alone cannot say whether another synthesizer could pass at this size and
budget, or whether only more rows or a larger epsilon can. This reference answers that. It
spends the whole budget on the marginals and nothing on the joint structure: every released
column's histogram over the gate's own bins or labels (a row moves one count in each of the d
histograms), released at once by the Gaussian mechanism, calibrated exactly (the analytic Gaussian
mechanism, Balle and Wang 2018), a histogram's share of the budget in proportion to its bins (the
widest get the least noise), then projected on the non-negative counts summing to the row count
(which empties most of the bins the source leaves empty). Its synthetic counts are drawn from the
released shares and scored as the gate scores a release: the largest per-column Jensen-Shannon
distance beyond chance, the upper bound of its bootstrap interval (the rows resampled as
multinomial counts, which is the same for a histogram); the median of a few noise draws.

It is generous to the reference: the row count is public, nothing goes to counts, the schema or
the joint, and the setting was the best of five in benchmarks/marginal_floor.py (Adult, 1,000
rows, epsilon 1: 0.197-0.269 over 20 samples, where the DP-SGD release scored 0.244-0.342). A
release that keeps the joint structure as well spends part of its budget there, so where the
floor is over the threshold, no synthesizer can be expected under it: the budget is what fails.

Seeded: a reference figure computed inside validation, like the gate's own score; only the score
leaves this module, never a count.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from synthgov import stats
from synthgov.params import Params
from synthgov.params.schema import bin_edges
from synthgov.validation.fidelity import _columns, _js, beyond_chance

DRAWS = 3  # noise draws of the reference; their median upper bound is the floor
LADDER = (2.0, 3.0, 5.0, 10.0)  # epsilon multiples tried for the smallest epsilon whose floor passes


def analytic_gaussian_sigma(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    """The smallest noise standard deviation for which the Gaussian mechanism of this L2 sensitivity
    is (epsilon, delta)-DP (Balle and Wang 2018, Theorem 8: exact, where the classical bound is
    loose).

    >>> round(analytic_gaussian_sigma(1.0, 1e-5), 2)
    3.73
    """
    def delta_at(sigma: float) -> float:
        a, b = sensitivity / (2 * sigma), epsilon * sigma / sensitivity
        return norm.cdf(a - b) - math.exp(epsilon + norm.logcdf(-a - b))  # e^eps Phi(.), without overflow

    lo, hi = 1e-3 * sensitivity, 1e3 * sensitivity
    for _ in range(200):  # delta_at falls as sigma grows
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if delta_at(mid) > delta else (lo, mid)
    return hi


def simplex(noisy: np.ndarray, total: float) -> np.ndarray:
    """The nearest counts (least squares) that are non-negative and sum to `total`: every count less
    one common amount, clamped at 0 (the projection on the simplex; small noisy counts go to 0).

    >>> simplex(np.array([5.0, 1.0, -2.0]), 4.0).tolist()
    [4.0, 0.0, 0.0]
    """
    order = np.sort(noisy)[::-1]
    excess = np.cumsum(order) - total
    k = np.flatnonzero(order - excess / np.arange(1, len(order) + 1) > 0)[-1]
    return np.clip(noisy - excess[k] / (k + 1), 0.0, None)


def histograms(train: pd.DataFrame, params: Params) -> dict[str, np.ndarray]:
    """Each released column's counts over the gate's bins (numeric: the public edges, then missing)
    or labels (the declared ones and those the rows hold, then missing). Derived columns are left
    out: a release computes them from their source column."""
    out = {}
    for col in _columns(params):
        if col in params.derived:
            continue
        spec = params.schema_[col]
        values = train[col]
        if spec.type == "numeric":
            edges = bin_edges(spec)
            counts = np.histogram(np.clip(values.dropna(), edges[0], edges[-1]), bins=edges)[0]
        else:
            labels = values.dropna().astype(str)
            declared = [str(c) for c in spec.categories or []]
            counts = labels.value_counts().reindex(sorted(set(declared) | set(labels)), fill_value=0).to_numpy()
        out[col] = np.append(counts, values.isna().sum()).astype(float)
    return out


def _upper(counts: dict[str, np.ndarray], shares: dict[str, np.ndarray], rows: int, rounds: int,
           rng: np.random.Generator) -> tuple[float, str]:
    """fidelity_js's upper bound for `rows` synthetic rows drawn from `shares` against the real
    `counts`, and the column that drove it."""
    beyond = {}
    for col, real in counts.items():
        n = int(real.sum())
        syn = rng.multinomial(rows, shares[col]).astype(float)
        draws_r = rng.multinomial(n, real / n, size=rounds).astype(float)
        draws_s = rng.multinomial(rows, syn / rows, size=rounds).astype(float)
        js = _js(np.vstack([real, draws_r]), np.vstack([syn, draws_s]))
        beyond[col] = beyond_chance(js)[0]
    worst = np.max(list(beyond.values()), axis=0)
    return stats.interval(worst)["upper"], max(beyond, key=lambda c: beyond[c][0])


def floor_at(counts: dict[str, np.ndarray], epsilon: float, delta: float, *, rows: int, neighbouring: str,
             rounds: int, seed: int) -> tuple[float, str]:
    """The floor at (epsilon, delta): the median over DRAWS noise draws of the reference's upper
    bound, and the column that drove it most often."""
    bins = np.array([len(c) for c in counts.values()], dtype=float)
    weights = bins / bins.sum()
    # column j's noise sigma / sqrt(w_j): one Gaussian mechanism on the histograms scaled by
    # sqrt(w_j) / sigma, of L2 sensitivity 1 / sigma (each histogram moves by one count a row, two
    # counts under replace-one)
    unit = analytic_gaussian_sigma(epsilon, delta, math.sqrt(2.0) if neighbouring == "replace-one" else 1.0)
    rng = np.random.default_rng([seed, 7])
    uppers, drivers = [], []
    for _ in range(DRAWS):
        shares = {}
        for (col, real), w in zip(counts.items(), weights):
            kept = simplex(real + rng.normal(0.0, unit / math.sqrt(w), len(real)), float(real.sum()))
            shares[col] = kept / kept.sum()
        upper, driver = _upper(counts, shares, rows, rounds, rng)
        uppers.append(upper)
        drivers.append(driver)
    return float(np.median(uppers)), max(set(drivers), key=drivers.count)


def marginal_floor(train: pd.DataFrame, params: Params, epsilon: float, delta: float, rows: int) -> dict:
    """The floor at the release's (epsilon, delta) for `rows` synthetic rows, the column that drove
    it, and the smallest multiple of epsilon on LADDER whose floor meets the threshold (None: none
    up to 10 times)."""
    vp, threshold = params.validate_, params.gates.spec("fidelity_js").threshold
    counts = histograms(train, params)
    common = {"rows": rows, "neighbouring": params.privacy.neighbouring, "rounds": vp.bootstrap_rounds,
              "seed": vp.seed}
    upper, driver = floor_at(counts, epsilon, delta, **common)
    reachable = None
    if upper > threshold:
        reachable = next((epsilon * k for k in LADDER
                          if floor_at(counts, epsilon * k, delta, **common)[0] <= threshold), None)
    return {"epsilon": epsilon, "delta": delta, "upper": round(upper, 4), "driven_by": driver,
            "reachable_at_epsilon": reachable}
