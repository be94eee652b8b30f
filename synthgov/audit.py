"""The audit stage: may this source be synthesized at all? Checked before anything trains.

- the data contract (synthgov.contract): the committed Great Expectations suite of the declared
  schema; only counts leave GX;
- the bias audit, per protected attribute (numeric ones by declared bins) and per declared
  intersection: group counts, shares against the declared reference population, outcome base
  rates, the disparate-impact ratio (lowest group base rate over the highest), the statistical
  parity difference (highest minus lowest), and a chi-squared test of independence of group and
  outcome. Groups under k rows are flagged and their figures suppressed;
- proxies and label quality (synthgov.proxies), direct identifiers and quasi-identifier risk
  (synthgov.identifiers), and drift against the source of the last promoted release
  (synthgov.drift).

Every finding is a CheckResult whose severity (block or warn) comes from params/gates.yaml.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from synthgov.checks import CheckResult
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
            "min_group_size": int(table["count"].min()) if len(table) else 0}


def _check(params: Params, name: str, score: float, goal: str, breakdown: dict[str, Any]) -> CheckResult:
    spec = params.gates.spec(name)
    return CheckResult.evaluate(name, score, spec.threshold, goal=goal, severity=spec.severity, stage="audit",
                                breakdown=breakdown)


def audit(df: pd.DataFrame, params: Params, type_errors: dict[str, int] | None = None, *,
          contract: dict[str, Any] | None = None, identifiers: list[dict[str, Any]] | None = None,
          last_profile: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[CheckResult]]:
    """Audit the source. Returns the report and its checks.

    Args:
        df: the source rows (declared columns, and any undeclared ones the caller still holds).
        type_errors: values per numeric column that were not numbers (from conform).
        contract: the data contract (default: the one the params imply).
        identifiers: identifier findings on columns the caller already dropped (ingest).
        last_profile: the source profile kept by the last promoted release, for drift.
    """
    from synthgov import contract as ctr, drift, identifiers as ids, proxies

    records = ctr.validate_contract(df, contract or ctr.contract_from_params(params))
    for col, bad in (type_errors or {}).items():
        records.append({"expectation": "expect_column_values_to_be_numeric", "column": col,
                        "success": False, "unexpected_count": bad})
    met = sum(r["success"] for r in records) / len(records)
    failed = [r for r in records if not r["success"]]
    present = [c for c in params.data.protected if c in df.columns]
    groups = audit_groups(df, params) if params.data.target in df.columns else {}
    bias = {name: group_stats(df, params, name, labels) for name, labels in groups.items()}
    found = [*(identifiers or []), *ids.detect_identifiers(df, params)]
    report: dict[str, Any] = {
        "rows": len(df), "contract": {"expectations": records, "share_met": met, "made_from": (contract or {}).get("made_from")},
        "bias": bias, "identifiers": found,
        "quasi_identifiers": ids.quasi_identifier_risk(df, [c for c in params.audit.quasi_identifiers if c in df.columns],
                                                        params.data.min_group_size),
    }
    if params.data.target in df.columns:
        report["proxies"] = {c: proxies.proxy_scores(df, protected_groups(df, params, c), params, c) for c in present}
        report["label_quality"] = proxies.label_quality(df, params)
    profile = drift.source_profile(df, params)
    report["source_profile"] = profile
    report["drift"] = drift.compare_profiles(last_profile, profile, params) if last_profile else \
        {"status": "no promoted release to compare with"}
    return report, _checks(report, params, met, failed, present)


def _checks(report: dict[str, Any], params: Params, met: float, failed: list[dict[str, Any]],
            present: list[str]) -> list[CheckResult]:
    bias = report["bias"]
    di = {a: bias[a]["disparate_impact"] for a in present if a in bias}
    sizes = {a: v["min_group_size"] for a, v in bias.items()}
    found = report["identifiers"]
    proxy_auc = {a: v["roc_auc"] for a, v in report.get("proxies", {}).items()}
    labels = report.get("label_quality", {})
    checks = [
        _check(params, "audit_contract", met, "maximize", {"failed_expectations": failed,
                                                             "expectations": len(report["contract"]["expectations"])}),
        _check(params, "audit_disparate_impact", np.nanmin(list(di.values())) if di else math.nan, "maximize",
               {"by_attribute": di, "flagged": [a for a in di if bias[a]["disparate_impact_flag"]]}),
        _check(params, "audit_min_group_size", min(sizes.values()) if sizes else math.nan, "maximize", sizes),
        _check(params, "audit_identifiers", float(len(found)), "minimize",
               {"columns": [f["column"] for f in found],
                "excluded": [f["column"] for f in found if not f["trained"]]}),
        _check(params, "audit_identifiers_trained", float(sum(f["trained"] for f in found)), "minimize",
               {"columns": [f["column"] for f in found if f["trained"]],
                "fix": "add these columns to data.exclude in params/data.yaml"}),
        _check(params, "audit_quasi_identifiers", report["quasi_identifiers"]["unique_share"], "minimize",
               report["quasi_identifiers"]),
    ]
    if proxy_auc:
        checks.append(_check(params, "audit_proxies", max(proxy_auc.values()), "minimize",
                             {"roc_auc": proxy_auc, "flagged": [a for a, v in proxy_auc.items()
                                                                if v > params.gates.spec("audit_proxies").threshold]}))
    if labels.get("suspected_errors") is not None:
        checks.append(_check(params, "audit_label_issues", labels["suspected_share"], "minimize", labels))
    if "max_psi" in report["drift"]:
        checks.append(_check(params, "audit_drift", report["drift"]["max_psi"], "minimize",
                             {"drifted": report["drift"]["drifted"]}))
    return checks
