"""The validate stage: is the synthetic table faithful, useful for every group, and no less fair?

- `fidelity`: per-column and pairwise similarity, SDMetrics' QualityReport properties, coverage and
  a real-vs-synthetic distinguishability AUC;
- `utility`: TSTR against TRTR for two learners on the locked real holdout;
- `fairness`: per-subgroup utility and downstream fairness (fairlearn) of the TSTR and TRTR models;
- `floor`: for a DP release, what its budget allows fidelity_js at this size (a release of the
  marginals alone that spends all of it on them), so a miss says whether the budget or the
  synthesizer is short.

`validate` below runs them with bootstrap intervals (synthgov.stats) and builds one check per
validation gate: each compares a declared bound of its interval with its threshold. The package
may import synthgov.params, synthgov.stats, synthgov.checks, synthgov.parallel and the audit's group
definitions.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from synthgov import stats
from synthgov.audit.bias import protected_groups
from synthgov.checks import CheckResult
from synthgov.params.schema import categories_of
from synthgov.parallel import fan_out
from synthgov.validation import fairness, fidelity, floor, utility
from synthgov.params import Params

LEARNERS = ("gradient_boosting", "logistic_regression")


def learner_auc(train: pd.DataFrame, holdout: pd.DataFrame, params: Params) -> float:
    """ROC-AUC on `holdout` of the gradient-boosting learner fitted on `train` (NaN if not computable)."""
    cats = _categories(params, train, holdout)
    _, p = utility.fit_predict("gradient_boosting", train, holdout, params, cats)
    _, y = utility.design(holdout, params, cats)
    return utility.scores(y, p)["roc_auc"]


def _categories(params: Params, *frames: pd.DataFrame) -> dict[str, list[str]]:
    return {c: categories_of(s, *frames, column=c) for c, s in params.schema_.items()
            if s.type == "categorical"}


def _fidelity(train: pd.DataFrame, synthetic: pd.DataFrame, params: Params
              ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fidelity metrics with intervals from one seeded bootstrap of both tables, and the draws of
    the gate summaries (mean complement, largest JS distance beyond chance, mean pair similarity,
    coverage)."""
    vp = params.validate_
    Wr = stats.resample_weights(len(train), rounds=vp.bootstrap_rounds, seed=vp.seed)
    Ws = stats.resample_weights(len(synthetic), rounds=vp.bootstrap_rounds, seed=vp.seed + 1)
    cols = fidelity.column_draws(train, synthetic, params, Wr, Ws)
    pairs = fidelity.pair_draws(train, synthetic, params, Wr, Ws)
    cover = fidelity.coverage_draws(cols)
    beyond = {c: fidelity.beyond_chance(v["js_distance"]) for c, v in cols.items()}
    sims = [v["similarity"] for m in pairs.values() for v in m.values()]
    draws = {
        "column": np.mean([c["complement"] for c in cols.values()], axis=0),
        "js": np.max([js for js, _ in beyond.values()], axis=0),  # NaN propagates: a failed check
        "pairs": np.mean(sims, axis=0) if sims else np.full(len(Wr), np.nan),
        "coverage": np.minimum(cover["category"], cover["range"]),  # NaN propagates
        "distinguishability": fidelity.distinguishability(train, synthetic, params, max_rows=vp.distinguish_rows,
                                                          seed=vp.seed, rounds=vp.bootstrap_rounds),
    }
    spread, rounds = fidelity.distinguishability_spread(train, synthetic, params, max_rows=vp.distinguish_rows,
                                                       seed=vp.seed, rounds=vp.distinguish_null_rounds)
    ci = stats.interval
    report = {
        "columns": {c: {"complement": ci(v["complement"]), "js_distance": ci(v["js_distance"]),
                        "js_beyond_chance": ci(beyond[c][0]), "js_chance": round(beyond[c][1], 4)}
                    for c, v in cols.items()},
        "pairs": {**{m: {pair: {k: ci(x) for k, x in v.items()} for pair, v in by_pair.items()}
                     for m, by_pair in pairs.items()}, "mean_similarity": ci(draws["pairs"])},
        "quality_report": fidelity.quality_properties(train, synthetic, params, max_rows=vp.quality_rows,
                                                      seed=vp.seed, rounds=vp.quality_bootstrap_rounds),
        "coverage": {k: ci(v) for k, v in cover.items()},
        # the classifier's training chance, which the bootstrap of its predictions cannot see
        "distinguishability_auc": stats.widened(ci(draws["distinguishability"]), spread),
        "distinguishability_chance": {"spread": spread, "pairs": rounds},
        "mean_complement": ci(draws["column"]), "max_js_beyond_chance": ci(draws["js"]),
        "bootstrap_rounds": vp.bootstrap_rounds,
    }
    if report["distinguishability_auc"]["upper"] > params.gates.spec("distinguishability").threshold:
        # not a pass: which column tells the tables apart (one more fit a column, only then)
        report["distinguishability_without"] = fidelity.distinguishability_without(
            train, synthetic, params, max_rows=vp.distinguish_rows, seed=vp.seed)
    return report, draws


