"""Record-level leakage and membership inference of a synthetic table against its training rows.

Members are training rows, non-members holdout rows the generator never saw. Distances use the
mixed-type encoding of the public schema (numerics scaled by their declared range, categoricals
one-hot, missing as its own value) and sklearn's nearest-neighbour search, never a dense n x n
matrix. Every figure is an aggregate: shares, quantiles, ROC points.

- leakage: exact matches and near-duplicates (against the natural holdout-to-train rates), the
  DCR share (is a synthetic row closer to a training row than to a row of an equally large
  holdout? 0.5 is ideal) and the NNDR (nearest over second-nearest training row distance);
- membership inference: a distance attack (the closer a record's nearest synthetic row, the more
  likely a member) and a DOMIAS-style density attack (van Breugel et al., 2023: the density of the
  synthetic rows over that of a reference sample of real non-members at the record, both from a
  Gaussian kernel over the record's nearest neighbours). Each reports ROC-AUC and the TPR at 1 %
  and 0.1 % FPR (Carlini et al., 2022), with bootstrap intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from synthgov.params import Params
from synthgov.params.schema import categories_of
from synthgov.stats import interval, resample_weights, score_counts, weighted_auc

FPR_LEVELS = (0.01, 0.001)


def encode(df: pd.DataFrame, params: Params, cats: dict[str, list[str]], columns: list[str] | None = None
           ) -> np.ndarray:
    """The mixed-type distance encoding of `columns` (default: every column not excluded):
    numerics scaled by their declared bounds, declared (or given) categories one-hot."""
    parts = []
    for col in columns or [c for c in params.schema_ if c not in params.data.exclude]:
        spec = params.schema_[col]
        if spec.type == "numeric":
            values = df[col].to_numpy(dtype=float)
            scaled = (np.clip(values, spec.lower, spec.upper) - spec.lower) / (spec.upper - spec.lower)
            parts.append(np.nan_to_num(scaled, nan=-1.0)[:, None])
        else:
            labels = cats[col]
            codes = pd.Categorical(df[col], categories=labels).codes  # -1 for missing or unknown
            onehot = np.zeros((len(df), len(labels) + 1))
            onehot[np.arange(len(df)), codes] = 1.0
            parts.append(onehot)
    return np.hstack(parts)


def categories(params: Params, *frames: pd.DataFrame) -> dict[str, list[str]]:
    return {c: categories_of(s, *frames, column=c) for c, s in params.schema_.items() if s.type == "categorical"}


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


def tpr_at_fpr(W: np.ndarray, y: np.ndarray, score: np.ndarray, fpr_level: float) -> np.ndarray:
    """Largest TPR whose FPR is at most `fpr_level`, thresholding the score from the top, for every
    row of weights W.

    >>> y, s = np.array([0, 0, 0, 1, 1]), np.array([0.1, 0.2, 0.9, 0.8, 0.95])
    >>> tpr_at_fpr(np.ones((1, 5)), y, s, 0.0).tolist()  # above 0.9 only the 0.95 member
    [0.5]
    """
    pos, neg = score_counts(W, y, score)
    tp, fp = np.cumsum(pos[:, ::-1], axis=1), np.cumsum(neg[:, ::-1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr, fpr = tp / tp[:, -1:], fp / fp[:, -1:]
    return np.where(fpr <= fpr_level, tpr, 0.0).max(axis=1)


def roc_summary(y: np.ndarray, score: np.ndarray, *, rounds: int, seed: int) -> dict[str, Any]:
    """ROC-AUC and TPR at the FPR levels with bootstrap intervals, and a downsampled ROC curve."""
    W = resample_weights(len(y), rounds=rounds, seed=seed)
    out: dict[str, Any] = {"roc_auc": interval(weighted_auc(W, y, score))}
    for level in FPR_LEVELS:
        out[f"tpr_at_{level:g}_fpr"] = interval(tpr_at_fpr(W, y, score, level))
    order = np.argsort(-score, kind="stable")
    tpr = np.cumsum(y[order] == 1) / max(1, (y == 1).sum())
    fpr = np.cumsum(y[order] == 0) / max(1, (y == 0).sum())
    keep = np.unique(np.linspace(0, len(y) - 1, 101).astype(int))
    out["roc_curve"] = {"fpr": np.round(np.r_[0.0, fpr[keep]], 4).tolist(),
                        "tpr": np.round(np.r_[0.0, tpr[keep]], 4).tolist()}
    return out


def _log_kernel_density(index: NearestNeighbors, n_index: int, queries: np.ndarray, k: int, bandwidth: float
                        ) -> np.ndarray:
    """log of a Gaussian kernel density at each query, summed over its k nearest indexed rows."""
    d, _ = index.kneighbors(queries, n_neighbors=min(k, n_index))
    z = -(d ** 2) / (2 * bandwidth ** 2)
    top = z.max(axis=1, keepdims=True)
    return (top[:, 0] + np.log(np.exp(z - top).sum(axis=1))) - np.log(n_index)


def membership_inference(syn: np.ndarray, members: np.ndarray, non_members: np.ndarray, reference: np.ndarray,
                         *, neighbors: int, rounds: int, seed: int) -> dict[str, Any]:
    """The distance attack and the DOMIAS-style density attack; members and non-members equally many."""
    queries = np.vstack([members, non_members])
    y = np.r_[np.ones(len(members), dtype=int), np.zeros(len(non_members), dtype=int)]
    syn_index = NearestNeighbors().fit(syn)
    ref_index = NearestNeighbors().fit(reference)
    # bandwidth: the median nearest-neighbour distance within the reference sample (a real scale)
    ref_nn = ref_index.kneighbors(reference[: min(len(reference), 2000)], n_neighbors=2)[0][:, 1]
    bandwidth = float(max(np.median(ref_nn), 1e-3))
    d_syn = syn_index.kneighbors(queries, n_neighbors=1)[0][:, 0]
    log_p_syn = _log_kernel_density(syn_index, len(syn), queries, neighbors, bandwidth)
    log_p_ref = _log_kernel_density(ref_index, len(reference), queries, neighbors, bandwidth)
    return {
        "members": len(members), "non_members": len(non_members), "reference_rows": len(reference),
        "bandwidth": bandwidth,
        "distance": roc_summary(y, -d_syn, rounds=rounds, seed=seed),
        "density_ratio": roc_summary(y, log_p_syn - log_p_ref, rounds=rounds, seed=seed),
    }
