"""The audit stage: may this source be synthesized at all? Checked before anything trains.

The package holds one module per finding, and `audit` below runs them all:
- `contract`: the committed Great Expectations suite of the declared schema; only counts leave GX;
- `bias`: shares against the declared reference population, base rates, disparate impact,
  statistical parity and a chi-squared test per protected attribute and intersection, groups
  under k suppressed;
- `proxies` and `labels`: cross-validated proxy detection and confident-learning label quality;
- `identifiers`: direct identifiers and quasi-identifier risk;
- `drift`: the source against the k-suppressed profile of the last promoted release's source.

Every finding is a CheckResult whose severity (block or warn) comes from params/gates.yaml. The
package may import synthgov.params, synthgov.checks, synthgov.errors and the schema encoder's
bin edges; nothing here trains, generates or writes files.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from synthgov.audit.bias import audit_groups, group_stats, protected_groups
from synthgov.checks import CheckResult
from synthgov.stats import suppress
from synthgov.params import Params


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
    from synthgov.audit import contract as ctr, drift, identifiers as ids, labels, proxies

    records = ctr.validate_contract(df, contract or ctr.contract_from_params(params), params.data.min_group_size)
    for col, bad in (type_errors or {}).items():
        records.append({"expectation": "expect_column_values_to_be_numeric", "column": col,
                        "success": False, "unexpected_count": suppress(bad, params.data.min_group_size)})
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
        report["label_quality"] = labels.label_quality(df, params)
    profile = drift.source_profile(df, params)
    report["source_profile"] = profile
    report["drift"] = drift.compare_profiles(last_profile, profile, params) if last_profile else \
        {"status": "no promoted release to compare with"}
    return report, _checks(report, params, met, failed, present)


def _checks(report: dict[str, Any], params: Params, met: float, failed: list[dict[str, Any]],
            present: list[str]) -> list[CheckResult]:
    bias = report["bias"]
    di = {a: bias[a]["disparate_impact"] for a in present if a in bias}
    under_k = {a: v["groups_under_k"] for a, v in bias.items() if v["groups_under_k"]}
    found = report["identifiers"]
    proxy_auc = {a: v["roc_auc"] for a, v in report.get("proxies", {}).items()}
    labels = report.get("label_quality", {})
    checks = [
        _check(params, "audit_contract", met, "maximize", {"failed_expectations": failed,
                                                             "expectations": len(report["contract"]["expectations"])}),
        _check(params, "audit_disparate_impact", np.nanmin(list(di.values())) if di else math.nan, "maximize",
               {"by_attribute": di, "flagged": [a for a in di if bias[a]["disparate_impact_flag"]]}),
        _check(params, "audit_min_group_size", float(sum(len(v) for v in under_k.values())) if bias else math.nan,
               "minimize", {"groups_under_k": under_k, "k": params.data.min_group_size}),
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
        share = labels["suspected_share"]  # None when the count is under k: score its upper bound k / n
        score = share if share is not None else params.data.min_group_size / labels["rows_checked"]
        checks.append(_check(params, "audit_label_issues", score, "minimize", labels))
    if "max_psi" in report["drift"]:
        checks.append(_check(params, "audit_drift", report["drift"]["max_psi"], "minimize",
                             {"drifted": report["drift"]["drifted"]}))
    return checks