def _utility(train, holdout, synthetic, params, cats, y) -> tuple[dict[str, Any], dict[str, Any]]:
    vp = params.validate_
    out, preds = {}, {}
    W = stats.resample_weights(len(y), rounds=vp.bootstrap_rounds, seed=vp.seed)
    for name in LEARNERS:
        m_s, p_s = utility.fit_predict(name, synthetic, holdout, params, cats)
        m_r, p_r = utility.fit_predict(name, train, holdout, params, cats)
        preds[name] = (m_s, p_s, m_r, p_r)
        tstr, trtr = utility.weighted_scores(W, y, p_s), utility.weighted_scores(W, y, p_r)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws = {"tstr": tstr, "trtr": trtr, "ratio": {k: tstr[k] / trtr[k] for k in tstr}}
        cis = {f"{kind}.{m}": stats.interval(v) for kind, d in draws.items() for m, v in d.items()}
        out[name] = {metric: {kind: cis[f"{kind}.{metric}"] for kind in ("tstr", "trtr", "ratio")}
                     for metric in ("roc_auc", "pr_auc", "balanced_accuracy", "minority_f1")}
    m_s, _, m_r, _ = preds["gradient_boosting"]
    out["importance_rank_correlation"] = utility.importance_rank_correlation(
        m_s, m_r, holdout, params, cats, rows=vp.importance_rows, seed=vp.seed, repeats=vp.importance_repeats)
    return out, preds


def _chance_pairs(train: pd.DataFrame, holdout: pd.DataFrame, params: Params, cats: dict[str, list[str]]
                  ) -> tuple[dict[str, list[tuple[np.ndarray, np.ndarray]]], float]:
    """The real-vs-real null of the fairness gaps and of the TSTR/TRTR ratio: per learner, holdout
    probabilities of pairs of models, each pair trained on two disjoint random halves of the
    training rows (at most validate.fairness_null_rows each), and the ratio m / n of a model's rows
    to the table's. The fairness gaps use the gradient-boosting pairs (the TSTR and TRTR model's
    learner)."""
    vp, n = params.validate_, len(train)
    m = min(n // 2, vp.fairness_null_rows)
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in LEARNERS}
    for r in range(vp.fairness_null_rounds if m >= 2 * params.data.min_group_size else 0):  # else: too few to fit
        order = np.random.default_rng([vp.seed, r]).permutation(n)
        halves = [train.iloc[np.sort(order[i * m:(i + 1) * m])] for i in (0, 1)]
        for name in LEARNERS:
            (_, p_a), (_, p_b) = (utility.fit_predict(name, half, holdout, params, cats) for half in halves)
            if p_a is not None and p_b is not None:
                pairs[name].append((p_a, p_b))
    return pairs, m / max(n, 1)


