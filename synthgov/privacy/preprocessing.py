"""DP-correct preprocessing: the schema the model sees, from declarations and DP estimates only.

A declared value (bounds, bin edges, categories) is public and costs nothing. What is left
undeclared is estimated from the private rows with DP, spending privacy.preprocessing_epsilon
(split evenly over the estimates) and a tenth of delta (split evenly over the estimates that need
delta: the histograms of values the rows hold):
- categories: a stability-based noisy histogram; labels under the DP threshold collapse into
  "Other" (how many did is not reported: that count is not DP);
- numeric bin edges (edges: dp-quantiles): DP quantiles inside the declared public bounds;
- points (discover_points: a share): the values each held by at least that share of the DP row
  count, from a noisy histogram (synthgov.privacy.mechanisms.dp_points); they join the declared
  points and are released exactly.
Without DP (epsilon = inf) the same values are read exactly. SDV's detected metadata never
reaches this path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.params import ColumnSchema, Params
from synthgov.params.schema import POINT_RANGE
from synthgov.privacy.mechanisms import MAX_POINTS, dp_categories, dp_points, dp_quantiles

OTHER = "Other"


def needs_estimates(params: Params, columns: list[str]) -> tuple[list[str], list[str]]:
    """The columns whose schema must be estimated with DP: all of them, and those whose estimate
    takes delta (a stability-based histogram; DP quantiles and points counted over a public range
    are pure epsilon)."""
    todo = [c for c in columns if params.schema_[c].needs_dp_estimate]
    return todo, [c for c in todo if params.schema_[c].estimates_need_delta]


def _estimates(spec: ColumnSchema) -> int:
    """How many DP estimates a column's schema takes (numeric: its edges and its points)."""
    if spec.type == "categorical":
        return 1
    return int(spec.edges == "dp-quantiles") + int(spec.discover_points is not None)


def resolve_schema(df: pd.DataFrame, params: Params, columns: list[str], *, epsilon: float, delta: float,
                   rng: np.random.Generator, rows: float | None = None
                   ) -> tuple[dict[str, ColumnSchema], dict[str, Any]]:
    """The fully specified schema of `columns`, and the preprocessing report.

    `epsilon` and `delta` are this slice's budget (synthgov.privacy.accounting.plan_budget): the
    epsilon is split evenly over the estimates, the delta over those that take it. `rows`: the
    public or DP-counted row count the shares of discover_points apply to (default: len(df), for
    a run without DP). The report holds only DP outputs (the methods and how many bins, labels
    or points were kept).
    """
    todo, need_delta = needs_estimates(params, columns)
    resolved = {c: params.schema_[c] for c in columns}
    report: dict[str, Any] = {"epsilon": 0.0, "delta": 0.0, "columns": {}}
    if not todo:
        return resolved, report
    rows = len(df) if rows is None else rows
    if params.dp:
        eps_each = epsilon / sum(_estimates(params.schema_[c]) for c in todo)
        delta_each = delta / len(need_delta) if need_delta else 0.0
        report.update(epsilon=epsilon, delta=delta if need_delta else 0.0)
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
            continue
        report["columns"][col] = {}
        if spec.discover_points is not None:
            values = df[col].to_numpy(dtype=float)
            if params.dp:
                found = dp_points(values, lower=spec.lower, upper=spec.upper, integer=spec.integer,
                                  epsilon=eps_each, delta=delta_each, min_count=spec.discover_points * rows,
                                  rng=rng, sensitivity=sensitivity, max_domain=POINT_RANGE)
            else:
                found = exact_points(values, lower=spec.lower, upper=spec.upper, share=spec.discover_points)
            spec = spec.model_copy(update={"points": sorted({*spec.points, *found})})
            resolved[col] = spec
            report["columns"][col].update(points_method="dp-histogram" if params.dp else "exact",
                                          points_found=len(found))
        if spec.edges == "dp-quantiles":
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
            report["columns"][col].update(method="dp-quantiles" if params.dp else "exact", bins=len(edges) - 1)
    return resolved, report


def exact_points(values: np.ndarray, *, lower: float, upper: float, share: float) -> list[float]:
    """dp_points without noise, for a run without DP: the values held by at least `share` of the rows.

    >>> exact_points(np.array([1.0, 1.0, 2.0, np.nan]), lower=0, upper=5, share=0.5)
    [1.0]
    """
    x = np.clip(values[~np.isnan(values)], lower, upper)
    keys, counts = np.unique(x, return_counts=True)
    kept = np.flatnonzero(counts >= share * len(values))
    kept = kept[np.argsort(-counts[kept], kind="stable")][:MAX_POINTS]
    return sorted(float(k) for k in keys[kept])
