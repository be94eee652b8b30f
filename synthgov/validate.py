"""The validate stage: is the synthetic table faithful, useful for every group, and no less fair?

Fidelity (synthgov.fidelity), utility as TSTR against TRTR for two learners with bootstrap
intervals (synthgov.utility), and per-subgroup utility and downstream fairness on the real holdout
(synthgov.fairness). Gates compare a declared bound of each interval with their threshold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from synthgov import fairness, fidelity, utility
from synthgov.audit import protected_groups
from synthgov.checks import CheckResult
from synthgov.params import Params

LEARNERS = ("gradient_boosting", "logistic_regression")


def learner_auc(train: pd.DataFrame, holdout: pd.DataFrame, params: Params) -> float:
    """ROC-AUC on `holdout` of the gradient-boosting learner fitted on `train` (NaN if not computable)."""
    cats = _categories(params, train, holdout)
    _, p = utility.fit_predict("gradient_boosting", train, holdout, params, cats)
    _, y = utility.design(holdout, params, cats)
    return utility.scores(y, p)["roc_auc"]


def _categories(params: Params, *frames: pd.DataFrame) -> dict[str, list[str]]:
    return {c: utility.categories_of(s, *frames, column=c) for c, s in params.schema_.items()
            if s.type == "categorical"}


def _utility(train, holdout, synthetic, params, cats, y) -> tuple[dict[str, Any], dict[str, Any]]:
    vp = params.validate_
    out, preds = {}, {}
    for name in LEARNERS:
        m_s, p_s = utility.fit_predict(name, synthetic, holdout, params, cats)
        m_r, p_r = utility.fit_predict(name, train, holdout, params, cats)
        preds[name] = (m_s, p_s, m_r, p_r)

        def one_round(idx, p_s=p_s, p_r=p_r):
            tstr = utility.scores(y[idx], None if p_s is None else p_s[idx])
            trtr = utility.scores(y[idx], p_r[idx])
            vals = {f"tstr.{k}": v for k, v in tstr.items()}
            vals.update({f"trtr.{k}": v for k, v in trtr.items()})
            vals.update({f"ratio.{k}": (tstr[k] / trtr[k] if trtr[k] else math.nan) for k in tstr})
            return vals

        cis = utility.bootstrap(one_round, len(y), rounds=vp.bootstrap_rounds, seed=vp.seed)
        out[name] = {metric: {kind: cis[f"{kind}.{metric}"] for kind in ("tstr", "trtr", "ratio")}
                     for metric in ("roc_auc", "pr_auc", "balanced_accuracy", "minority_f1")}
    m_s, _, m_r, _ = preds["gradient_boosting"]
    out["importance_rank_correlation"] = utility.importance_rank_correlation(
        m_s, m_r, holdout, params, cats, rows=vp.importance_rows, seed=vp.seed)
    return out, preds


def _fairness(y, p_s, p_r, groups, params) -> dict[str, Any]:
    vp, k = params.validate_, params.data.min_group_size
    out = {}
    for attr in params.data.protected:
        s = groups[attr]
        gaps = fairness.gap_bootstrap(y, p_s >= 0.5, p_r >= 0.5, s, k=k,
                                      rounds=vp.fairness_bootstrap_rounds, seed=vp.seed)
        out[attr] = {"tstr": fairness.fairness_metrics(y, p_s, s, k),
                     "trtr": fairness.fairness_metrics(y, p_r, s, k), **gaps}
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


def validate(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, params: Params
             ) -> tuple[dict[str, Any], list[CheckResult]]:
    """Every validation metric, with intervals, and one check per validation gate."""
    vp = params.validate_
    cats = _categories(params, train, holdout, synthetic)
    _, y = utility.design(holdout, params, cats)
    columns = fidelity.column_scores(train, synthetic, params)
    pairs = fidelity.pair_scores(train, synthetic, params)
    quality = fidelity.quality_properties(train, synthetic, params, max_rows=vp.quality_rows, seed=vp.seed)
    cover = fidelity.coverage(train, synthetic, params)
    disting = fidelity.distinguishability(train, synthetic, params, max_rows=vp.distinguish_rows, seed=vp.seed)
    util, preds = _utility(train, holdout, synthetic, params, cats, y)
    _, p_s, _, p_r = preds["gradient_boosting"]
    groups = fairness.group_columns(holdout, params)
    if p_s is None:  # one class only in the synthetic labels: nothing downstream can be scored
        p_s = np.full(len(y), float(np.mean(synthetic[params.data.target] == params.data.positive_label)))
    subgroups = fairness.subgroup_utility(y, p_s, p_r, groups, params, f1_drop=vp.subgroup_f1_drop)
    fair = _fairness(y, p_s, p_r, groups, params)
    representation = {a: {"source": _shares(train, params, a), "synthetic": _shares(synthetic, params, a),
                          "reference": params.data.reference_population.get(a)}
                      for a in params.data.protected}
    report = {
        "synthetic_rows": len(synthetic), "holdout_rows": len(holdout),
        "fidelity": {"columns": columns, "pairs": pairs, "quality_report": quality, "coverage": cover,
                     "distinguishability_auc": disting},
        "utility": util, "subgroups": subgroups, "fairness": fair, "representation": representation,
        "fairness_mode": params.generate.fairness.mode,
        "tstr_auc": util["gradient_boosting"]["roc_auc"]["tstr"]["point"],
        "trtr_auc": util["gradient_boosting"]["roc_auc"]["trtr"]["point"],
    }
    report["tstr_ratio"] = util["gradient_boosting"]["roc_auc"]["ratio"]["point"]
    return report, _checks(report, params)


def _nanmax(values) -> float:
    values = list(values)
    return math.nan if not values or any(math.isnan(v) for v in values) else max(values)


def _nanmin(values) -> float:
    values = list(values)
    return math.nan if not values or any(math.isnan(v) for v in values) else min(values)


def _checks(report: dict[str, Any], params: Params) -> list[CheckResult]:
    spec, fid = params.gates.spec, report["fidelity"]

    def check(name, score, goal, breakdown):
        s = spec(name)
        return CheckResult.evaluate(name, score, s.threshold, goal=goal, severity=s.severity,
                                    stage="validate", breakdown=breakdown)

    cols = fid["columns"]
    ratios = {n: report["utility"][n]["roc_auc"]["ratio"] for n in LEARNERS}
    fair_attr = params.generate.fairness.attribute if params.generate.fairness.mode != "none" else None
    dp_gaps = {a: v["dp_difference_gap"]["upper"] for a, v in report["fairness"].items()}
    eo_gaps = {a: v["eo_difference_gap"]["upper"] for a, v in report["fairness"].items()}
    dp_score = _nanmax(dp_gaps.values())
    if fair_attr in dp_gaps:  # a fairness mode must make its attribute fairer, not merely as fair
        dp_score = max(dp_score, dp_gaps[fair_attr] + spec("fairness_dp_gap").threshold)
    return [
        check("fidelity_column", float(np.mean([c["complement"] for c in cols.values()])), "maximize",
              {c: v["complement"] for c, v in cols.items()}),
        check("fidelity_js", _nanmax(c["js_distance"] for c in cols.values()), "minimize",
              {c: v["js_distance"] for c, v in cols.items()}),
        check("fidelity_pairs", fid["pairs"]["mean_similarity"], "maximize", {}),
        check("quality_column_shapes", fid["quality_report"].get("column_shapes", math.nan), "maximize",
              fid["quality_report"]),
        check("quality_column_pair_trends", fid["quality_report"].get("column_pair_trends", math.nan),
              "maximize", fid["quality_report"]),
        check("distinguishability", fid["distinguishability_auc"], "minimize", {}),
        check("coverage", _nanmin(fid["coverage"].values()), "maximize", fid["coverage"]),
        check("tstr_ratio", _nanmin(r["lower"] for r in ratios.values()), "maximize",
              {"bound": "lower", **{n: r for n, r in ratios.items()}}),
        check("subgroup_f1", float(len(report["subgroups"]["flagged"])), "minimize",
              {"flagged": report["subgroups"]["flagged"]}),
        check("fairness_dp_gap", dp_score, "minimize", {"bound": "upper", "by_attribute": dp_gaps,
                                                        "fairness_mode_attribute": fair_attr}),
        check("fairness_eo_gap", _nanmax(eo_gaps.values()), "minimize", {"bound": "upper", "by_attribute": eo_gaps}),
    ]
