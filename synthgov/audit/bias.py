"""The bias audit of a source: group shares against the declared reference population, outcome base
rates, the disparate-impact ratio (lowest group base rate over the highest), the statistical
parity difference (highest minus lowest) and a chi-squared test of independence of group and
outcome, per protected attribute (numeric ones by declared bins) and per declared intersection.
Groups under k rows are flagged and their figures suppressed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from synthgov.params import Params


def protected_groups(df: pd.DataFrame, params: Params, column: str) -> pd.Series:
    """Group labels of a protected attribute; numeric ones cut by their declared bins."""
    if column in params.data.protected_bins:
        edges = params.data.protected_bins[column]
        labels = [f"[{a:g}, {b:g})" for a, b in zip(edges, edges[1:])]
        return pd.cut(df[column], bins=edges, right=False, labels=labels).astype(object)
    return df[column]


def audit_groups(df: pd.DataFrame, params: Params) -> dict[str, pd.Series]:
    """Group labels of every protected attribute and declared intersection (e.g. 'race x sex')."""
    groups = {c: protected_groups(df, params, c).fillna("(missing)").astype(str)
              for c in params.data.protected if c in df.columns}
    for combo in params.data.intersections:
        if all(c in df.columns for c in combo):
            parts = [groups[c] if c in groups else df[c].fillna("(missing)").astype(str) for c in combo]
            label = parts[0]
            for p in parts[1:]:
                label = label + " & " + p
            groups[" x ".join(combo)] = label
    return groups


def group_stats(df: pd.DataFrame, params: Params, column: str, groups: pd.Series | None = None) -> dict[str, Any]:
    """Shares, base rates, disparate impact, statistical parity and chi-squared for one attribute.

    Counts and rates of groups under k rows are suppressed (only the flag remains), and left out
    of the ratio, the difference and the test.
    """
    k = params.data.min_group_size
    groups = protected_groups(df, params, column).fillna("(missing)") if groups is None else groups
    positive = (df[params.data.target] == params.data.positive_label).astype(float)
    table = positive.groupby(groups.to_numpy()).agg(["count", "sum", "mean"])
    out, rates, kept = {}, [], []
    for group, row in table.iterrows():
        n = int(row["count"])
        if n >= k:
            out[str(group)] = {"count": n, "share": n / len(df), "base_rate": float(row["mean"])}
            rates.append(float(row["mean"]))
            kept.append(group)
        else:
            out[str(group)] = {"count": None, "share": None, "base_rate": None, "under_k": True}
    di = min(rates) / max(rates) if len(rates) >= 2 and max(rates) > 0 else math.nan
    spd = max(rates) - min(rates) if len(rates) >= 2 else math.nan
    chi2 = {"statistic": math.nan, "p_value": math.nan, "dof": 0}
    big = table.loc[kept]
    if len(big) >= 2:
        contingency = np.stack([big["sum"].to_numpy(), (big["count"] - big["sum"]).to_numpy()], axis=1)
        if (contingency.sum(axis=0) > 0).all():
            stat, p, dof, _ = chi2_contingency(contingency)
            chi2 = {"statistic": float(stat), "p_value": float(p), "dof": int(dof)}
    reference = params.data.reference_population.get(column, {})
    for group, share in reference.items():
        entry = out.setdefault(group, {"count": None, "share": None, "base_rate": None, "under_k": True})
        entry["reference_share"] = share
        source_share = entry["share"] if entry["share"] is not None else 0.0
        entry["reference_gap_flag"] = abs(source_share - share) > params.data.reference_gap
    lo, hi = params.audit.disparate_impact_range
    return {"groups": out, "disparate_impact": di, "disparate_impact_flag": not (lo <= di <= hi) if di == di else True,
            "statistical_parity_difference": spd, "chi_squared": chi2,
            "groups_under_k": sorted(str(g) for g, row in table.iterrows() if int(row["count"]) < k)}
