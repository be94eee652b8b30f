"""Per-subgroup utility and downstream fairness, on the real holdout, for TSTR and TRTR models.

Groups are the protected attributes (numeric ones by their declared bins) and the declared
intersections (data.intersections, e.g. race x sex). Groups under k rows are reported as too
small and never scored. Fairness metrics come from fairlearn: demographic-parity difference and
ratio and equalized-odds difference; calibration is the expected calibration error per group.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

from synthgov.audit import protected_groups
from synthgov.params import Params


def group_columns(holdout: pd.DataFrame, params: Params) -> dict[str, pd.Series]:
    """Group labels per protected attribute and per declared intersection."""
    groups = {c: protected_groups(holdout, params, c).fillna("(missing)").astype(str)
              for c in params.data.protected}
    for combo in params.data.intersections:
        name = " x ".join(combo)
        parts = [groups[c] if c in groups else holdout[c].fillna("(missing)").astype(str) for c in combo]
        label = parts[0]
        for p in parts[1:]:
            label = label + " & " + p
        groups[name] = label
    return groups


def _rates(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    neg, pos = y == 0, y == 1
    return {"fpr": float(pred[neg].mean()) if neg.any() else math.nan,
            "fnr": float(1 - pred[pos].mean()) if pos.any() else math.nan}


def _group_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    pred = (p >= 0.5).astype(int)
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else math.nan
    return {"roc_auc": auc, "f1": float(f1_score(y, pred, zero_division=0)), **_rates(y, pred)}


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum(pred & y))
    denom = float(np.sum(pred) + np.sum(y))
    return 2 * tp / denom if denom else 0.0


def _significant_drop(y: np.ndarray, p_tstr: np.ndarray, p_trtr: np.ndarray, f1_drop: float,
                      rounds: int, seed: int) -> bool:
    """True when TSTR F1 < (1 - f1_drop) x TRTR F1 even at the upper 95% bootstrap bound."""
    yb, a, b = y.astype(bool), p_tstr >= 0.5, p_trtr >= 0.5
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(rounds):
        i = rng.integers(0, len(y), len(y))
        diffs.append(_f1(yb[i], a[i]) - (1 - f1_drop) * _f1(yb[i], b[i]))
    return bool(np.quantile(diffs, 0.975) < 0)


def subgroup_utility(y: np.ndarray, p_tstr: np.ndarray, p_trtr: np.ndarray, groups: dict[str, pd.Series],
                     params: Params, *, f1_drop: float) -> dict[str, Any]:
    """ROC-AUC, F1, FPR and FNR per group for TSTR and TRTR, the gaps, and the flagged groups.

    A group is flagged when its TSTR F1 is more than `f1_drop` below its TRTR F1, significantly:
    the upper bound of a bootstrap interval of the difference stays below zero.
    """
    k = params.data.min_group_size
    out: dict[str, Any] = {}
    flagged = []
    for attr, labels in groups.items():
        rows = {}
        for g in sorted(labels.unique()):
            idx = (labels == g).to_numpy()
            if idx.sum() < k or y[idx].sum() < k:  # F1 and FNR rest on the group's positives
                rows[g] = {"too_small": True}
                continue
            tstr, trtr = _group_scores(y[idx], p_tstr[idx]), _group_scores(y[idx], p_trtr[idx])
            gap = {m: tstr[m] - trtr[m] for m in tstr}
            flag = trtr["f1"] > 0 and tstr["f1"] < (1 - f1_drop) * trtr["f1"] and _significant_drop(
                y[idx], p_tstr[idx], p_trtr[idx], f1_drop, params.validate_.bootstrap_rounds,
                params.validate_.seed)
            rows[g] = {"rows": int(idx.sum()), "tstr": tstr, "trtr": trtr, "gap": gap, "flagged": flag}
            if flag:
                flagged.append(f"{attr}={g}")
        out[attr] = rows
    return {"groups": out, "flagged": flagged}


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE over equal-width probability bins.

    >>> round(expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 1.0, 0.0])), 6)
    0.0
    """
    if len(y) == 0:
        return math.nan
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(ece)