def _fairness(y, p_s, p_r, s, params, chance) -> dict[str, Any]:
    """Downstream fairness of the TSTR and TRTR models for one protected attribute's groups `s`;
    the gaps' intervals also hold the training samples' chance differences (`chance`: _chance_pairs')."""
    vp, k = params.validate_, params.data.min_group_size
    pairs, scale = chance[0]["gradient_boosting"], chance[1]
    spread = fairness.chance_spread(y, pairs, s, k=k, scale=scale)
    gaps = fairness.gap_bootstrap(y, p_s, p_r, s, k=k, rounds=vp.fairness_bootstrap_rounds, seed=vp.seed,
                                  spread=spread)
    out = {kind: {**fairness.fairness_metrics(y, p, s, k), "intervals": gaps.pop(kind)}
           for kind, p in (("tstr", p_s), ("trtr", p_r))}
    out.update(gaps)
    out["chance_spread"] = {"dp": spread["dp"], "eo": spread["eo"], "pairs": len(pairs)}
    return out


def _shares(df: pd.DataFrame, params: Params, attr: str) -> dict[str, Any]:
    """Group shares and positive rates, suppressing groups under k rows."""
    k = params.data.min_group_size
    labels = protected_groups(df, params, attr).fillna("(missing)").astype(str)
    positive = (df[params.data.target] == params.data.positive_label).astype(float)
    out = {}
    for g, grp in positive.groupby(labels):
        out[str(g)] = ({"share": len(grp) / len(df), "base_rate": float(grp.mean())} if len(grp) >= k
                       else {"under_k": True})
    return out


def validate(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, params: Params,
             budget: tuple[float, float] | None = None) -> tuple[dict[str, Any], list[CheckResult]]:
    """Every validation metric, with intervals, and one check per validation gate.

    `budget`: the (epsilon, delta) the synthetic table was released under, when it is a DP release
    of `train` (None: unknown, as for a table made elsewhere); the report then gives fidelity_js's
    floor at that budget (synthgov.validation.floor), and a miss of fidelity_js says whether the
    budget or the synthesizer is short."""
    vp = params.validate_
    full = {"training": len(train), "synthetic": len(synthetic), "holdout": len(holdout)}
    representation = {a: {"source": _shares(train, params, a), "synthetic": _shares(synthetic, params, a),
                          "reference": params.data.reference_population.get(a)}
                      for a in params.data.protected}
    train, synthetic, holdout = (_at_most(df, vp.max_rows, vp.seed + i) for i, df in enumerate((train, synthetic, holdout)))
    cats = _categories(params, train, holdout, synthetic)
    _, y = utility.design(holdout, params, cats)
    # independent parts, each with its own seeded draws: fanned out on Dask (synthgov.parallel)
    parts = fan_out({"fidelity": (_fidelity, (train, synthetic, params)),
                     "utility": (_utility, (train, holdout, synthetic, params, cats, y)),
                     "chance pairs": (_chance_pairs, (train, holdout, params, cats))})
    (fid, fid_draws), (util, preds), chance = parts["fidelity"], parts["utility"], parts["chance pairs"]
    if budget is not None and math.isfinite(budget[0]):
        fid["marginal_floor"] = floor.marginal_floor(train, params, *budget, rows=len(synthetic))
    _, p_s, _, p_r = preds["gradient_boosting"]
    groups = fairness.group_columns(holdout, params)
    if p_s is None:  # one class only in the synthetic labels: nothing downstream can be scored
        p_s = np.full(len(y), float(np.mean(synthetic[params.data.target] == params.data.positive_label)))
    by_group = fan_out({"subgroups": (partial(fairness.subgroup_utility, f1_drop=vp.subgroup_f1_drop),
                                      (y, p_s, p_r, groups, params)),
                        **{f"fairness {a}": (_fairness, (y, p_s, p_r, groups[a], params, chance))
                           for a in params.data.protected}})
    subgroups = by_group["subgroups"]
    fair = {a: by_group[f"fairness {a}"] for a in params.data.protected}
    # the ROC-AUC ratio's interval also holds the training samples' chance (each learner's null pairs)
    pairs, m = chance[0], round(chance[1] * len(train))
    util["chance_spread"] = {}
    for name in LEARNERS:
        roc, sd = util[name]["roc_auc"], utility.auc_chance_spread(y, pairs[name], m, len(synthetic), len(train))
        roc["ratio"] = stats.widened(roc["ratio"], sd / roc["trtr"]["point"] if roc["trtr"]["point"] else None)
        util["chance_spread"][name] = {"roc_auc": sd, "pairs": len(pairs[name])}
    report = {
        "synthetic_rows": full["synthetic"], "holdout_rows": full["holdout"],
        # the tables read as a uniform sample of validate.max_rows rows (never the exact training
        # count: under add-remove it is private)
        "rows_sampled": sorted(k for k, v in full.items() if v > vp.max_rows), "max_rows": vp.max_rows,
        "fidelity": fid,
        "utility": util, "subgroups": subgroups, "fairness": fair, "representation": representation,
        "fairness_mode": params.generate.fairness.mode,
        "tstr_auc": util["gradient_boosting"]["roc_auc"]["tstr"]["point"],
        "trtr_auc": util["gradient_boosting"]["roc_auc"]["trtr"]["point"],
    }
    report["tstr_ratio"] = util["gradient_boosting"]["roc_auc"]["ratio"]["point"]
    return report, _checks(report, fid_draws, params)


