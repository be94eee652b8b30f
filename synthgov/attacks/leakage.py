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


def leakage(syn: np.ndarray, train: np.ndarray, holdout: np.ndarray, *, near_quantile: float, seed: int
            ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Near-duplicates, DCR share and NNDR for equally many training and holdout rows.

    A near-duplicate lies within the `near_quantile` quantile of the holdout-to-train nearest
    distances (so the natural rate is about `near_quantile`, more where real rows repeat).
    Returns the report and the distance arrays for the histograms.
    """
    nn_train = NearestNeighbors(n_neighbors=2).fit(train)
    d_syn, _ = nn_train.kneighbors(syn)
    d_hold_train, _ = nn_train.kneighbors(holdout)
    d_syn_hold = NearestNeighbors(n_neighbors=1).fit(holdout).kneighbors(syn)[0][:, 0]
    dcr_train, dcr_hold = d_syn[:, 0], d_syn_hold
    closer = (dcr_train < dcr_hold) + 0.5 * (dcr_train == dcr_hold)
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
        "dcr_share": _share_interval(closer, seed),
        "dcr_median": {"train": float(np.median(dcr_train)), "holdout": float(np.median(dcr_hold))},
        "near_duplicate": {"distance_threshold": tau, "quantile": near_quantile,
                           "synthetic_share": float(near_syn.mean()), "natural_share": float(near_nat.mean()),
                           "excess": interval(diff_w)},
        "nndr": {"synthetic_median": float(np.median(nndr_syn)), "holdout_median": float(np.median(nndr_hold)),
                 "synthetic_share_below_holdout_p05": _share_interval(nndr_syn < nndr_low, seed),
                 "holdout_p05": nndr_low},
    }
    return report, {"dcr_train": dcr_train, "dcr_holdout": dcr_hold}
