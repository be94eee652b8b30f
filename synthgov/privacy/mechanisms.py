"""The DP mechanisms synthgov runs itself: the only place, besides Opacus' DPOptimizer (set up in
synthgov/synthesizers/dpar.py for training), where noise is added.

Each source row contributes one value per column, so a column's histogram has L1 sensitivity 1
and a rank (for quantiles) changes by at most 1 when a row is added or removed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd



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
