"""Proxy detection: how well the other columns predict each protected attribute (counts only).

For each protected attribute (numeric ones by their declared bins), a gradient-boosting
classifier predicts it from the other columns (the target left out); its out-of-fold ROC-AUC
(one-vs-rest, macro, for more than two groups) and balanced accuracy are reported against the
majority baseline (AUC 0.5), with the columns that carry most mutual information about it.
The cross-validation helpers here are shared with synthgov.audit.labels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_selection import mutual_info_classif
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from synthgov.params import Params


def features(df: pd.DataFrame, params: Params, drop: set[str]) -> pd.DataFrame:
    """The declared, non-excluded columns as model features (a column with no value at all carries
    no information, and gradient boosting cannot bin it: it is left out)."""
    cols = [c for c in df.columns if c in params.schema_ and c not in drop and c not in params.data.exclude
            and df[c].notna().any()]
    X = df[cols].copy()
    for col in cols:
        if params.schema_[col].type == "categorical":
            X[col] = X[col].astype("category")
    return X


def oof_proba(X: pd.DataFrame, y: np.ndarray, seed: int, folds: int) -> np.ndarray:
    model = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, categorical_features="from_dtype",
                                           random_state=seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(model, X, y, cv=cv, method="predict_proba")


def sample_rows(df: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return df.sample(n=min(rows, len(df)), random_state=seed).reset_index(drop=True)


def proxy_scores(df: pd.DataFrame, labels: pd.Series, params: Params, attribute: str) -> dict[str, Any]:
    """How well the other columns predict `attribute` (group labels aligned with `df`)."""
    ap, k = params.audit, params.data.min_group_size
    keep = labels.notna() & labels.map(labels.value_counts()).ge(max(k, ap.cv_folds)).fillna(False)
    data = sample_rows(df[keep.to_numpy()].assign(_group=labels[keep].astype(str).to_numpy()), ap.model_rows, ap.seed)
    y_labels = data.pop("_group")
    classes, y = np.unique(y_labels, return_inverse=True)
    if len(classes) < 2:
        return {"roc_auc": math.nan, "balanced_accuracy": math.nan, "majority_baseline": math.nan, "top_features": []}
    X = features(data, params, {attribute, params.data.target})
    proba = oof_proba(X, y, ap.seed, ap.cv_folds)
    auc = roc_auc_score(y, proba[:, 1]) if len(classes) == 2 else roc_auc_score(y, proba, multi_class="ovr")
    discrete = np.array([params.schema_[c].type == "categorical" for c in X.columns])
    codes = X.apply(lambda s: s.cat.codes if s.dtype == "category" else s.fillna(s.median()).fillna(0.0))
    mi = mutual_info_classif(codes.to_numpy(dtype=float), y, discrete_features=discrete, random_state=ap.seed)
    top = sorted(zip(X.columns, mi), key=lambda t: -t[1])[: ap.top_proxies]
    return {"roc_auc": float(auc), "balanced_accuracy": float(balanced_accuracy_score(y, proba.argmax(axis=1))),
            "majority_baseline": float(np.bincount(y).max() / len(y)), "rows": len(y),
            "top_features": [{"column": c, "mutual_information": float(v)} for c, v in top]}
