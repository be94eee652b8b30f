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
from scipy import sparse
from scipy.spatial.distance import jensenshannon

from synthgov.params.schema import bin_edges
from synthgov.params import Params
from synthgov.stats import resample_weights, weighted_auc

MISSING = "(missing)"


def _columns(params: Params) -> list[str]:
    return [c for c in params.schema_ if c not in params.data.exclude]


def distribution(real: pd.Series, syn: pd.Series, spec) -> tuple[np.ndarray, np.ndarray]:
    """Aligned frequency vectors of a column over public bins or the union of labels."""
    if spec.type == "numeric":
        edges = bin_edges(spec)
        p = np.histogram(np.clip(real.dropna(), edges[0], edges[-1]), bins=edges)[0].astype(float)
        q = np.histogram(np.clip(syn.dropna(), edges[0], edges[-1]), bins=edges)[0].astype(float)
        p, q = np.append(p, real.isna().sum()), np.append(q, syn.isna().sum())
    else:
        r, s = real.fillna(MISSING).astype(str), syn.fillna(MISSING).astype(str)
        labels = sorted(set(r) | set(s))
        p = r.value_counts().reindex(labels, fill_value=0).to_numpy(dtype=float)
        q = s.value_counts().reindex(labels, fill_value=0).to_numpy(dtype=float)
    return p, q


def _counts(W: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """Weighted counts of the codes 0..size-1, for every row of weights W (rows x size)."""
    onehot = sparse.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), size))
    return np.asarray((onehot.T @ W.T).T)


