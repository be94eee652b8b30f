"""The mixed-type distance encoding every distance-based attack uses.

Numerics are scaled by their declared range (missing as -1), categoricals one-hot over the
declared labels (or, for evaluation only, those the frames hold), so distances never depend on a
statistic of the private rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgov.params import Params
from synthgov.params.schema import categories_of


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
