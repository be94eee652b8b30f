"""Label quality of the source, counts only.

The class balance of the target, and the number of rows whose label a model
trained without them finds implausible, confident-learning style (Northcutt et al., 2021): a row
is a suspected label error when its given class scores below that class's average confidence
while another class scores above its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.audit.proxies import features, oof_proba, sample_rows
from synthgov.params import Params
from synthgov.stats import suppress


def label_quality(df: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Class balance and the count of suspected label errors (out-of-fold, confident learning)."""
    ap, target = params.audit, params.data.target
    balance = df[target].value_counts(normalize=True)
    data = sample_rows(df[df[target].notna()], ap.model_rows, ap.seed)
    classes, y = np.unique(data[target].astype(str), return_inverse=True)
    if len(classes) < 2 or np.bincount(y).min() < ap.cv_folds:
        return {"class_balance": {str(c): float(v) for c, v in balance.items()}, "suspected_errors": None}
    proba = oof_proba(features(data, params, {target}), y, ap.seed, ap.cv_folds)
    thresholds = np.array([proba[y == j, j].mean() for j in range(len(classes))])
    above = proba >= thresholds  # classes each row is confidently predicted as
    given_confident = above[np.arange(len(y)), y]
    above[np.arange(len(y)), y] = False
    suspected = int((~given_confident & above.any(axis=1)).sum())
    return {"class_balance": {str(c): float(v) for c, v in balance.items()}, "rows_checked": len(y),
            "suspected_errors": suppress(suspected, params.data.min_group_size),
            "suspected_share": suspected / len(y) if suspected >= params.data.min_group_size or not suspected else None}
