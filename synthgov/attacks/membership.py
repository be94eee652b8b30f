"""Membership inference against a synthetic table: is a record one of the training rows?

Members are training rows, non-members holdout rows the generator never saw. Two attacks: a
distance attack (the closer a record's nearest synthetic row, the more likely a member) and a
DOMIAS-style density attack (van Breugel et al., 2023: the density of the synthetic rows over that
of a reference sample of real non-members at the record, both from a Gaussian kernel over the
record's nearest neighbours). Each reports ROC-AUC and the TPR at 1 % and 0.1 % FPR (Carlini et
al., 2022), with bootstrap intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from synthgov.stats import interval, resample_weights, score_counts, weighted_auc

FPR_LEVELS = (0.01, 0.001)


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
