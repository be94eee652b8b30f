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

from synthgov.audit.bias import protected_groups
from synthgov.params import Params
from synthgov.stats import interval, resample_weights, weighted_auc, widened


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


def _group_draws(W: np.ndarray, y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """ROC-AUC, F1, FPR and FNR at threshold 0.5, for every row of weights W (point and resamples)."""
    yb, pred = y.astype(bool), p >= 0.5
    tp, fp, fn, tn = (W @ (a & b).astype(float) for a, b in
                      ((pred, yb), (pred, ~yb), (~pred, yb), (~pred, ~yb)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"roc_auc": weighted_auc(W, y, p),
                "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),  # sklearn's zero_division=0
                "fpr": fp / (fp + tn), "fnr": fn / (fn + tp)}


def subgroup_utility(y: np.ndarray, p_tstr: np.ndarray, p_trtr: np.ndarray, groups: dict[str, pd.Series],
                     params: Params, *, f1_drop: float) -> dict[str, Any]:
    """ROC-AUC, F1, FPR and FNR per group for TSTR and TRTR, the gaps, all with bootstrap intervals,
    and the flagged groups.

    One seeded bootstrap of the holdout rows serves every group. A group is flagged when its TSTR
    F1 is more than `f1_drop` below its TRTR F1, significantly: the upper bound of the interval of
    TSTR F1 - (1 - f1_drop) x TRTR F1 stays below zero. Groups under k rows, or with fewer than k
    positives (F1 and FNR rest on them), are reported as too small and not scored.
    """
    k, vp = params.data.min_group_size, params.validate_
    W = resample_weights(len(y), rounds=vp.bootstrap_rounds, seed=vp.seed)
    out: dict[str, Any] = {}
    flagged = []
    for attr, labels in groups.items():
        rows = {}
        for g in sorted(labels.unique()):
            idx = (labels == g).to_numpy()
            if idx.sum() < k or y[idx].sum() < k:
                rows[g] = {"too_small": True}
                continue
            tstr, trtr = _group_draws(W[:, idx], y[idx], p_tstr[idx]), _group_draws(W[:, idx], y[idx], p_trtr[idx])
            drop = interval(tstr["f1"] - (1 - f1_drop) * trtr["f1"])
            flag = bool(trtr["f1"][0] > 0 and drop["point"] < 0 and drop["upper"] < 0)
            rows[g] = {"rows": int(idx.sum()),
                       "tstr": {m: interval(v) for m, v in tstr.items()},
                       "trtr": {m: interval(v) for m, v in trtr.items()},
                       "gap": {m: interval(tstr[m] - trtr[m]) for m in tstr},
                       "f1_drop_margin": drop, "flagged": flag}
            if flag:
                flagged.append(f"{attr}={g}")
        out[attr] = rows
    return {"groups": out, "flagged": flagged, "bootstrap_rounds": vp.bootstrap_rounds}


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
    """fairlearn's demographic-parity difference/ratio (groups of >= k rows) and equalized-odds
    difference (groups that also hold >= k positives and >= k negatives), and ECE by group."""
    from fairlearn.metrics import (demographic_parity_difference, demographic_parity_ratio,
                                   equalized_odds_difference)

    keep = sensitive.map(sensitive.value_counts()).to_numpy() >= k  # only groups of >= k rows
    y, p, s = y[keep], p[keep], sensitive.to_numpy()[keep]
    if len(np.unique(s)) < 2:
        return {"demographic_parity_difference": math.nan, "demographic_parity_ratio": math.nan,
                "equalized_odds_difference": math.nan, "ece_by_group": {}, "ece_gap": math.nan}
    pred = (p >= 0.5).astype(int)
    ece = {str(g): expected_calibration_error(y[s == g], p[s == g]) for g in np.unique(s)}
    # equalized odds over the groups that also hold at least k positives and k negatives
    frame = pd.DataFrame({"s": s, "y": y})
    classes = frame.groupby("s")["y"].agg(["sum", "count"])
    eo_groups = classes.index[(classes["sum"] >= k) & (classes["count"] - classes["sum"] >= k)]
    eo_rows = np.isin(s, eo_groups)
    eo = (float(equalized_odds_difference(y[eo_rows], pred[eo_rows], sensitive_features=s[eo_rows]))
          if len(eo_groups) >= 2 else math.nan)
    return {"demographic_parity_difference": float(demographic_parity_difference(y, pred, sensitive_features=s)),
            "demographic_parity_ratio": float(demographic_parity_ratio(y, pred, sensitive_features=s)),
            "equalized_odds_difference": eo,
            "ece_by_group": ece, "ece_gap": float(max(ece.values()) - min(ece.values()))}


def _group_gaps(W: np.ndarray, y: np.ndarray, p: np.ndarray, G: np.ndarray, k: int,
                bins: int = 10) -> dict[str, np.ndarray]:
    """Demographic-parity difference and ratio, equalized-odds difference, and ECE per group and
    its spread, for every row-weighting in W (rounds x n).

    Selection rates are scored for groups of at least k rows; TPR and FPR for groups that also hold
    at least k positives and k negatives (fairness_metrics applies the same rule); the others are
    NaN and left out of the spread.
    """
    pred = p >= 0.5

    def rate(num: np.ndarray, den: np.ndarray, enough: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (W @ (num[:, None] * G)) / (W @ (den[:, None] * G))
        r[:, ~enough] = np.nan
        return r

    def spread(m: np.ndarray, ratio: bool = False) -> np.ndarray:
        if np.isnan(m).all():
            return np.full(m.shape[0], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            lo, hi = np.nanmin(m, axis=1), np.nanmax(m, axis=1)
            return lo / hi if ratio else hi - lo

    sized = G.sum(axis=0) >= k
    both = sized & ((y == 1) @ G >= k) & ((y == 0) @ G >= k)  # equalized odds needs both classes
    sel = rate(pred.astype(float), np.ones(len(y)), sized)
    tpr = rate((pred & (y == 1)).astype(float), (y == 1).astype(float), both)
    fpr = rate((pred & (y == 0)).astype(float), (y == 0).astype(float), both)
    # ECE per group: sum over probability bins of |sum of (y - p)| over the group's rows in the bin
    which = np.minimum((p * bins).astype(int), bins - 1)
    M = (G[:, :, None] * np.eye(bins)[which][:, None, :]) * (y - p)[:, None, None]
    calib = np.abs((W @ M.reshape(len(y), -1)).reshape(len(W), G.shape[1], bins)).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ece = calib / (W @ G)
    return {"dp": spread(sel), "dp_ratio": spread(sel, ratio=True),
            "eo": np.maximum(spread(tpr), spread(fpr)), "ece": ece, "ece_gap": spread(ece)}


def _group_matrix(sensitive: pd.Series, k: int) -> tuple[list[Any], np.ndarray]:
    """The groups of at least k rows, and the rows x groups indicator matrix."""
    labels = sensitive.to_numpy()
    sizes = pd.Series(labels).value_counts()
    kept = [g for g in sizes.index if sizes[g] >= k]
    return kept, np.stack([labels == g for g in kept], axis=1).astype(float) if kept else np.zeros((len(labels), 0))


def chance_spread(y: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]], sensitive: pd.Series, *,
                  k: int, scale: float) -> dict[str, float]:
    """How far the demographic-parity and equalized-odds gaps of two models trained on independent
    real samples spread by chance alone: the standard deviation of their difference.

    `pairs` are the holdout probabilities of pairs of models trained on disjoint random halves of
    the real training rows (m rows each); their differences d have variance 2 var_m, and a gap
    between models trained on samples of n rows has 2 var_n = var(d) m / n, with `scale` = m / n
    (a learner's variance falling as 1/n). The holdout's own sampling is the bootstrap's; this is
    the part it cannot see, the training sample's. NaN where no pair scores the metric.

    >>> y = np.array([0, 1] * 50); s = pd.Series(["a"] * 50 + ["b"] * 50)
    >>> same = np.linspace(0.1, 0.9, 100)
    >>> chance_spread(y, [(same, same)], s, k=10, scale=1.0)["dp"]
    0.0
    """
    kept, G = _group_matrix(sensitive, k)
    d: dict[str, list[float]] = {"dp": [], "eo": []}
    if len(kept) >= 2:
        W = np.ones((1, len(y)))
        for p_a, p_b in pairs:
            a, b = _group_gaps(W, y, np.asarray(p_a, float), G, k), _group_gaps(W, y, np.asarray(p_b, float), G, k)
            for m in d:
                if not math.isnan(a[m][0] - b[m][0]):
                    d[m].append(float(a[m][0] - b[m][0]))
    return {m: math.sqrt(float(np.mean(np.square(v))) * scale) if v else math.nan for m, v in d.items()}


def gap_bootstrap(y: np.ndarray, p_s: np.ndarray, p_r: np.ndarray, sensitive: pd.Series, *,
                  k: int, rounds: int, seed: int, spread: dict[str, float] | None = None) -> dict[str, Any]:
    """Intervals of each model's fairness metrics, and of |metric(TSTR)| - |metric(TRTR)| for the
    demographic-parity and equalized-odds differences, over one seeded bootstrap of the holdout
    rows (groups of >= k rows only). `p_s`, `p_r`: the two models' positive-class probabilities.
    `spread` (chance_spread's) widens the gaps' intervals by the training samples' chance
    differences, so that two models trained on independent real samples do not differ
    "significantly" on a small table.

    The same group rates as fairlearn's metrics, computed for all resamples at once as
    multiplicity-weighted matrix products (fairlearn's MetricFrame is too slow to resample).
    """
    kept, G = _group_matrix(sensitive, k)
    if len(kept) < 2:
        nan = {"point": math.nan, "lower": math.nan, "upper": math.nan}
        return {"dp_difference_gap": nan, "eo_difference_gap": nan, "tstr": {}, "trtr": {}}
    W = resample_weights(len(y), rounds=rounds, seed=seed)
    p_s, p_r = np.asarray(p_s, dtype=float), np.asarray(p_r, dtype=float)
    a, b = _group_gaps(W, y, p_s, G, k), _group_gaps(W, y, p_r, G, k)
    spread = spread or {}
    out: dict[str, Any] = {"dp_difference_gap": widened(interval(a["dp"] - b["dp"]), spread.get("dp")),
                           "eo_difference_gap": widened(interval(a["eo"] - b["eo"]), spread.get("eo"))}
    for kind, m in (("tstr", a), ("trtr", b)):
        out[kind] = {"demographic_parity_difference": interval(m["dp"]),
                     "demographic_parity_ratio": interval(m["dp_ratio"]),
                     "equalized_odds_difference": interval(m["eo"]), "ece_gap": interval(m["ece_gap"]),
                     "ece_by_group": {str(g): interval(m["ece"][:, i]) for i, g in enumerate(kept)}}
    return out
