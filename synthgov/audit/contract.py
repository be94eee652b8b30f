"""The data contract of the source: a Great Expectations suite, versioned as JSON under checks/.

The contract is generated from the declared schema (params/schema.yaml) and the audit params
(params/audit.yaml): row-count bounds, the column set (and order, when declared), and per column
its presence, range or allowed categories, null rate and uniqueness, and for a derived column that
each row's value is the declared map's for its source label. It is committed as
checks/source_contract.json with the hash of what it was made from; the audit refuses a contract
that no longer matches the params, naming the command that regenerates it, so every change to
the contract is a reviewed commit.

`propose_contract` drafts a schema and contract from a source file for a person to review: only
category labels held by at least k rows and bounds rounded outward to two significant digits
leave the data.

GX is imported only to validate (it costs about 3.5 s to import).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgov.errors import ParamsError
from synthgov.params import Params
from synthgov.stats import UNDER_K, suppress

CONTRACT_PATH = Path("checks") / "source_contract.json"
_KEPT_RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "observed_value")


def _fingerprint(params: Params) -> str:
    # points (codes of the encoder) imply no expectation; `bounds: declared` is the default
    declared = {"schema": {c: s.model_dump(mode="json", exclude={"points", "bounds"} if s.bounds == "declared"
                                           else {"points"})
                           for c, s in params.schema_.items()},
                "audit": params.audit.model_dump(mode="json", include={"min_rows", "max_rows", "column_order",
                                                                        "max_null_rate", "identifier_unique_ratio"})}
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()[:16]


def contract_from_params(params: Params) -> dict[str, Any]:
    """The contract (a GX suite as plain JSON) that the declared schema and audit params imply."""
    ap = params.audit
    exp: list[dict[str, Any]] = [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": ap.min_rows, "max_value": ap.max_rows}},
        {"type": "expect_table_columns_to_match_ordered_list" if ap.column_order == "exact"
         else "expect_table_columns_to_match_set",
         "kwargs": {"column_list": list(params.schema_)} if ap.column_order == "exact"
         else {"column_set": list(params.schema_), "exact_match": False}},
    ]
    for col, spec in params.schema_.items():
        exp.append({"type": "expect_column_to_exist", "kwargs": {"column": col}})
        if spec.type == "numeric":
            if spec.bounds == "declared":  # DP-estimated bounds are expected to cut tails (clipped)
                exp.append({"type": "expect_column_values_to_be_between",
                            "kwargs": {"column": col, "min_value": spec.lower, "max_value": spec.upper}})
            # a numeric column as unique as a record number is an identifier, not a measurement
            exp.append({"type": "expect_column_proportion_of_unique_values_to_be_between",
                        "kwargs": {"column": col, "max_value": ap.identifier_unique_ratio}})
        elif spec.categories and not spec.other:  # undeclared ones: estimated with DP at training time
            exp.append({"type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": col, "value_set": list(spec.categories)}})
        exp.append({"type": "expect_column_values_to_not_be_null",
                    "kwargs": {"column": col} if not spec.nullable else {"column": col, "mostly": 1 - ap.max_null_rate}})
        if spec.derived_from:  # the release computes it from the label: the source must agree
            exp.append({"type": "expect_column_pair_values_to_be_in_set",
                        "kwargs": {"column_A": spec.derived_from, "column_B": col,
                                   "value_pairs_set": [[k, v] for k, v in spec.derived_map.items()],
                                   "ignore_row_if": "either_value_is_missing"}})
    return {"name": "synthgov-source-contract", "made_from": _fingerprint(params), "expectations": exp}


def load_contract(root: Path, params: Params) -> dict[str, Any]:
    """The committed contract, refused when it no longer matches the params it was made from."""
    path = root / CONTRACT_PATH
    if not path.is_file():
        raise ParamsError(f"{path}: no data contract; create it with `synthgov audit --write-contract`")
    contract = json.loads(path.read_text())
    if contract.get("made_from") != _fingerprint(params):
        raise ParamsError(f"{path} was made from other params than params/schema.yaml and params/audit.yaml "
                          "declare; review the change and regenerate it with `synthgov audit --write-contract`")
    return contract


def write_contract(root: Path, params: Params) -> Path:
    path = root / CONTRACT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(contract_from_params(params), indent=1) + "\n")
    return path


def validate_contract(df: pd.DataFrame, contract: dict[str, Any], k: int = 1) -> list[dict[str, Any]]:
    """Validate `df` with GX; one count-only record per expectation (GX's raw value lists dropped,
    counts of rows under k reported as "under k", with the percentages that would reveal them)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = gx.ExpectationSuite(name=contract["name"])
    for e in contract["expectations"]:
        cls = getattr(gx.expectations, "".join(part.title() for part in e["type"].split("_")))
        suite.add_expectation(cls(**e["kwargs"]))
    asset = context.data_sources.add_pandas("synthgov").add_dataframe_asset("source")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format="SUMMARY")
    records = []
    for r in result.results:
        cfg = r.expectation_config
        counts = {k: r.result[k] for k in _KEPT_RESULT_KEYS if k in r.result
                  and isinstance(r.result[k], (int, float)) and not isinstance(r.result[k], bool)}
        for key in ("unexpected_count", "missing_count"):
            if key in counts and suppress(counts[key], k) == UNDER_K:
                counts[key] = UNDER_K
                counts.pop(key.replace("_count", "_percent"), None)
        records.append({"expectation": cfg.type, "column": cfg.kwargs.get("column") or cfg.kwargs.get("column_B"),
                        "success": bool(r.success),
                        **counts})
    return records


def _round_out(value: float, down: bool) -> float:
    """Round outward to two significant digits.

    >>> _round_out(1484705, down=False), _round_out(12285, down=True), _round_out(0.0, down=True)
    (1500000.0, 12000.0, 0.0)
    """
    if value == 0 or not math.isfinite(value):
        return float(value)
    scale = 10 ** (math.floor(math.log10(abs(value))) - 1)
    return float((math.floor if down else math.ceil)(value / scale) * scale)


def propose_contract(df: pd.DataFrame, k: int) -> dict[str, Any]:
    """A draft schema for review: types, rounded bounds, labels held by >= k rows, nullability."""
    schema: dict[str, Any] = {}
    for col in df.columns:
        series = df[col]
        numeric = pd.to_numeric(series, errors="coerce")
        if series.notna().sum() and numeric.notna().sum() >= 0.99 * series.notna().sum():
            finite = numeric.dropna()
            schema[str(col)] = {"type": "numeric", "lower": _round_out(float(finite.min()), True),
                                "upper": _round_out(float(finite.max()), False),
                                "integer": bool(np.all(np.mod(finite, 1) == 0)), "nullable": bool(series.isna().any())}
        else:
            counts = series.dropna().astype(str).str.strip().value_counts()
            kept = sorted(counts.index[counts >= k])
            schema[str(col)] = {"type": "categorical", "categories": kept, "nullable": bool(series.isna().any()),
                                "labels_under_k_left_out": int((counts < k).sum())}
    return {"draft": True, "review": "check every column: types, bounds and categories are proposals; "
                                     "labels held by fewer than k rows were left out",
            "min_group_size": k, "schema": schema}
