"""Bootstrap intervals as matrix products, shared by validation and the attacks.

A seeded bootstrap is a matrix of row weights (row 0 all ones, the point; rows 1..rounds the
resamples), so every weighted metric gets its point and all its draws from one product.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse


def resample_weights(n_rows: int, *, rounds: int, seed: int) -> np.ndarray:
    """Row multiplicities of a seeded bootstrap: row 0 is all ones (the point estimate), rows
    1..rounds are resamples. Metrics computed as weighted sums over these rows get their point and
    their bootstrap draws from one matrix product.

    >>> W = resample_weights(4, rounds=3, seed=0)
    >>> W.shape, W[0].tolist(), W.sum(axis=1).tolist()
    ((4, 4), [1.0, 1.0, 1.0, 1.0], [4.0, 4.0, 4.0, 4.0])
    """
    rng = np.random.default_rng(seed)
    W = np.ones((rounds + 1, n_rows))
    for r in range(1, rounds + 1):
        W[r] = np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows)
    return W


def wilson(k: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a rate k/n (k may be a sum of probabilities).

    Unlike a bootstrap it has width where the sample sits at 0 or 1 (0 of 10 is not 0 %).

    >>> [round(x, 3) for x in wilson(0, 10)]
    [0.0, 0.278]
    >>> wilson(0, 11)[0], wilson(11, 11)[1]  # exactly the rate at 0 and 1 (no rounding past it)
    (0.0, 1.0)
    """
    if n == 0:
        return 0.0, 1.0
    p, d = k / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def interval(values: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Point (values[0]) and percentile interval of the bootstrap draws (values[1:]).

    NaN draws are left out; with fewer than half the draws defined, the bounds are NaN (a gate
    on them then fails).

    >>> interval(np.array([0.5, 0.4, 0.6, 0.5, 0.45, 0.55]))["point"]
    0.5
    """
    values = np.asarray(values, dtype=float)
    point, draws = float(values[0]), values[1:][~np.isnan(values[1:])]
    if math.isnan(point) or len(draws) < max(1, (len(values) - 1) // 2):
        return {"point": point, "lower": math.nan, "upper": math.nan}
    alpha = (1 - level) / 2
    return {"point": point, "lower": float(np.quantile(draws, alpha)),
            "upper": float(np.quantile(draws, 1 - alpha))}


def widened(ci: dict[str, float], sd: float | None, z: float = 1.96) -> dict[str, float]:
    """`ci` with an independent error of standard deviation `sd` (the training sample's chance, which
    a bootstrap of the evaluation rows cannot see) added to each side in quadrature; unchanged
    where there is none.

    >>> round(widened({"point": 0.1, "lower": 0.07, "upper": 0.13}, 0.02)["upper"], 4)
    0.1494
    """
    if sd is None or math.isnan(sd) or math.isnan(ci["lower"]):
        return ci
    p, lo, hi = ci["point"], ci["lower"], ci["upper"]
    return {"point": p, "lower": round(p - math.hypot(p - lo, z * sd), 12), "upper": round(p + math.hypot(hi - p, z * sd), 12)}


def weighted_auc(W: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC-AUC for every row of weights W (one value per resample); ties count half.

    >>> y, p = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    >>> float(weighted_auc(np.ones((1, 4)), y, p)[0])  # sklearn's roc_auc_score: 0.75
    0.75
    """
    pos, neg = score_counts(W, y, p)
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def score_counts(W: np.ndarray, y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted positive and negative counts per distinct score (ascending), per row of W."""
    values, inverse = np.unique(p, return_inverse=True)
    onehot = sparse.csr_matrix((np.ones(len(p)), (np.arange(len(p)), inverse)), shape=(len(p), len(values)))
    return np.asarray((onehot.T @ (W * (y == 1)).T).T), np.asarray((onehot.T @ (W * (y == 0)).T).T)


UNDER_K = "under k"


def suppress(count: int, k: int) -> int | str:
    """A count of private rows as it may be reported: itself, or "under k" when 1 <= count < k
    (a zero stays: it identifies nobody).

    >>> suppress(0, 20), suppress(5, 20), suppress(20, 20)
    (0, 'under k', 20)
    """
    count = int(count)
    return UNDER_K if 0 < count < k else count
