"""The validate stage: is the synthetic table useful and faithful?

Utility is TSTR against TRTR: the same gradient-boosting learner is trained once on the synthetic
rows and once on the real source, and both are scored by ROC-AUC on the real holdout, which the
generator never saw. Fidelity is, per column, the KS complement (numeric) or the TV complement
(categorical) from SDMetrics, 1 being identical marginals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from synthgov.checks import CheckResult
from synthgov.params import Params


def categories_of(spec, *frames: pd.DataFrame, column: str) -> list[str]:
    """Declared categories, or (for internal evaluation only) those the frames hold."""
    if spec.categories:
        return list(spec.categories)
    return sorted(set().union(*(set(f[column].dropna().astype(str)) for f in frames)))


def _features(df: pd.DataFrame, params: Params, cats: dict[str, list[str]]) -> tuple[pd.DataFrame, np.ndarray]:
    target = params.data.target
    cols = [c for c in params.schema_ if c != target and c not in params.data.exclude]
    X = df[cols].copy()
    for col in cols:
        if col in cats:
            X[col] = X[col].astype(pd.CategoricalDtype(cats[col]))
    return X, (df[target] == params.data.positive_label).to_numpy(dtype=int)


def learner_auc(train: pd.DataFrame, holdout: pd.DataFrame, params: Params) -> float:
    """ROC-AUC on `holdout` of a HistGradientBoosting model fitted on `train` (NaN if not computable)."""
    cats = {c: categories_of(s, train, holdout, column=c) for c, s in params.schema_.items()
            if s.type == "categorical"}
    X, y = _features(train, params, cats)
    Xh, yh = _features(holdout, params, cats)
    if len(np.unique(y)) < 2 or len(np.unique(yh)) < 2:
        return math.nan
    model = HistGradientBoostingClassifier(max_iter=params.validate_.max_iter,
                                           categorical_features="from_dtype",
                                           random_state=params.validate_.seed)
    model.fit(X, y)
    return float(roc_auc_score(yh, model.predict_proba(Xh)[:, 1]))


def column_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, params: Params) -> dict[str, float]:
    """Per-column KS complement (numeric) or TV complement (categorical); NaN when not computable."""
    from sdmetrics.single_column import KSComplement, TVComplement

    scores = {}
    for col, spec in params.schema_.items():
        if col in params.data.exclude:
            continue
        r, s = real[col], synthetic[col]
        if spec.type == "numeric":
            r, s = r.dropna(), s.dropna()
            score = KSComplement.compute(r, s) if len(r) and len(s) else math.nan
        else:
            score = TVComplement.compute(r.fillna("(missing)"), s.fillna("(missing)")) if len(s) else math.nan
        scores[col] = float(score)
    return scores


def validate(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, params: Params
             ) -> tuple[dict[str, Any], list[CheckResult]]:
    """Utility and fidelity of `synthetic`. Returns the report and its checks."""
    tstr = learner_auc(synthetic, holdout, params)
    trtr = learner_auc(train, holdout, params)
    ratio = tstr / trtr if trtr and not math.isnan(trtr) else math.nan
    fidelity = column_fidelity(train, synthetic, params)
    mean_fid = float(np.mean(list(fidelity.values()))) if fidelity else math.nan
    spec = params.gates.spec
    checks = [
        CheckResult.evaluate("tstr_ratio", ratio, spec("tstr_ratio").threshold, goal="maximize",
                             severity=spec("tstr_ratio").severity, stage="validate",
                             breakdown={"tstr_auc": tstr, "trtr_auc": trtr}),
        CheckResult.evaluate("fidelity_column", mean_fid, spec("fidelity_column").threshold,
                             goal="maximize", severity=spec("fidelity_column").severity,
                             stage="validate", breakdown=fidelity),
    ]
    report = {"tstr_auc": tstr, "trtr_auc": trtr, "tstr_ratio": ratio, "learner":
              "HistGradientBoostingClassifier", "column_fidelity": fidelity,
              "mean_column_fidelity": mean_fid, "synthetic_rows": len(synthetic)}
    return report, checks
