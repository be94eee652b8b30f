"""DP bounds of a numeric column, for a drafted schema (synthgov init): nothing copied from the rows.

The real line is cut into a public grid of buckets fixed in advance: 0, then +-2^(j/2) for
j = -20 ... 80 (half-octaves from about 0.001 to 10^12). Every bucket's count gets Laplace noise of
scale s / epsilon (s = 1 for add-remove, 2 for replace-one: one row moves one or two counts), which
makes the noisy histogram epsilon-DP; the bounds are post-processing of it: the outer edges of the
lowest and the highest buckets whose noisy count clears a threshold that an empty bucket passes
with probability under 5 % over the whole grid. Values beyond the bounds are clipped to them in
training (and counted with DP as values outside the schema), so at a small epsilon or on a small
table the bounds squeeze sparse tails: declare public ranges instead wherever they are known.

The same noisy histogram also tells, at no further cost, whether zeros are common: the bucket
[0, 2^-10) holds the exact zeros of a zero-inflated amount, and when its noisy count clears the
threshold and is at least `ZERO_SHARE` of the noisy mass, the drafted schema declares 0 a point
(its own code, released exactly: a bin would smear it uniformly over its width).
"""

from __future__ import annotations

import math

import numpy as np

_EXPONENTS = np.arange(-20, 81) / 2.0
_MAGNITUDES = 2.0 ** _EXPONENTS  # bucket upper edges for positive values
# the public grid's edges, ascending: -2^40 ... -2^-10, 0, 2^-10 ... 2^40
EDGES = np.concatenate([-_MAGNITUDES[::-1], [0.0], _MAGNITUDES])


ZERO_SHARE = 0.02


def _noisy_grid(values: np.ndarray, epsilon: float, rng: np.random.Generator, sensitivity: int,
                failure: float) -> tuple[np.ndarray, float]:
    """The epsilon-DP histogram on the public grid and the count an empty bucket stays under
    (over the whole grid, with probability 1 - failure)."""
    x = np.asarray(values, dtype=float)
    x = np.clip(x[np.isfinite(x)], EDGES[0], EDGES[-1])
    counts, _ = np.histogram(x, bins=EDGES)
    scale = sensitivity / epsilon
    noisy = counts + rng.laplace(0.0, scale, size=len(counts))
    return noisy, scale * math.log(len(counts) / (2.0 * failure))


def _bounds(noisy: np.ndarray, threshold: float, integer: bool) -> tuple[float, float] | None:
    above = np.flatnonzero(noisy > threshold)
    if not len(above):
        return None
    lower, upper = float(EDGES[above[0]]), float(EDGES[above[-1] + 1])
    if integer:
        lower, upper = float(math.floor(lower)), float(math.ceil(upper))
    if not lower < upper:
        upper = lower + 1.0
    return lower, upper


def dp_bounds(values: np.ndarray, *, epsilon: float, rng: np.random.Generator, sensitivity: int = 1,
              integer: bool = False, failure: float = 0.05) -> tuple[float, float] | None:
    """(lower, upper) from an epsilon-DP histogram on the public grid, or None when no bucket's
    noisy count clears the threshold (too few rows for this epsilon: declare the bounds).

    >>> rng = np.random.default_rng(0)
    >>> dp_bounds(rng.uniform(18, 90, 20000), epsilon=1.0, rng=rng, integer=True)
    (16.0, 91.0)
    """
    return _bounds(*_noisy_grid(values, epsilon, rng, sensitivity, failure), integer)


def dp_bounds_and_zero(values: np.ndarray, *, epsilon: float, rng: np.random.Generator, sensitivity: int = 1,
                       integer: bool = False, failure: float = 0.05) -> tuple[tuple[float, float] | None, bool]:
    """The DP bounds and whether zeros are common, from one epsilon-DP histogram (the second is
    post-processing of the first).

    >>> rng = np.random.default_rng(0)
    >>> amounts = np.where(rng.random(20000) < 0.4, 0.0, rng.lognormal(6, 1, 20000))
    >>> dp_bounds_and_zero(amounts, epsilon=1.0, rng=rng)[1], dp_bounds_and_zero(amounts + 1, epsilon=1.0, rng=rng)[1]
    (True, False)
    """
    noisy, threshold = _noisy_grid(values, epsilon, rng, sensitivity, failure)
    zero = noisy[len(_MAGNITUDES)]  # the bucket [0, 2^-10)
    mass = np.clip(noisy[noisy > threshold], 0, None).sum()
    return _bounds(noisy, threshold, integer), bool(zero > threshold and zero >= ZERO_SHARE * mass)
