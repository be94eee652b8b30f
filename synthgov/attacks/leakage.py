"""Record-level leakage of a synthetic table against its training rows.

Exact matches and near-duplicates (against the natural holdout-to-train rates), the DCR share (is
a synthetic row closer to a training row than to a row of an equally large holdout? 0.5 is
ideal) and the NNDR (nearest over second-nearest training row distance), on the mixed-type
encoding (synthgov.attacks.encoding) with sklearn's nearest-neighbour search, never a dense n x n
matrix. Every figure is an aggregate: shares and quantiles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from synthgov.stats import interval, resample_weights


def _rows_hash(df: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(df.reset_index(drop=True), index=False).to_numpy()


def exact_match_share(candidate: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Share of `candidate` rows that equal some `reference` row on every column.

    >>> ref = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    >>> exact_match_share(pd.DataFrame({"a": [1.0, 3.0], "b": ["x", "x"]}), ref)
    0.5
    """
    if len(candidate) == 0:
        return float("nan")
    return float(np.isin(_rows_hash(candidate), _rows_hash(reference)).mean())


def _share_interval(hits: np.ndarray, seed: int, rounds: int = 200) -> dict[str, float]:
    hits = np.asarray(hits, dtype=float)
    return interval(resample_weights(len(hits), rounds=rounds, seed=seed) @ hits / len(hits))


# the nearest rows each synthetic row keeps per reference table for the DCR bootstrap: a resample
# leaves out a row with probability 1/e, so all 24 are out with probability 4e-11
DCR_NEIGHBOURS = 24


def _nearest_present(dist: np.ndarray, idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each row's distance to its nearest reference row that the resample keeps (weight > 0),
    from its `k` nearest (dist, idx: rows x k, ascending); the k-th when none is kept."""
    present = weights[idx] > 0
    first = np.where(present.any(axis=1), present.argmax(axis=1), dist.shape[1] - 1)
    return dist[np.arange(len(dist)), first]


def dcr_share(d_train: np.ndarray, i_train: np.ndarray, d_hold: np.ndarray, i_hold: np.ndarray, *,
              n_train: int, n_hold: int, seed: int, rounds: int = 200) -> dict[str, float]:
    """The share of synthetic rows closer to a training row than to a holdout row (a tie counts
    half), with a bootstrap of all three tables.

    Each synthetic row's k nearest rows of either table (d_*, i_*: rows x k, ascending) are enough:
    in a resample the nearest kept one decides. Resampling the synthetic rows alone treats the two
    reference tables as fixed, but which real rows happened to fall on which side moves the share
    as much: the synthetic rows near one reference row all flip with it. Over 40 independent real
    samples put through the attacks as if synthetic (benchmarks/dcr_null.py; Adult, 1,000 training
    rows, 250 attacked a side) the share spread by 0.025 where the synthetic rows' bootstrap assumed
    0.015 (9 of 40 lower bounds over 0.5); this one assumes 0.027 (0 of 40).

    >>> d = np.array([[0.0, 1.0], [2.0, 3.0]]); i = np.array([[0, 1], [1, 0]])
    >>> dcr_share(d, i, d + 1, i, n_train=2, n_hold=2, seed=0, rounds=20)["point"]
    1.0
    """
    Ws = resample_weights(len(d_train), rounds=rounds, seed=seed)
    Wt = resample_weights(n_train, rounds=rounds, seed=seed + 1)
    Wh = resample_weights(n_hold, rounds=rounds, seed=seed + 2)
    shares = np.empty(rounds + 1)
    for b in range(rounds + 1):
        to_train, to_hold = _nearest_present(d_train, i_train, Wt[b]), _nearest_present(d_hold, i_hold, Wh[b])
        hits = (to_train < to_hold) + 0.5 * (to_train == to_hold)
        shares[b] = Ws[b] @ hits / len(hits)
    return interval(shares)


def leakage(syn: np.ndarray, train: np.ndarray, holdout: np.ndarray, *, near_quantile: float, seed: int
            ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Near-duplicates, DCR share and NNDR for equally many training and holdout rows.

    A near-duplicate lies within the `near_quantile` quantile of the holdout-to-train nearest
    distances (so the natural rate is about `near_quantile`, more where real rows repeat).
    Returns the report and the distance arrays for the histograms.
    """
    nn_train = NearestNeighbors(n_neighbors=2).fit(train)
    d_syn, i_syn = nn_train.kneighbors(syn, n_neighbors=min(DCR_NEIGHBOURS, len(train)))  # NNDR reads the 2nd
    d_hold_train, _ = nn_train.kneighbors(holdout)
    d_syn_hold, i_syn_hold = NearestNeighbors().fit(holdout).kneighbors(
        syn, n_neighbors=min(DCR_NEIGHBOURS, len(holdout)))
    dcr_train, dcr_hold = d_syn[:, 0], d_syn_hold[:, 0]
    share = dcr_share(d_syn, i_syn, d_syn_hold, i_syn_hold, n_train=len(train), n_hold=len(holdout), seed=seed)
    tau = float(np.quantile(d_hold_train[:, 0], near_quantile))
    near_syn, near_nat = dcr_train <= tau, d_hold_train[:, 0] <= tau
    with np.errstate(invalid="ignore", divide="ignore"):
        nndr_syn = np.where(d_syn[:, 1] > 0, d_syn[:, 0] / d_syn[:, 1], 1.0)
        nndr_hold = np.where(d_hold_train[:, 1] > 0, d_hold_train[:, 0] / d_hold_train[:, 1], 1.0)
    rng = np.random.default_rng(seed)
    diff_w = resample_weights(len(near_syn), rounds=200, seed=seed) @ near_syn / len(near_syn) - \
        resample_weights(len(near_nat), rounds=200, seed=int(rng.integers(1 << 30))) @ near_nat / len(near_nat)
    nndr_low = float(np.quantile(nndr_hold, 0.05))
    report = {
        "rows_each": len(train),
        "dcr_share": share,
        "dcr_median": {"train": float(np.median(dcr_train)), "holdout": float(np.median(dcr_hold))},
        "near_duplicate": {"distance_threshold": tau, "quantile": near_quantile,
                           "synthetic_share": float(near_syn.mean()), "natural_share": float(near_nat.mean()),
                           "excess": interval(diff_w)},
        "nndr": {"synthetic_median": float(np.median(nndr_syn)), "holdout_median": float(np.median(nndr_hold)),
                 "synthetic_share_below_holdout_p05": _share_interval(nndr_syn < nndr_low, seed),
                 "holdout_p05": nndr_low},
    }
    return report, {"dcr_train": dcr_train, "dcr_holdout": dcr_hold}
