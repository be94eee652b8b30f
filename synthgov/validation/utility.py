"""Utility of a synthetic table: TSTR against TRTR on the locked real holdout, with intervals.

Each learner is trained once on the synthetic rows (TSTR) and once on the real source (TRTR) and
scored on the real holdout, which the generator never saw. Intervals come from a seeded bootstrap
of the holdout rows over the fixed predictions, so the gates can compare a declared bound (for
example the lower bound of the TSTR/TRTR ratio) with their threshold and a lucky draw cannot pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from synthgov.params import Params
from synthgov.stats import score_counts


def feature_columns(params: Params) -> list[str]:
    return [c for c in params.schema_ if c != params.data.target and c not in params.data.exclude]


def design(df: pd.DataFrame, params: Params, cats: dict[str, list[str]]) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (categoricals as pandas categories over fixed labels) and the 0/1 label."""
    cols = feature_columns(params)
    X = df[cols].copy()
    for col in cols:
        if col in cats:
            X[col] = X[col].astype(pd.CategoricalDtype(cats[col]))
    return X, (df[params.data.target] == params.data.positive_label).to_numpy(dtype=int)


def make_learner(name: str, params: Params, cats: dict[str, list[str]]):
    """A fresh, seeded learner: 'gradient_boosting' or 'logistic_regression'."""
    seed = params.validate_.seed
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(max_iter=params.validate_.max_iter,
                                              categorical_features="from_dtype", random_state=seed)
    numeric = [c for c in feature_columns(params) if c not in cats]
    prep = ColumnTransformer([
        ("num", make_pipeline(StandardScaler()), numeric),
        ("cat", OneHotEncoder(categories=[cats[c] for c in cats if c in feature_columns(params)],
                              handle_unknown="ignore"), [c for c in cats if c in feature_columns(params)]),
    ])
    return make_pipeline(prep, LogisticRegression(max_iter=500, random_state=seed))


def _prepare_lr(X: pd.DataFrame) -> pd.DataFrame:
    out = X.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object).fillna("(missing)")
        else:
            out[col] = out[col].fillna(0.0)
    return out


def fit_predict(name: str, train: pd.DataFrame, holdout: pd.DataFrame, params: Params,
                cats: dict[str, list[str]]) -> tuple[Any, np.ndarray | None]:
    """Fit a learner on `train`; its positive-class probabilities on `holdout` (None if one class)."""
    X, y = design(train, params, cats)
    Xh, _ = design(holdout, params, cats)
    if len(np.unique(y)) < 2:
        return None, None
    model = make_learner(name, params, cats)
    if name == "logistic_regression":
        X, Xh = _prepare_lr(X), _prepare_lr(Xh)
    else:  # a numeric column without a single value (sklearn's binning fails on it): nothing to learn
        empty = [c for c in X.columns if not isinstance(X[c].dtype, pd.CategoricalDtype) and X[c].isna().all()]
        X = X.assign(**{c: 0.0 for c in empty})
    model.fit(X, y)
    return model, model.predict_proba(Xh)[:, 1]


def scores(y: np.ndarray, p: np.ndarray | None) -> dict[str, float]:
    """ROC-AUC, PR-AUC, balanced accuracy and minority-class F1 at threshold 0.5 (NaN if undefined)."""
    if p is None or len(np.unique(y)) < 2:
        return {k: math.nan for k in ("roc_auc", "pr_auc", "balanced_accuracy", "minority_f1")}
    pred = (p >= 0.5).astype(int)
    minority = int(np.mean(y) < 0.5)
    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
            "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
            "minority_f1": float(f1_score(y, pred, pos_label=minority, zero_division=0))}


