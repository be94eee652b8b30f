"""The DP mechanisms synthgov runs itself: with Opacus' DPOptimizer (set up in
synthgov/privacy/dpsgd.py for training), the only places where noise is added.

Each source row contributes one value per column, so a column's histogram has L1 sensitivity 1
under add-remove neighbours (2 under replace-one), and a rank (for quantiles) changes by at most
1 either way. Every generator passed in is the run's DP randomness (synthgov.privacy.randomness):
secret in a release run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MAX_POINTS = 16  # the most points found in one column (the largest noisy counts)


def dp_counts(counts: dict[str, int], *, l1_sensitivity: float, epsilon: float, rng: np.random.Generator
              ) -> dict[str, int]:
    """Counts released with the Laplace mechanism: epsilon-DP for the vector's L1 sensitivity.

    Each count gets Laplace(l1_sensitivity / epsilon) noise; the result is rounded and clipped at
    zero (post-processing). Only the noisy counts leave this function.

    >>> out = dp_counts({"rows": 1000}, l1_sensitivity=1, epsilon=1.0, rng=np.random.default_rng(0))
    >>> abs(out["rows"] - 1000) < 20
    True
    """
    scale = l1_sensitivity / epsilon
    return {k: max(0, int(round(v + rng.laplace(0.0, scale)))) for k, v in counts.items()}


def dp_categories(values: pd.Series, *, epsilon: float, delta: float, rng: np.random.Generator,
                  sensitivity: int = 1) -> list[str]:
    """Categories of a column released by a stability-based histogram: (epsilon, delta)-DP.

    Laplace(s / epsilon) noise is added to each observed value's count, with s = 1 for add-remove
    neighbours (one row moves one count) and 2 for replace-one (two counts), and only values whose
    noisy count clears tau = 1 + (s / epsilon) ln(s / (2 delta)) are released, so a value held by
    one row is released with probability at most delta / s. Only the kept labels (sorted) leave
    this function: no count, not even how many labels were left out.
    """
    counts = values.dropna().astype(str).value_counts()
    scale = sensitivity / epsilon
    noisy = counts.to_numpy(dtype=float) + rng.laplace(0.0, scale, size=len(counts))
    tau = 1.0 + scale * math.log(sensitivity / (2.0 * delta))
    return sorted(counts.index[noisy > tau].tolist())


def dp_points(values: np.ndarray, *, lower: float, upper: float, integer: bool, epsilon: float, delta: float,
              min_count: float, rng: np.random.Generator, sensitivity: int = 1, max_points: int = MAX_POINTS,
              max_domain: int = 10_000) -> list[float]:
    """Values held by at least `min_count` rows each (the heaps of a numeric column: the 40 of hours
    worked a week, a plan's fixed payment), released with DP; at most `max_points`, the largest.

    An integer column whose public range holds at most `max_domain` values gets a Laplace(s /
    epsilon) noisy count for every value of that range, held or not (the keys are public: pure
    epsilon-DP, no delta), and a value is kept when its noisy count clears both `min_count` and
    (s / epsilon) ln(range / 0.05), which noise alone reaches somewhere in the range with
    probability under 5 % (a value held by a few rows, under the share, may be kept when its noise
    is large: a real value, released exactly). Any other column takes the stability-based histogram of
    `dp_categories` over the values it holds ((epsilon, delta)-DP; its threshold keeps a value of
    one row with probability at most delta / s). Values are clipped to the public bounds first.
    Only the kept values (sorted) leave this function.

    >>> x = np.r_[np.full(600, 40.0), np.full(300, 50.0), np.arange(1.0, 100.0).repeat(2)]
    >>> dp_points(x, lower=1, upper=99, integer=True, epsilon=0.5, delta=0.0, min_count=50,
    ...           rng=np.random.default_rng(0))
    [40.0, 50.0]
    """
    x = np.clip(values[~np.isnan(values)], lower, upper)
    scale = sensitivity / epsilon
    size = int(upper - lower) + 1
    if integer and size <= max_domain:
        keys = lower + np.arange(size, dtype=float)
        counts = np.bincount(np.rint(x - lower).astype(np.int64), minlength=size)[:size].astype(float)
        tau = scale * math.log(size / 0.05)
    else:
        keys, counts = np.unique(x, return_counts=True)
        counts = counts.astype(float)
        tau = 1.0 + scale * math.log(sensitivity / (2.0 * delta))
    noisy = counts + rng.laplace(0.0, scale, size=len(counts))
    kept = np.flatnonzero(noisy >= max(tau, min_count))
    kept = kept[np.argsort(-noisy[kept], kind="stable")][:max_points]
    return sorted(float(k) for k in keys[kept])


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