def _at_most(df: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """`df`, or a seeded uniform sample of `rows` of its rows (in their order) when it has more."""
    if len(df) <= rows:
        return df
    keep = np.sort(np.random.default_rng(seed).choice(len(df), size=rows, replace=False))
    return df.iloc[keep].reset_index(drop=True)


def _nanmax(values) -> float:
    values = list(values)
    return math.nan if not values or any(math.isnan(v) for v in values) else max(values)


def _nanmin(values) -> float:
    values = list(values)
    return math.nan if not values or any(math.isnan(v) for v in values) else min(values)


def _floor_remedy(js_floor: dict[str, Any], threshold: float, better: str, lower: float) -> str:
    """What fidelity_js's floor says of a miss whose interval starts at `lower`: the budget is short
    (the floor is over the threshold: no synthesizer can be expected under it here), the synthesizer
    is (the floor is under it), or both (the release is beyond the floor as well).

    >>> f = {"epsilon": 1.0, "upper": 0.21, "driven_by": "native_country", "reachable_at_epsilon": 5.0}
    >>> _floor_remedy(f, 0.15, "a better fit", 0.2)[:80]
    'the budget, not the synthesizer: a release of the marginals alone that spent all'
    >>> _floor_remedy(f, 0.15, "a better fit", 0.4)[:48]
    'the budget and the synthesizer: this release is '
    >>> _floor_remedy({**f, "upper": 0.1}, 0.15, "a better fit", 0.2)[-42:]
    'would score about 0.100 here; a better fit'
    """
    spent = (f"a release of the marginals alone that spent all of epsilon {js_floor['epsilon']:g} on them would "
             f"score about {js_floor['upper']:.3f} here")
    if js_floor["upper"] <= threshold:
        return f"within the budget: {spent}; {better}"
    reachable = js_floor["reachable_at_epsilon"]
    fix = (f"more source rows, or a privacy.epsilon of about {reachable:g} at this size" if reachable is not None
           else "more source rows (10 times this epsilon is not enough at this size)")
    short = (f"{spent} ({js_floor['driven_by']} drives it), over {threshold:g}, so no synthesizer can be expected "
             f"under it at this size and epsilon; {fix}")
    if not lower <= js_floor["upper"]:  # further off than the floor (or no interval to tell)
        return f"the budget and the synthesizer: this release is further than the budget explains, and {short}"
    return f"the budget, not the synthesizer: {short}"


def _checks(report: dict[str, Any], draws: dict[str, np.ndarray], params: Params) -> list[CheckResult]:
    """One check per validation gate. Each compares the conservative bound of its 95% interval
    (lower for a score to maximize, upper for one to minimize) with the threshold, except
    coverage: presence of a label or an extreme is biased down under resampling, so it gates on
    its point."""
    spec, fid = params.gates.spec, report["fidelity"]
    n_syn, n_hold = report["synthetic_rows"], report["holdout_rows"]
    tables = f"more rows: {n_syn} synthetic rows against the source's"
    holdout = f"a larger real holdout ({n_hold} rows now)"
    if report["rows_sampled"]:  # a table was read as a sample: reading more resolves more first
        tables = holdout = (f"a larger validate.max_rows (each table is read as a sample of at most "
                            f"{params.validate_.max_rows} rows)")

    # what would fix a resolved miss: a release that is measurably less faithful or less useful
    # needs a better fit (DP noise weighs most on a small table: Adult at 3,000 rows and epsilon 1
    # reaches distinguishability 0.91, at epsilon 3 0.86, at epsilon 10 0.81); one that adds bias
    # needs a fairness mode on the attribute that drove it
    better = ("a more faithful release: more source rows, a larger privacy.epsilon (DP noise weighs most "
              "on a small table), or another train.synthesizer")

    def check(name, score, goal, breakdown, optimistic=None, resolve=None, on_undecidable=None, remedy=better):
        s = spec(name)
        return CheckResult.evaluate(name, score, s.threshold, goal=goal, severity=s.severity, stage="validate",
                                    breakdown=breakdown, optimistic=optimistic,
                                    on_undecidable=on_undecidable or s.undecidable, resolve=resolve, remedy=remedy)

    def bounded(name, ci, goal, breakdown=None, resolve=tables, remedy=better):
        bound, other = ("lower", "upper") if goal == "maximize" else ("upper", "lower")
        return check(name, ci[bound], goal, {"bound": bound, "interval": ci, **(breakdown or {})},
                     optimistic=ci[other], resolve=resolve, remedy=remedy)

    def fairer(gaps: dict[str, float]) -> str:
        return (f"a fairness mode on {worst(gaps, 'minimize') or 'the attribute'} (generate.fairness: parity or "
                "rebalance), or more source rows of its smallest groups")

    def worst(scores: dict[str, float], goal: str) -> str | None:
        """The column, attribute or learner that drove a gate's score."""
        finite = {k: v for k, v in scores.items() if not math.isnan(v)}
        return (min if goal == "maximize" else max)(finite, key=finite.get) if finite else None

    cols = fid["columns"]
    without = fid.get("distinguishability_without")
    ratios = {n: report["utility"][n]["roc_auc"]["ratio"] for n in LEARNERS}
    fair_attr = params.generate.fairness.attribute if params.generate.fairness.mode != "none" else None
    gaps = {kind: {a: v[f"{kind}_difference_gap"] for a, v in report["fairness"].items()} for kind in ("dp", "eo")}
    # an attribute with fewer than two groups of k rows in the holdout (or, for equalized odds, of
    # k positives and k negatives) has no gap to score: named, and left out as its groups are
    unscored = {k: sorted(a for a, ci in gaps[k].items() if math.isnan(ci["point"])) for k in ("dp", "eo")}
    gaps = {k: {a: ci for a, ci in gaps[k].items() if a not in unscored[k]} for k in ("dp", "eo")}
    dp_gaps, eo_gaps = ({a: ci["upper"] for a, ci in gaps[k].items()} for k in ("dp", "eo"))
    dp_score, dp_optimistic = _nanmax(dp_gaps.values()), _nanmax(ci["lower"] for ci in gaps["dp"].values())
    if fair_attr in unscored["dp"]:  # a fairness mode's promise that cannot be shown fails
        dp_score = dp_optimistic = math.nan
    elif fair_attr in dp_gaps:  # a fairness mode must make its attribute fairer, not merely as fair
        shift = spec("fairness_dp_gap").threshold
        dp_score = max(dp_score, dp_gaps[fair_attr] + shift)
        dp_optimistic = max(dp_optimistic, gaps["dp"][fair_attr]["lower"] + shift)
    quality = fid["quality_report"]
    nan_ci = {"point": math.nan, "lower": math.nan, "upper": math.nan}
    complement = {c: v["complement"]["point"] for c, v in cols.items()}
    js = {c: v["js_beyond_chance"]["point"] for c, v in cols.items()}
    # a pair's lowest similarity over the metrics that score it ("a|b"), and SDMetrics' own per
    # column and per pair scores: the driver of a miss
    pair_sims: dict[str, float] = {}
    for by_pair in (v for m, v in fid["pairs"].items() if m != "mean_similarity"):
        for pair, ci in by_pair.items():
            pair_sims[pair] = min(pair_sims.get(pair, math.inf), ci["similarity"]["point"])
    shapes = quality.get("details", {}).get("column_shapes", {})
    trends = quality.get("details", {}).get("column_pair_trends", {})
    groups = f"{holdout}, or more rows of the smallest groups"
    js_floor, js_threshold = fid.get("marginal_floor"), spec("fidelity_js").threshold
    js_remedy, js_resolve = better, tables
    if js_floor:
        js_remedy = _floor_remedy(js_floor, js_threshold, better, fid["max_js_beyond_chance"]["lower"])
        if js_floor["upper"] > js_threshold:
            js_resolve = f"{tables}; {js_remedy}"
    return [
        bounded("fidelity_column", fid["mean_complement"], "maximize",
                {"by_column": complement, "driven_by": worst(complement, "maximize")}),
        bounded("fidelity_js", fid["max_js_beyond_chance"], "minimize",
                {"by_column": js, "driven_by": worst(js, "minimize"),
                 **({"budget_floor": js_floor} if js_floor else {})}, resolve=js_resolve, remedy=js_remedy),
        bounded("fidelity_pairs", fid["pairs"]["mean_similarity"], "maximize",
                {"by_pair": pair_sims, "driven_by": worst(pair_sims, "maximize")}),
        bounded("quality_column_shapes", quality.get("column_shapes", nan_ci), "maximize",
                {"by_column": shapes, "driven_by": worst(shapes, "maximize")}),
        bounded("quality_column_pair_trends", quality.get("column_pair_trends", nan_ci), "maximize",
                {"by_pair": trends, "driven_by": worst(trends, "maximize")}),
        bounded("distinguishability", fid["distinguishability_auc"], "minimize",
                {"auc_without": without, "driven_by": worst(without, "maximize")} if without else None,
                remedy=f"{better}; where the column that drove it holds heaped values (a bin decodes them "
                       "uniformly) or is a function of another column, declare that in schema.yaml (points "
                       "or discover_points; derived_from): DP discovery misses a heap of fewer rows than its "
                       "threshold (about 130 to 280 at the default budget), so on a small table declare them"),
        check("coverage", float(draws["coverage"][0]), "maximize",
              {"bound": "point", **{k: v["point"] for k, v in fid["coverage"].items()}}),
        check("tstr_ratio", _nanmin(r["lower"] for r in ratios.values()), "maximize",
              {"bound": "lower", **{n: r for n, r in ratios.items()},
               "driven_by": worst({n: r["lower"] for n, r in ratios.items()}, "maximize")},
              optimistic=_nanmin(r["upper"] for r in ratios.values()), resolve=holdout),
        check("subgroup_f1", float(len(report["subgroups"]["flagged"])), "minimize",
              {"flagged": report["subgroups"]["flagged"]}),
        check("fairness_dp_gap", dp_score, "minimize",
              {"bound": "upper", "by_attribute": dp_gaps, "fairness_mode_attribute": fair_attr,
               "not_scored": unscored["dp"], "driven_by": worst(dp_gaps, "minimize")},
              optimistic=dp_optimistic, resolve=groups, remedy=fairer(dp_gaps),
              # a fairness mode promises a fairer attribute: one it cannot show blocks, whatever the policy
              on_undecidable="block" if fair_attr in dp_gaps else None),
        check("fairness_eo_gap", _nanmax(eo_gaps.values()), "minimize",
              {"bound": "upper", "by_attribute": eo_gaps, "not_scored": unscored["eo"],
               "driven_by": worst(eo_gaps, "minimize")},
              optimistic=_nanmax(ci["lower"] for ci in gaps["eo"].values()), resolve=groups, remedy=fairer(eo_gaps)),
    ]