def auc_chance_spread(y: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]], m: int, n_synthetic: int,
                      n_real: int) -> float:
    """How far the holdout ROC-AUCs of two models trained on independent samples (n_synthetic and
    n_real rows) spread by chance alone: the standard deviation of their difference, which the
    holdout's bootstrap cannot see (it resamples the evaluation rows, not the training rows).

    `pairs` are one learner's holdout probabilities of pairs of models trained on disjoint random
    halves of m real training rows each (validation's chance pairs): their AUC differences d have
    variance 2 var_m, and with a learner's variance falling as 1/n, var(AUC_s - AUC_r) = var_m
    (m / n_synthetic + m / n_real). benchmarks/interval_null.py: on randhie at 1,000 rows the
    TSTR/TRTR ratio of independent real samples spread by 0.024 where the holdout's bootstrap
    assumed 0.009; the logistic regression's spreads by 0.032, and its interval now assumes 0.024.
    NaN without pairs.

    >>> y = np.array([0, 1] * 50); p = np.linspace(0.1, 0.9, 100)
    >>> auc_chance_spread(y, [(p, p)], 50, 100, 100), auc_chance_spread(y, [], 50, 100, 100)
    (0.0, nan)
    """
    d = [roc_auc_score(y, a) - roc_auc_score(y, b) for a, b in pairs if len(np.unique(y)) == 2]
    if not d:
        return math.nan
    return math.sqrt(float(np.mean(np.square(d))) / 2 * (m / max(n_synthetic, 1) + m / max(n_real, 1)))


def weighted_scores(W: np.ndarray, y: np.ndarray, p: np.ndarray | None) -> dict[str, np.ndarray]:
    """`scores` for every row of weights W: the point (row 0 of ones) and each bootstrap resample.

    ROC-AUC counts ties half; PR-AUC is sklearn's average precision (a step per distinct score).
    The minority class is that of the unweighted labels.
    """
    if p is None or len(np.unique(y)) < 2:
        return {k: np.full(len(W), np.nan) for k in ("roc_auc", "pr_auc", "balanced_accuracy", "minority_f1")}
    pos, neg = score_counts(W, y, p)
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    below = np.cumsum(neg, axis=1) - neg
    tp = np.cumsum(pos[:, ::-1], axis=1)  # at each threshold, from the highest score down
    fp = np.cumsum(neg[:, ::-1], axis=1)
    pred = p >= 0.5
    yb = y == 1
    tp5, fp5, fn5, tn5 = (W @ (a & b).astype(float) for a, b in ((pred, yb), (pred, ~yb), (~pred, yb), (~pred, ~yb)))
    minority_positive = np.mean(y) < 0.5
    hit, false_hit, miss = (tp5, fp5, fn5) if minority_positive else (tn5, fn5, fp5)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "roc_auc": (pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg),
            "pr_auc": (pos[:, ::-1] / n_pos[:, None] * np.nan_to_num(tp / (tp + fp))).sum(axis=1),
            "balanced_accuracy": 0.5 * (tp5 / (tp5 + fn5) + tn5 / (tn5 + fp5)),
            "minority_f1": np.where(2 * hit + false_hit + miss > 0, 2 * hit / (2 * hit + false_hit + miss), 0.0),
        }


def importance_rank_correlation(tstr_model, trtr_model, holdout: pd.DataFrame, params: Params,
                                cats: dict[str, list[str]], *, rows: int, seed: int, repeats: int
                                ) -> dict[str, float]:
    """Spearman correlation of the permutation importances (ROC-AUC drop) of the two models.

    The point correlates the mean importances over `repeats` permutations; the interval spans the
    correlations of every pair of single repeats (the spread due to the permutations).
    """
    from sklearn.inspection import permutation_importance

    if tstr_model is None or trtr_model is None:
        return {"point": math.nan, "lower": math.nan, "upper": math.nan}
    sample = holdout.sample(n=min(rows, len(holdout)), random_state=seed)
    X, y = design(sample, params, cats)
    imp = [permutation_importance(m, X, y, scoring="roc_auc", n_repeats=repeats, random_state=seed).importances
           for m in (tstr_model, trtr_model)]
    pairs = [spearmanr(imp[0][:, i], imp[1][:, j]).statistic for i in range(repeats) for j in range(repeats)]
    return {"point": float(spearmanr(imp[0].mean(axis=1), imp[1].mean(axis=1)).statistic),
            "lower": float(np.nanquantile(pairs, 0.025)), "upper": float(np.nanquantile(pairs, 0.975))}