def _js(cr: np.ndarray, cs: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return jensenshannon(cr, cs, base=2, axis=1)


def _numeric_draws(r: np.ndarray, s: np.ndarray, spec, Wr: np.ndarray, Ws: np.ndarray) -> dict[str, np.ndarray]:
    rm, sm = ~np.isnan(r), ~np.isnan(s)
    values = np.unique(np.r_[r[rm], s[sm]])
    cr = _counts(Wr[:, rm], np.searchsorted(values, r[rm]), len(values))
    cs = _counts(Ws[:, sm], np.searchsorted(values, s[sm]), len(values))
    with np.errstate(invalid="ignore", divide="ignore"):
        ks = np.max(np.abs(np.cumsum(cr, axis=1) / cr.sum(axis=1, keepdims=True)
                           - np.cumsum(cs, axis=1) / cs.sum(axis=1, keepdims=True)), axis=1, initial=-np.inf)
    complement = np.where(np.isfinite(ks), 1 - ks, np.nan)  # NaN when a side has no values
    edges = bin_edges(spec)
    nb = len(edges) - 1

    def bins(x: np.ndarray) -> np.ndarray:  # np.histogram's bins over the clipped values, then missing
        codes = np.full(len(x), nb)
        ok = ~np.isnan(x)
        codes[ok] = np.clip(np.searchsorted(edges, np.clip(x[ok], edges[0], edges[-1]), side="right") - 1, 0, nb - 1)
        return codes

    js = _js(_counts(Wr, bins(r), nb + 1), _counts(Ws, bins(s), nb + 1))
    # range coverage: overlap of the resampled ranges over the real range
    present_r, present_s = cr > 0, cs > 0
    lo_r, hi_r = values[np.argmax(present_r, axis=1)], values[len(values) - 1 - np.argmax(present_r[:, ::-1], axis=1)]
    lo_s, hi_s = values[np.argmax(present_s, axis=1)], values[len(values) - 1 - np.argmax(present_s[:, ::-1], axis=1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        rng = np.where(hi_r > lo_r, np.maximum(0.0, np.minimum(hi_r, hi_s) - np.maximum(lo_r, lo_s)) / (hi_r - lo_r),
                       np.nan)
    if not present_s.any():
        rng = np.where(hi_r > lo_r, 0.0, np.nan)
    return {"complement": complement, "js_distance": js, "range_coverage": rng}


def _categorical_draws(r: pd.Series, s: pd.Series, Wr: np.ndarray, Ws: np.ndarray) -> dict[str, np.ndarray]:
    rl, sl = r.fillna(MISSING).astype(str), s.fillna(MISSING).astype(str)
    labels = sorted(set(rl) | set(sl))
    cr = _counts(Wr, pd.Categorical(rl, categories=labels).codes, len(labels))
    cs = _counts(Ws, pd.Categorical(sl, categories=labels).codes, len(labels))
    with np.errstate(invalid="ignore", divide="ignore"):
        tv = 0.5 * np.abs(cr / cr.sum(axis=1, keepdims=True) - cs / cs.sum(axis=1, keepdims=True)).sum(axis=1)
    real_labels = np.array([lab != MISSING for lab in labels])[None, :] & (cr > 0)
    return {"complement": 1 - tv, "js_distance": _js(cr, cs),
            "category_hits": (real_labels & (cs > 0)).sum(axis=1).astype(float),
            "category_total": real_labels.sum(axis=1).astype(float)}


def column_draws(real: pd.DataFrame, syn: pd.DataFrame, params: Params, Wr: np.ndarray, Ws: np.ndarray
                 ) -> dict[str, dict[str, np.ndarray]]:
    """Per column, for the point (row 0 of the weights) and every bootstrap resample of both tables:
    KS complement (numeric) or TV complement (categorical), SDMetrics' definitions, the
    Jensen-Shannon distance over public bins or labels, and the coverage counts."""
    out = {}
    for col in _columns(params):
        spec = params.schema_[col]
        if spec.type == "numeric":
            out[col] = _numeric_draws(real[col].to_numpy(dtype=float), syn[col].to_numpy(dtype=float), spec, Wr, Ws)
        else:
            out[col] = _categorical_draws(real[col], syn[col], Wr, Ws)
    return out


def beyond_chance(js: np.ndarray) -> tuple[np.ndarray, float]:
    """One column's Jensen-Shannon distances, the point (js[0]) and its bootstrap draws (js[1:]),
    less what sampling alone puts there; and that chance level, as a distance.

    Two finite samples of one distribution are apart by chance, the more so the fewer their rows
    and the more their bins: the plug-in divergence is biased up (Adult at 3,000 rows: a copy's
    bootstrap draws 0.05-0.08 on age, an independent real sample 0.07 on native_country's 42
    labels). A threshold set on 32,561 rows would ask more of a small table than of a large one.
    The bootstrap estimates that bias of the divergence (the distance squared) as its draws' mean
    less the point (Efron and Tibshirani 1993). The point carries it once and is corrected once;
    a draw, a resample of a sample, carries it twice and is corrected twice, so the draws centre on
    the corrected point with the bootstrap's spread. A distance below chance is 0.

    >>> js = np.sqrt(np.array([0.01, 0.012, 0.014, 0.013, 0.011]))  # draws add 0.0025 on average
    >>> d, chance = beyond_chance(js)
    >>> round(chance, 3), np.round(d ** 2, 4).tolist()
    (0.05, [0.0075, 0.007, 0.009, 0.008, 0.006])
    """
    d = np.asarray(js, dtype=float) ** 2
    draws = d[1:][~np.isnan(d[1:])]
    bias = max(0.0, float(draws.mean() - d[0])) if len(draws) and not math.isnan(d[0]) else 0.0
    times = np.r_[1.0, np.full(len(d) - 1, 2.0)]
    return np.sqrt(np.clip(d - bias * times, 0.0, None)), math.sqrt(bias)


def coverage_draws(columns: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Category coverage (share of real labels the synthetic table has) and mean range coverage."""
    hits = sum((v["category_hits"] for v in columns.values() if "category_hits" in v), np.zeros(1))
    total = sum((v["category_total"] for v in columns.values() if "category_total" in v), np.zeros(1))
    ranges = [v["range_coverage"] for v in columns.values() if "range_coverage" in v]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rounds give NaN
        return {"category": np.where(total > 0, hits / total, np.nan),
                "range": np.nanmean(np.vstack(ranges), axis=0) if ranges else np.full(len(hits), np.nan)}


def _weighted_corr(W: np.ndarray, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Pearson correlation of x and z over their complete rows, for every row of weights W."""
    m = ~np.isnan(x) & ~np.isnan(z)
    x = np.where(m, (x - np.nanmean(x)) / (np.nanstd(x) or 1.0), 0.0)
    z = np.where(m, (z - np.nanmean(z)) / (np.nanstd(z) or 1.0), 0.0)
    sw, sx, sz, sxx, szz, sxz = (W @ c for c in (m.astype(float), x, z, x * x, z * z, x * z))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sw * sxz - sx * sz) / np.sqrt((sw * sxx - sx ** 2) * (sw * szz - sz ** 2))


def _weighted_cramers_v(W: np.ndarray, a: pd.Series, b: pd.Series) -> np.ndarray:
    ca, la = pd.factorize(a.fillna(MISSING).astype(str))
    cb, lb = pd.factorize(b.fillna(MISSING).astype(str))
    obs = _counts(W, ca * len(lb) + cb, len(la) * len(lb)).reshape(len(W), len(la), len(lb))
    rows, cols = obs.sum(axis=2), obs.sum(axis=1)
    n = rows.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        exp = rows[:, :, None] * cols[:, None, :] / n[:, None, None]
        chi2 = np.where(exp > 0, (obs - exp) ** 2 / exp, 0.0).sum(axis=(1, 2))
        dof = np.minimum((rows > 0).sum(axis=1), (cols > 0).sum(axis=1)) - 1
        return np.where(dof >= 1, np.sqrt(chi2 / (n * dof)), np.nan)


def pair_draws(real: pd.DataFrame, syn: pd.DataFrame, params: Params, Wr: np.ndarray, Ws: np.ndarray
               ) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Pearson and Spearman (numeric pairs) and Cramér's V (categorical pairs), real and synthetic,
    and their similarity 1 - |difference| / range (range 2 for correlations, 1 for V), for the
    point and every resample. Spearman resamples keep the ranks of the full tables."""
    cols = _columns(params)
    numeric = [c for c in cols if params.schema_[c].type == "numeric"]
    categorical = [c for c in cols if params.schema_[c].type == "categorical"]
    out: dict[str, Any] = {"pearson": {}, "spearman": {}, "cramers_v": {}}
    for method in ("pearson", "spearman"):
        def values(df: pd.DataFrame, col: str) -> np.ndarray:
            x = df[col].astype(float)
            return (x.rank() if method == "spearman" else x).to_numpy(dtype=float)
        for a, b in combinations(numeric, 2):
            vr = _weighted_corr(Wr, values(real, a), values(real, b))
            vs = _weighted_corr(Ws, values(syn, a), values(syn, b))
            out[method][f"{a}|{b}"] = {"real": vr, "synthetic": vs, "similarity": 1 - np.abs(vr - vs) / 2}
    for a, b in combinations(categorical, 2):
        vr, vs = _weighted_cramers_v(Wr, real[a], real[b]), _weighted_cramers_v(Ws, syn[a], syn[b])
        out["cramers_v"][f"{a}|{b}"] = {"real": vr, "synthetic": vs, "similarity": 1 - np.abs(vr - vs)}
    return out


def sdmetrics_metadata(params: Params) -> dict[str, Any]:
    """SDMetrics metadata from the declared schema (never SDV's detection, which reads the rows)."""
    columns = {c: {"sdtype": "numerical" if params.schema_[c].type == "numeric" else "categorical"}
               for c in _columns(params)}
    return {"tables": {"table": {"columns": columns}}}


def quality_properties(real: pd.DataFrame, syn: pd.DataFrame, params: Params, *, max_rows: int,
                       seed: int, rounds: int) -> dict[str, Any]:
    """SDMetrics QualityReport, each property on its own; NaN stays NaN (it is not dropped). Column
    Pair Trends is the mean of its pairs as `pair_trends_on_real_bins` scores them.

    The point is the report on `max_rows` sampled rows of each table; the interval is a normal one
    (point +- 1.96 sd) over `rounds` reports on bootstrap resamples of those rows (a full report
    costs about a second, too much for a percentile bootstrap). `details` holds the point report's
    score per column (column_shapes) and per pair "a|b" (column_pair_trends), what drove a miss.
    """
    from sdmetrics.reports import QualityReport

    cols = _columns(params)
    r = real[cols].sample(n=min(max_rows, len(real)), random_state=seed).reset_index(drop=True)
    s = syn[cols].sample(n=min(max_rows, len(syn)), random_state=seed).reset_index(drop=True)
    rng = np.random.default_rng(seed)

    def one(rr: pd.DataFrame, ss: pd.DataFrame) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        report = QualityReport()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.generate({"table": rr}, {"table": ss}, sdmetrics_metadata(params), verbose=False)
            shapes, trends = report.get_details("Column Shapes"), report.get_details("Column Pair Trends")
        scores = {str(row["Property"]).lower().replace(" ", "_"): float(row["Score"])
                  for _, row in report.get_properties().iterrows()}
        details = {"column_shapes": {str(row["Column"]): float(row["Score"]) for _, row in shapes.iterrows()
                                     if not pd.isna(row["Score"])},
                   "column_pair_trends": pair_trends_on_real_bins(trends, rr, ss, params)}
        if "column_pair_trends" in scores:
            pairs = details["column_pair_trends"]
            scores["column_pair_trends"] = float(np.mean(list(pairs.values()))) if pairs else math.nan
        return scores, details

    point, details = one(r, s)
    draws = [one(r.iloc[rng.integers(0, len(r), len(r))], s.iloc[rng.integers(0, len(s), len(s))])[0]
             for _ in range(rounds)] if len(r) and len(s) else []
    out: dict[str, Any] = {"details": details}
    for name, value in point.items():
        vals = np.array([d.get(name, math.nan) for d in draws], dtype=float)
        sd = float(np.std(vals, ddof=1)) if len(vals) > 1 and not np.isnan(vals).any() else math.nan
        out[name] = {"point": value, "lower": value - 1.96 * sd, "upper": value + 1.96 * sd}
    return out


def pair_trends_on_real_bins(details: pd.DataFrame, real: pd.DataFrame, syn: pd.DataFrame, params: Params
                             ) -> dict[str, float]:
    """SDMetrics' Column Pair Trends per pair "a|b" (the pairs its report averages: those whose real
    association meets its threshold), a numeric column binned on the real table's edges in both tables.

    The QualityReport property (SDMetrics 0.32) bins a numeric column of each table on that table's
    own range, so a synthetic table reaching further than the real one (a release using its public
    bounds) is compared bin for bin against shifted bins: on randhie at 8,000 rows, 1 % of a DP
    release's fmde above the real maximum put its tie with idp at 0.49 where the real bins give 0.92.
    Its ContingencySimilarity metric bins both tables on the real edges, open at both ends (what its
    maintainers specify, sdv-dev/SDMetrics#368): the pairs of a numeric and a categorical column are
    rescored with it; the other pairs keep the report's scores.

    >>> pair_trends_on_real_bins(pd.DataFrame(), None, None, None)  # a table of one column has no pairs
    {}
    """
    from sdmetrics.column_pairs import ContingencySimilarity

    out: dict[str, float] = {}
    if details.empty:  # a single column: no pairs
        return out
    meets = (details["Meets Threshold?"].astype("boolean").fillna(False) if "Meets Threshold?" in details
             else details["Score"].notna())
    for _, row in details[meets.to_numpy(dtype=bool)].iterrows():
        if pd.isna(row["Score"]):
            continue
        a, b = str(row["Column 1"]), str(row["Column 2"])
        numeric = [c for c in (a, b) if params.schema_[c].type == "numeric"]
        score = float(row["Score"])
        if row["Metric"] == "ContingencySimilarity" and numeric:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = float(ContingencySimilarity.compute(real[[a, b]], syn[[a, b]],
                                                            continuous_column_names=numeric, num_discrete_bins=10))
        out[f"{a}|{b}"] = score
    return out


def _real_or_synthetic(real: pd.DataFrame, syn: pd.DataFrame, params: Params, *, max_rows: int, seed: int
                       ) -> tuple[pd.DataFrame, np.ndarray]:
    """n rows of each table (n the smaller size, at most max_rows), stacked, and the label (1: synthetic)."""
    cols = _columns(params)
    n = min(max_rows, len(real), len(syn))
    both = pd.concat([real[cols].sample(n=n, random_state=seed), syn[cols].sample(n=n, random_state=seed)],
                     ignore_index=True)
    for col in cols:
        if params.schema_[col].type == "categorical":
            both[col] = both[col].astype("category")
    return both, np.r_[np.zeros(n), np.ones(n)]


def _classifier(seed: int, early_stopping: bool | str = "auto"):
    """The real-vs-synthetic classifier ("auto": it stops early when fitted on over 10,000 rows)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype", random_state=seed,
                                          early_stopping=early_stopping)


def _out_of_fold(both: pd.DataFrame, label: np.ndarray, seed: int) -> np.ndarray:
    """The real-vs-synthetic classifier's pooled 3-fold out-of-fold probabilities of 'synthetic'."""
    from sklearn.model_selection import cross_val_predict

    return cross_val_predict(_classifier(seed), both, label, cv=3, method="predict_proba")[:, 1]


def distinguishability(real: pd.DataFrame, syn: pd.DataFrame, params: Params, *, max_rows: int,
                       seed: int, rounds: int) -> np.ndarray:
    """ROC-AUC of a classifier telling real rows from synthetic ones (0.5 is ideal), over its pooled
    3-fold out-of-fold predictions: the point, then one value per bootstrap resample of the rows."""
    if min(max_rows, len(real), len(syn)) < 10:
        return np.full(rounds + 1, np.nan)
    both, label = _real_or_synthetic(real, syn, params, max_rows=max_rows, seed=seed)
    p = _out_of_fold(both, label, seed)
    return weighted_auc(resample_weights(len(label), rounds=rounds, seed=seed), label, p)


def distinguishability_spread(real: pd.DataFrame, syn: pd.DataFrame, params: Params, *, max_rows: int,
                              seed: int, rounds: int) -> tuple[float, int]:
    """How far the classifier's AUC spreads by the chance of its training rows, which a bootstrap of
    its out-of-fold predictions cannot see (it holds the fitted classifiers fixed), and the number
    of pairs it comes from (NaN and 0 without any).

    Each round holds out a third of the stacked rows (stratified) and fits the classifier on each of
    the other two thirds: on the same held-out rows, their AUCs differ by their training rows'
    chance alone, with variance 2 var_m for m training rows. The 3-fold classifiers are fitted on 2m
    rows each, and with a classifier's variance falling as 1/n theirs is var_m / 2: the spread is
    sqrt(mean d^2 / 4). benchmarks/interval_null.py: real-vs-real AUCs spread 1.26-1.57 times the
    bootstrap's standard error, 0.82-1.00 times the widened interval's.
    """
    from sklearn.metrics import roc_auc_score

    if rounds == 0 or min(max_rows, len(real), len(syn)) < 30:
        return math.nan, 0
    both, label = _real_or_synthetic(real, syn, params, max_rows=max_rows, seed=seed)
    # fitted as the 3-fold classifiers are: they stop early when they hold over 10,000 rows
    stops = len(both) - len(both) // 3 > 10_000
    d = []
    for r in range(rounds):
        rng = np.random.default_rng([seed, r])
        thirds = [np.array_split(rng.permutation(np.flatnonzero(label == k)), 3) for k in (0, 1)]
        test, a, b = (np.concatenate([thirds[0][i], thirds[1][i]]) for i in range(3))
        aucs = [roc_auc_score(label[test], _classifier(seed, stops).fit(both.iloc[rows], label[rows])
                              .predict_proba(both.iloc[test])[:, 1]) for rows in (a, b)]
        d.append(aucs[0] - aucs[1])
    return math.sqrt(float(np.mean(np.square(d))) / 4), len(d)


def distinguishability_without(real: pd.DataFrame, syn: pd.DataFrame, params: Params, *, max_rows: int,
                               seed: int) -> dict[str, float]:
    """Per column, the classifier's AUC with that column left out (one fit a column): the column
    whose removal lowers it most is what tells the tables apart most (its marginal, heaped values
    spread over a bin, a relation with another column the release breaks)."""
    from sklearn.metrics import roc_auc_score

    if min(max_rows, len(real), len(syn)) < 10:
        return {}
    both, label = _real_or_synthetic(real, syn, params, max_rows=max_rows, seed=seed)
    return {col: float(roc_auc_score(label, _out_of_fold(both.drop(columns=col), label, seed)))
            for col in both.columns}
