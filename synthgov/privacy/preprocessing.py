"""DP-correct preprocessing: the schema the model sees, from declarations and DP estimates only.

A declared value (bounds, bin edges, categories) is public and costs nothing. What is left
undeclared is estimated from the private rows with DP, spending privacy.preprocessing_epsilon
(split evenly over the columns that need it) and a tenth of delta (split evenly over the
categorical ones, the only ones that need delta):
- categories: a stability-based noisy histogram; labels under the DP threshold collapse into
  "Other" (how many did is not reported: that count is not DP);
- numeric bin edges (edges: dp-quantiles): DP quantiles inside the declared public bounds.
Without DP (epsilon = inf) the same values are read exactly. SDV's detected metadata never
reaches this path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.params import ColumnSchema, Params
from synthgov.privacy.mechanisms import dp_categories, dp_quantiles

OTHER = "Other"


def needs_estimates(params: Params, columns: list[str]) -> tuple[list[str], list[str]]:
    """The columns whose schema must be estimated with DP: all of them, and the categorical ones
    (the noisy histograms take delta; the DP quantiles are pure epsilon)."""
    todo = [c for c in columns if params.schema_[c].needs_dp_estimate]
    return todo, [c for c in todo if params.schema_[c].type == "categorical"]


def resolve_schema(df: pd.DataFrame, params: Params, columns: list[str], *, epsilon: float, delta: float,
                   rng: np.random.Generator) -> tuple[dict[str, ColumnSchema], dict[str, Any]]:
    """The fully specified schema of `columns`, and the preprocessing report.

    `epsilon` and `delta` are this slice's budget (synthgov.privacy.accounting.plan_budget): the
    epsilon is split evenly over the columns to estimate, the delta over the categorical ones.
    The report holds only DP outputs (the methods and how many bins or labels were kept).
    """
    todo, categorical = needs_estimates(params, columns)
    resolved = {c: params.schema_[c] for c in columns}
    report: dict[str, Any] = {"epsilon": 0.0, "delta": 0.0, "columns": {}}
    if not todo:
        return resolved, report
    if params.dp:
        eps_each = epsilon / len(todo)
        delta_each = delta / len(categorical) if categorical else 0.0
        report.update(epsilon=epsilon, delta=delta if categorical else 0.0)
    sensitivity = 2 if params.privacy.neighbouring == "replace-one" else 1
    for col in todo:
        spec = params.schema_[col]
        if spec.type == "categorical":
            if params.dp:
                kept = dp_categories(df[col], epsilon=eps_each, delta=delta_each, rng=rng, sensitivity=sensitivity)
            else:
                kept = sorted(df[col].dropna().astype(str).unique().tolist())
            if OTHER not in kept:
                kept.append(OTHER)
            resolved[col] = spec.model_copy(update={"categories": kept, "other": True})
            report["columns"][col] = {"method": "dp-histogram" if params.dp else "exact",
                                      "categories_kept": len(kept) - 1}
        else:
            qs = np.linspace(0, 1, spec.bins + 1)[1:-1].tolist()
            values = df[col].to_numpy(dtype=float)
            if params.dp:
                inner = dp_quantiles(values, qs, lower=spec.lower, upper=spec.upper, epsilon=eps_each, rng=rng)
            else:
                inner = np.nanquantile(np.clip(values, spec.lower, spec.upper), qs).tolist()
            edges = sorted({spec.lower, *[float(v) for v in inner], spec.upper + (1 if spec.integer else 0)})
            if len(edges) < 3:
                edges = [spec.lower, (spec.lower + spec.upper) / 2, spec.upper + (1 if spec.integer else 0)]
            resolved[col] = spec.model_copy(update={"bins": edges, "edges": "uniform"})
            report["columns"][col] = {"method": "dp-quantiles" if params.dp else "exact", "bins": len(edges) - 1}
    return resolved, report
