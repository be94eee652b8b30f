"""Utility of a synthetic table: TSTR against TRTR on the locked real holdout, with intervals.

Each learner is trained once on the synthetic rows (TSTR) and once on the real source (TRTR) and
scored on the real holdout, which the generator never saw. Intervals come from a seeded bootstrap
of the holdout rows over the fixed predictions, so the gates can compare a declared bound (for
example the lower bound of the TSTR/TRTR ratio) with their threshold and a lucky draw cannot pass.
"""

from __future__ import annotations

import math
from typing import Any, Callable

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


def feature_columns(params: Params) -> list[str]:
    return [c for c in params.schema_ if c != params.data.target and c not in params.data.exclude]


def categories_of(spec, *frames: pd.DataFrame, column: str) -> list[str]:
    """Declared categories, or (for internal evaluation only) those the frames hold."""
    if spec.categories:
        return list(spec.categories)
    return sorted(set().union(*(set(f[column].dropna().astype(str)) for f in frames)))


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


def bootstrap(fn: Callable[[np.ndarray], dict[str, float]], n_rows: int, *, rounds: int, seed: int,
              level: float = 0.95) -> dict[str, dict[str, float]]:
    """Point estimates and percentile intervals of every value fn(row indices) returns, over one
    seeded bootstrap of the rows (all values share the same resamples).

    >>> ci = bootstrap(lambda idx: {"share": float(np.mean(idx < 50))}, 100, rounds=200, seed=0)["share"]
    >>> ci["lower"] < ci["point"] == 0.5 < ci["upper"]
    True
    """
    rng = np.random.default_rng(seed)
    point = fn(np.arange(n_rows))
    draws = [fn(rng.integers(0, n_rows, n_rows)) for _ in range(rounds)]
    alpha = (1 - level) / 2
    out = {}
    for key, value in point.items():
        vals = np.array([d[key] for d in draws], dtype=float)
        vals = vals[~np.isnan(vals)]
        if math.isnan(value) or len(vals) < rounds // 2:
            out[key] = {"point": value, "lower": math.nan, "upper": math.nan}
        else:
            out[key] = {"point": float(value), "lower": float(np.quantile(vals, alpha)),
                        "upper": float(np.quantile(vals, 1 - alpha))}
    return out


def importance_rank_correlation(tstr_model, trtr_model, holdout: pd.DataFrame, params: Params,
                                cats: dict[str, list[str]], *, rows: int, seed: int) -> float:
    """Spearman correlation of the permutation importances (ROC-AUC drop) of the two models."""
    from sklearn.inspection import permutation_importance

    if tstr_model is None or trtr_model is None:
        return math.nan
    sample = holdout.sample(n=min(rows, len(holdout)), random_state=seed)
    X, y = design(sample, params, cats)
    imp = [permutation_importance(m, X, y, scoring="roc_auc", n_repeats=2, random_state=seed).importances_mean
           for m in (tstr_model, trtr_model)]
    return float(spearmanr(imp[0], imp[1]).statistic)