def fairness_metrics(y: np.ndarray, p: np.ndarray, sensitive: pd.Series, k: int) -> dict[str, Any]:
    """fairlearn's demographic-parity difference/ratio and equalized-odds difference, and ECE by group."""
    from fairlearn.metrics import (demographic_parity_difference, demographic_parity_ratio,
                                   equalized_odds_difference)

    keep = sensitive.map(sensitive.value_counts()).to_numpy() >= k  # only groups of >= k rows
    y, p, s = y[keep], p[keep], sensitive.to_numpy()[keep]
    if len(np.unique(s)) < 2:
        return {"demographic_parity_difference": math.nan, "demographic_parity_ratio": math.nan,
                "equalized_odds_difference": math.nan, "ece_by_group": {}, "ece_gap": math.nan}
    pred = (p >= 0.5).astype(int)
    ece = {str(g): expected_calibration_error(y[s == g], p[s == g]) for g in np.unique(s)}
    return {"demographic_parity_difference": float(demographic_parity_difference(y, pred, sensitive_features=s)),
            "demographic_parity_ratio": float(demographic_parity_ratio(y, pred, sensitive_features=s)),
            "equalized_odds_difference": float(equalized_odds_difference(y, pred, sensitive_features=s)),
            "ece_by_group": ece, "ece_gap": float(max(ece.values()) - min(ece.values()))}


def _group_gaps(W: np.ndarray, y: np.ndarray, pred: np.ndarray, G: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Demographic-parity and equalized-odds differences for every row-weighting in W (rounds x n).

    A rate is scored only when its denominator (the group's rows, positives or negatives in the
    original holdout) holds at least k rows; the others are NaN and left out of the spread.
    """
    def rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        enough = (den[:, None] * G).sum(axis=0) >= k
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (W @ (num[:, None] * G)) / (W @ (den[:, None] * G))
        r[:, ~enough] = np.nan
        return r

    sel = rate(pred.astype(float), np.ones(len(y)))
    tpr = rate((pred & (y == 1)).astype(float), (y == 1).astype(float))
    fpr = rate((pred & (y == 0)).astype(float), (y == 0).astype(float))
    def spread(m: np.ndarray) -> np.ndarray:
        if np.isnan(m).all():
            return np.full(m.shape[0], np.nan)
        with np.errstate(invalid="ignore"):
            return np.nanmax(m, axis=1) - np.nanmin(m, axis=1)

    return {"dp": spread(sel), "eo": np.maximum(spread(tpr), spread(fpr))}


def gap_bootstrap(y: np.ndarray, pred_s: np.ndarray, pred_r: np.ndarray, sensitive: pd.Series, *,
                  k: int, rounds: int, seed: int) -> dict[str, dict[str, float]]:
    """Intervals of |metric(TSTR)| - |metric(TRTR)| for the demographic-parity and equalized-odds
    differences, over one seeded bootstrap of the holdout rows (groups of >= k rows only).

    The same group rates as fairlearn's metrics, computed for all resamples at once as
    multiplicity-weighted matrix products (fairlearn's MetricFrame is too slow to resample).
    """
    labels = sensitive.to_numpy()
    sizes = pd.Series(labels).value_counts()
    kept = [g for g in sizes.index if sizes[g] >= k]
    if len(kept) < 2:
        nan = {"point": math.nan, "lower": math.nan, "upper": math.nan}
        return {"dp_difference_gap": nan, "eo_difference_gap": nan}
    G = np.stack([labels == g for g in kept], axis=1).astype(float)
    rng = np.random.default_rng(seed)
    W = np.vstack([np.ones(len(y))] + [np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))
                                       for _ in range(rounds)]).astype(float)
    a, b = _group_gaps(W, y, pred_s.astype(bool), G, k), _group_gaps(W, y, pred_r.astype(bool), G, k)
    out = {}
    for key, name in (("dp", "dp_difference_gap"), ("eo", "eo_difference_gap")):
        gap = a[key] - b[key]
        draws = gap[1:][~np.isnan(gap[1:])]
        out[name] = {"point": float(gap[0]), "lower": float(np.quantile(draws, 0.025)),
                     "upper": float(np.quantile(draws, 0.975))}
    return out
