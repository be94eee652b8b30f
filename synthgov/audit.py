"""The audit stage: the data contract and the bias audit of the source, before anything trains.

The contract is a Great Expectations suite built from the declared schema: every declared column
exists, numeric values are numbers inside the public bounds, categories are in the declared list,
non-nullable columns have no missing values, and the table is not empty. Only counts leave GX:
the raw values it lists for failed expectations are dropped here.

The bias audit reports, per protected attribute (numeric ones by declared bins), each group's
share and outcome base rate, and the disparate-impact ratio (lowest group base rate over the
highest). Groups under k rows are flagged and their counts suppressed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from synthgov.checks import CheckResult
from synthgov.params import Params

_KEPT_RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count")


def build_contract(params: Params) -> Any:
    """The GX expectation suite of the declared schema (GX is imported here: it is slow to import)."""
    import great_expectations as gx

    gx.get_context(mode="ephemeral")

    ex = gx.expectations
    suite = gx.ExpectationSuite(name="synthgov-source-contract")
    suite.add_expectation(ex.ExpectTableRowCountToBeBetween(min_value=1))
    for col, spec in params.schema_.items():
        suite.add_expectation(ex.ExpectColumnToExist(column=col))
        if spec.type == "numeric":
            suite.add_expectation(ex.ExpectColumnValuesToBeBetween(
                column=col, min_value=spec.lower, max_value=spec.upper))
        elif spec.categories:  # undeclared categories are estimated with DP at training time
            suite.add_expectation(ex.ExpectColumnValuesToBeInSet(column=col, value_set=spec.categories))
        if not spec.nullable:
            suite.add_expectation(ex.ExpectColumnValuesToNotBeNull(column=col))
    return suite


def run_contract(df: pd.DataFrame, params: Params) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Validate `df` against the contract. Returns one count-only record per expectation, and the suite."""
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = build_contract(params)
    asset = context.data_sources.add_pandas("synthgov").add_dataframe_asset("source")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format="SUMMARY")
    records = []
    for r in result.results:
        cfg = r.expectation_config
        counts = {k: r.result[k] for k in _KEPT_RESULT_KEYS if k in r.result}
        records.append({"expectation": cfg.type, "column": cfg.kwargs.get("column"),
                        "success": bool(r.success), **counts})
    return records, suite.to_json_dict()


def protected_groups(df: pd.DataFrame, params: Params, column: str) -> pd.Series:
    """Group labels of a protected attribute; numeric ones cut by their declared bins."""
    if column in params.data.protected_bins:
        edges = params.data.protected_bins[column]
        labels = [f"[{a:g}, {b:g})" for a, b in zip(edges, edges[1:])]
        return pd.cut(df[column], bins=edges, right=False, labels=labels).astype(object)
    return df[column]


def group_stats(df: pd.DataFrame, params: Params, column: str) -> dict[str, Any]:
    """Shares and base rates per group of one protected attribute, and its disparate-impact ratio.

    Counts and rates of groups under k rows are suppressed (only the flag remains).
    """
    k = params.data.min_group_size
    groups = protected_groups(df, params, column).fillna("(missing)")
    positive = (df[params.data.target] == params.data.positive_label).astype(float)
    table = positive.groupby(groups).agg(["count", "mean"])
    out, rates = {}, []
    for group, row in table.iterrows():
        n = int(row["count"])
        if n >= k:
            out[str(group)] = {"count": n, "share": n / len(df), "base_rate": float(row["mean"])}
            rates.append(float(row["mean"]))
        else:
            out[str(group)] = {"count": None, "share": None, "base_rate": None, "under_k": True}
    di = min(rates) / max(rates) if len(rates) >= 2 and max(rates) > 0 else math.nan
    sizes = table["count"]
    reference = params.data.reference_population.get(column, {})
    for group, share in reference.items():
        entry = out.setdefault(group, {"count": None, "share": None, "base_rate": None, "under_k": True})
        entry["reference_share"] = share
        source_share = entry["share"] if entry["share"] is not None else 0.0
        entry["reference_gap_flag"] = abs(source_share - share) > params.data.reference_gap
    return {"groups": out, "disparate_impact": di, "min_group_size": int(sizes.min()) if len(sizes) else 0}


def audit(df: pd.DataFrame, params: Params, type_errors: dict[str, int] | None = None
          ) -> tuple[dict[str, Any], list[CheckResult]]:
    """Audit the source. Returns the report and its checks (contract, disparate impact, group size)."""
    gates = params.gates
    records, suite = run_contract(df, params)
    for col, bad in (type_errors or {}).items():
        records.append({"expectation": "expect_column_values_to_be_numeric", "column": col,
                        "success": False, "unexpected_count": bad})
    met = sum(r["success"] for r in records) / len(records)
    failed = [r for r in records if not r["success"]]
    bias = {col: group_stats(df, params, col) for col in params.data.protected}
    di = {col: b["disparate_impact"] for col, b in bias.items()}
    min_sizes = {col: b["min_group_size"] for col, b in bias.items()}
    spec = gates.spec
    checks = [
        CheckResult.evaluate("audit_contract", met, spec("audit_contract").threshold, goal="maximize",
                             severity=spec("audit_contract").severity, stage="audit",
                             breakdown={"failed_expectations": failed, "expectations": len(records)}),
        CheckResult.evaluate("audit_disparate_impact", np.nanmin(list(di.values())) if di else math.nan,
                             spec("audit_disparate_impact").threshold, goal="maximize",
                             severity=spec("audit_disparate_impact").severity, stage="audit",
                             breakdown=di),
        CheckResult.evaluate("audit_min_group_size", min(min_sizes.values()) if min_sizes else math.nan,
                             spec("audit_min_group_size").threshold, goal="maximize",
                             severity=spec("audit_min_group_size").severity, stage="audit",
                             breakdown=min_sizes),
    ]
    report = {"rows": len(df), "contract": {"expectations": records, "share_met": met},
              "bias": bias, "suite": suite}
    return report, checks
