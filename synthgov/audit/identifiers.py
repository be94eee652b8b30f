"""Direct identifiers and quasi-identifier risk of a source table, before anything trains.

A column identifies people when it is unique or nearly unique per row (record numbers), when its
values look like emails, phone numbers, national-ID-like strings or personal names, or when it
is free text of high cardinality. Only the column name and the reason leave this module, never a
value. Undeclared identifier columns never reach the training snapshot (ingest drops every
undeclared column, and logs the decision); a declared one is a blocking finding until it is added
to data.exclude.

Quasi-identifier risk is the k-anonymity of the source on the declared quasi-identifiers: the
share of rows unique on them, and the share in equivalence classes smaller than k.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from synthgov.params import Params
from synthgov.stats import suppress

PATTERNS = {
    "email": re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"),
    "phone number": re.compile(r"^(?!-?\d+\.\d+$)\+?[\d][\d\s().-]{6,}\d$"),  # not a plain decimal
    "national-ID-like": re.compile(r"^(\d{3}-\d{2}-\d{4}|[A-Z]{2}\d{6}[A-D]?|\d{9,12})$"),
    "personal name": re.compile(r"^[A-Z][a-z]+(?:[ '-][A-Z][a-z]+)+$"),
}
_SAMPLE = 2000


def _reasons(series: pd.Series, params: Params, declared_categories: bool) -> list[str]:
    ap = params.audit
    values = series.dropna()
    if len(values) < params.data.min_group_size:
        return []
    reasons = []
    unique_ratio = values.nunique() / len(values)
    if unique_ratio >= ap.identifier_unique_ratio:
        reasons.append(f"unique per row ({unique_ratio:.0%} distinct values)")
    # patterns and free text matter in undeclared-vocabulary columns of many distinct values (a
    # declared category list is public vocabulary: 'United-States' is not a person's name)
    if not declared_categories and values.nunique() >= ap.identifier_min_distinct and \
            (values.dtype == object or pd.api.types.is_string_dtype(values)):
        sample = values.astype(str).str.strip().sample(n=min(_SAMPLE, len(values)), random_state=0)
        for name, pattern in PATTERNS.items():
            share = sample.str.match(pattern).mean()
            if share >= ap.identifier_pattern_share:
                reasons.append(f"{name} pattern ({share:.0%} of values)")
        if unique_ratio >= ap.free_text_unique_ratio and \
                sample.str.len().mean() >= ap.free_text_min_length:
            reasons.append(f"free text of high cardinality ({unique_ratio:.0%} distinct)")
    return reasons


def detect_identifiers(df: pd.DataFrame, params: Params) -> list[dict[str, Any]]:
    """One finding per identifying column: its name, whether it is declared (and trained), why."""
    findings = []
    for col in df.columns:
        spec = params.schema_.get(col)
        reasons = _reasons(df[col], params, bool(spec and spec.categories))
        if reasons:
            declared = spec is not None
            findings.append({"column": str(col), "declared": declared,
                             "trained": declared and col not in params.data.exclude, "reasons": reasons})
    return findings


def quasi_identifier_risk(df: pd.DataFrame, columns: list[str], k: int) -> dict[str, Any]:
    """Share of rows unique on `columns`, share in classes under k rows, and the smallest class.

    >>> df = pd.DataFrame({"a": [1, 1, 2, 3], "b": ["x", "x", "y", "y"]})
    >>> quasi_identifier_risk(df, ["a", "b"], k=2)["unique_share"]
    0.5
    """
    if not columns or len(df) == 0:
        return {"columns": columns, "unique_share": float("nan"), "under_k_share": float("nan"), "k_anonymity": 0}
    sizes = df[columns].astype(object).where(df[columns].notna(), "(missing)").value_counts(sort=False)
    return {"columns": columns, "unique_share": float((sizes == 1).sum() / len(df)),
            "under_k_share": float(sizes[sizes < k].sum() / len(df)), "k_anonymity": suppress(int(sizes.min()), k)}
