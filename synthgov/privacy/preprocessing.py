"""DP-correct preprocessing: the schema the model sees, from declarations and DP estimates only.

A declared value (bounds, bin edges, categories) is public and costs nothing. What is left
undeclared is estimated from the private rows with DP, spending privacy.preprocessing_epsilon
(split evenly over the columns that need it) and a tenth of delta:
- categories: a stability-based noisy histogram; labels under the DP threshold collapse into
  "Other", and the report says how many did;
- numeric bin edges (edges: dp-quantiles): DP quantiles inside the declared public bounds.
Without DP (epsilon = inf) the same values are read exactly. SDV's detected metadata never
reaches this path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.errors import PrivacyBudgetError
from synthgov.params import ColumnSchema, Params
from synthgov.privacy.mechanisms import dp_categories, dp_quantiles

OTHER = "Other"


def resolve_schema(df: pd.DataFrame, params: Params, columns: list[str], *, delta: float,
                   rng: np.random.Generator) -> tuple[dict[str, ColumnSchema], dict[str, Any]]:
    """The fully specified schema of `columns`, and the preprocessing report with its (eps, delta)."""
    todo = [c for c in columns if params.schema_[c].needs_dp_estimate]
    resolved = {c: params.schema_[c] for c in columns}
    report: dict[str, Any] = {"epsilon": 0.0, "delta": 0.0, "columns": {}}
    if not todo:
        return resolved, report
    if params.dp:
        eps_total = params.privacy.preprocessing_epsilon
        if eps_total >= params.privacy.epsilon:
            raise PrivacyBudgetError(
                f"privacy.preprocessing_epsilon = {eps_total:g} leaves nothing of privacy.epsilon = "
                f"{params.privacy.epsilon:g} for training; lower it, or declare {todo} in "
                "params/schema.yaml")
        eps_each, delta_pre = eps_total / len(todo), delta / 10.0
        report.update(epsilon=eps_total, delta=delta_pre)
    for col in todo:
        spec = params.schema_[col]
        if spec.type == "categorical":
            if params.dp:
                kept, collapsed = dp_categories(df[col], epsilon=eps_each, delta=delta_pre, rng=rng)
            else:
                kept, collapsed = sorted(df[col].dropna().astype(str).unique().tolist()), 0
            if OTHER not in kept:
                kept.append(OTHER)
            resolved[col] = spec.model_copy(update={"categories": kept, "other": True})
            report["columns"][col] = {"method": "dp-histogram" if params.dp else "exact",
                                      "categories_kept": len(kept) - 1,
                                      "categories_collapsed_into_other": collapsed}
        else:
            qs = np.linspace(0, 1, spec.bins + 1)[1:-1].tolist()
            values = df[col].to_numpy(dtype=float)
            if params.dp:
                inner = dp_quantiles(values, qs, lower=spec.lower, upper=spec.upper,
                                     epsilon=eps_each, rng=rng)
            else:
                inner = np.nanquantile(np.clip(values, spec.lower, spec.upper), qs).tolist()
            edges = sorted({spec.lower, *[float(v) for v in inner], spec.upper + (1 if spec.integer else 0)})
            if len(edges) < 3:
                edges = [spec.lower, (spec.lower + spec.upper) / 2, spec.upper + (1 if spec.integer else 0)]
            resolved[col] = spec.model_copy(update={"bins": edges, "edges": "uniform"})
            report["columns"][col] = {"method": "dp-quantiles" if params.dp else "exact", "bins": len(edges) - 1}
    return resolved, report
