"""Fidelity of a synthetic table to the real one: columns, pairs, SDMetrics properties, coverage,
and distinguishability.

Every function returns aggregates only (scores per column or pair), never rows or raw category
frequencies. A score that cannot be computed is NaN, and the gates treat NaN as a failure.
"""

from __future__ import annotations

import math
import warnings
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

from synthgov.encoding import bin_edges
from synthgov.params import Params

MISSING = "(missing)"


def _columns(params: Params) -> list[str]:
    return [c for c in params.schema_ if c not in params.data.exclude]


def distribution(real: pd.Series, syn: pd.Series, spec) -> tuple[np.ndarray, np.ndarray]:
    """Aligned frequency vectors of a column over public bins or the union of labels."""
    if spec.type == "numeric":
        edges = np.asarray(spec.bins if isinstance(spec.bins, list) else bin_edges(spec), dtype=float)
        p = np.histogram(np.clip(real.dropna(), edges[0], edges[-1]), bins=edges)[0].astype(float)
        q = np.histogram(np.clip(syn.dropna(), edges[0], edges[-1]), bins=edges)[0].astype(float)
        p, q = np.append(p, real.isna().sum()), np.append(q, syn.isna().sum())
    else:
        r, s = real.fillna(MISSING).astype(str), syn.fillna(MISSING).astype(str)
        labels = sorted(set(r) | set(s))
        p = r.value_counts().reindex(labels, fill_value=0).to_numpy(dtype=float)
        q = s.value_counts().reindex(labels, fill_value=0).to_numpy(dtype=float)
    return p, q


def column_scores(real: pd.DataFrame, syn: pd.DataFrame, params: Params) -> dict[str, dict[str, float]]:
    """Per column: KS complement (numeric) or TV complement (categorical), and Jensen-Shannon distance."""
    from sdmetrics.single_column import KSComplement, TVComplement

    out = {}
    for col in _columns(params):
        spec, r, s = params.schema_[col], real[col], syn[col]
        if len(s) == 0 or len(r) == 0:
            out[col] = {"complement": math.nan, "js_distance": math.nan}
            continue
        if spec.type == "numeric":
            rr, ss = r.dropna(), s.dropna()
            comp = KSComplement.compute(rr, ss) if len(rr) and len(ss) else math.nan
        else:
            comp = TVComplement.compute(r.fillna(MISSING), s.fillna(MISSING))
        p, q = distribution(r, s, spec)
        js = float(jensenshannon(p / p.sum(), q / q.sum(), base=2)) if p.sum() and q.sum() else math.nan
        out[col] = {"complement": float(comp), "js_distance": js}
    return out


def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    table = pd.crosstab(a.fillna(MISSING).astype(str), b.fillna(MISSING).astype(str))
    if min(table.shape) < 2:
        return math.nan
    chi2 = chi2_contingency(table, correction=False)[0]
    return float(math.sqrt(chi2 / (table.to_numpy().sum() * (min(table.shape) - 1))))


def pair_scores(real: pd.DataFrame, syn: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Pearson and Spearman (numeric pairs) and Cramér's V (categorical pairs), real against synthetic.

    Similarity of a pair is 1 - |difference| / range (range 2 for correlations, 1 for V).
    """
    cols = _columns(params)
    numeric = [c for c in cols if params.schema_[c].type == "numeric"]
    categorical = [c for c in cols if params.schema_[c].type == "categorical"]
    out: dict[str, Any] = {"pearson": {}, "spearman": {}, "cramers_v": {}}
    for method in ("pearson", "spearman"):
        cr, cs = real[numeric].corr(method=method), syn[numeric].corr(method=method)
        for a, b in combinations(numeric, 2):
            diff = cr.loc[a, b] - cs.loc[a, b]
            out[method][f"{a}|{b}"] = {"real": float(cr.loc[a, b]), "synthetic": float(cs.loc[a, b]),
                                       "similarity": float(1 - abs(diff) / 2)}
    for a, b in combinations(categorical, 2):
        vr, vs = _cramers_v(real[a], real[b]), _cramers_v(syn[a], syn[b])
        out["cramers_v"][f"{a}|{b}"] = {"real": vr, "synthetic": vs, "similarity": float(1 - abs(vr - vs))}
    sims = [v["similarity"] for m in out.values() for v in m.values()]
    out["mean_similarity"] = float(np.mean(sims)) if sims and not np.isnan(sims).any() else math.nan
    return out


def sdmetrics_metadata(params: Params) -> dict[str, Any]:
    """SDMetrics metadata from the declared schema (never SDV's detection, which reads the rows)."""
    columns = {c: {"sdtype": "numerical" if params.schema_[c].type == "numeric" else "categorical"}
               for c in _columns(params)}
    return {"tables": {"table": {"columns": columns}}}


def quality_properties(real: pd.DataFrame, syn: pd.DataFrame, params: Params, *, max_rows: int,
                       seed: int) -> dict[str, float]:
    """SDMetrics QualityReport, each property on its own; NaN stays NaN (it is not dropped)."""
    from sdmetrics.reports import QualityReport

    cols = _columns(params)
    r = real[cols].sample(n=min(max_rows, len(real)), random_state=seed)
    s = syn[cols].sample(n=min(max_rows, len(syn)), random_state=seed)
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"table": r}, {"table": s}, sdmetrics_metadata(params), verbose=False)
    props = report.get_properties()
    return {str(row["Property"]).lower().replace(" ", "_"): float(row["Score"])
            for _, row in props.iterrows()}


def coverage(real: pd.DataFrame, syn: pd.DataFrame, params: Params) -> dict[str, float]:
    """Category coverage (share of real labels the synthetic table has) and range coverage."""
    cat_hits, cat_total, ranges = 0, 0, []
    for col in _columns(params):
        spec = params.schema_[col]
        if spec.type == "categorical":
            real_labels = set(real[col].dropna().astype(str))
            cat_hits += len(real_labels & set(syn[col].dropna().astype(str)))
            cat_total += len(real_labels)
        else:
            r, s = real[col].dropna(), syn[col].dropna()
            if len(r) and len(s) and r.max() > r.min():
                overlap = min(r.max(), s.max()) - max(r.min(), s.min())
                ranges.append(max(0.0, overlap) / (r.max() - r.min()))
    return {"category": cat_hits / cat_total if cat_total else math.nan,
            "range": float(np.mean(ranges)) if ranges else math.nan}


def distinguishability(real: pd.DataFrame, syn: pd.DataFrame, params: Params, *, max_rows: int,
                       seed: int) -> float:
    """Cross-validated ROC-AUC of a classifier telling real rows from synthetic ones (0.5 is ideal)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_score

    cols = _columns(params)
    n = min(max_rows, len(real), len(syn))
    if n < 10:
        return math.nan
    both = pd.concat([real[cols].sample(n=n, random_state=seed), syn[cols].sample(n=n, random_state=seed)],
                     ignore_index=True)
    for col in cols:
        if params.schema_[col].type == "categorical":
            both[col] = both[col].astype("category")
    label = np.r_[np.zeros(n), np.ones(n)]
    model = HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype", random_state=seed)
    return float(cross_val_score(model, both, label, cv=3, scoring="roc_auc").mean())
