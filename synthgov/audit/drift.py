"""Drift of a new source version against the source of the last promoted release.

A release keeps no source row: it keeps the source's profile, per column the counts over public
bins (numeric) or labels (categorical) plus a missing bucket, with any count under k set to zero.
The new source's profile is compared with it per column: the population stability index (PSI)
and, for numeric columns, the Kolmogorov-Smirnov distance between the binned CDFs (a lower bound
on the exact KS distance, at the resolution of the public bins).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from synthgov.params.schema import bin_edges
from synthgov.params import Params

MISSING = "(missing)"


def source_profile(df: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Per-column counts over public bins or labels; counts under k are suppressed (zero)."""
    k, out = params.data.min_group_size, {}
    for col, spec in params.schema_.items():
        if col not in df.columns:
            continue
        if spec.type == "numeric":
            edges = bin_edges(spec)
            values = df[col].to_numpy(dtype=float)
            ok = ~np.isnan(values)
            counts = np.histogram(np.clip(values[ok], edges[0], edges[-1]), bins=edges)[0].tolist()
            labels = [f"[{a:g}, {b:g})" for a, b in zip(edges, edges[1:])]
            counts, labels = counts + [int((~ok).sum())], labels + [MISSING]
        else:
            vc = df[col].astype(object).where(df[col].notna(), MISSING).astype(str).value_counts()
            labels = sorted(set(spec.categories or []) | set(vc.index[vc >= k]) | {MISSING})
            counts = [int(vc.get(lab, 0)) for lab in labels]
        out[col] = {"type": spec.type, "labels": labels, "counts": [c if c >= k else 0 for c in counts]}
    return {"rows": len(df), "min_group_size": k, "columns": out}


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = 1e-4) -> float:
    """Population stability index of two count vectors over the same buckets.

    >>> psi(np.array([50, 50]), np.array([50, 50]))
    0.0
    >>> round(psi(np.array([90, 10]), np.array([50, 50])), 3)
    0.879
    """
    if expected.sum() == 0 or actual.sum() == 0:
        return math.nan
    p = np.maximum(expected / expected.sum(), floor)
    q = np.maximum(actual / actual.sum(), floor)
    return float(np.sum((q - p) * np.log(q / p)))


def compare_profiles(old: dict[str, Any], new: dict[str, Any], params: Params) -> dict[str, Any]:
    """PSI and binned KS per column, and the columns over the declared thresholds."""
    ap, columns, flagged = params.audit, {}, []
    for col, n in new["columns"].items():
        o = old["columns"].get(col)
        if o is None:
            columns[col] = {"status": "not in the last release's source"}
            continue
        labels = sorted(set(o["labels"]) | set(n["labels"]), key=(n["labels"] + o["labels"]).index)
        a = np.array([dict(zip(o["labels"], o["counts"])).get(lab, 0) for lab in labels], dtype=float)
        b = np.array([dict(zip(n["labels"], n["counts"])).get(lab, 0) for lab in labels], dtype=float)
        entry = {"psi": psi(a, b)}
        if n["type"] == "numeric" and a.sum() and b.sum():
            entry["ks_binned"] = float(np.max(np.abs(np.cumsum(a) / a.sum() - np.cumsum(b) / b.sum())))
        entry["drifted"] = bool(entry["psi"] > ap.drift_psi or entry.get("ks_binned", 0.0) > ap.drift_ks)
        if entry["drifted"]:
            flagged.append(col)
        columns[col] = entry
    worst = max((v["psi"] for v in columns.values() if "psi" in v and not math.isnan(v["psi"])), default=math.nan)
    return {"columns": columns, "drifted": flagged, "max_psi": worst,
            "rows": {"last_release_source": old["rows"], "new_source": new["rows"]}}
