"""Draft a schema from a table without copying anything private into it (what `synthgov init` writes).

Every column gets a *type* from the data: numeric (integer or not), categorical (text, and integer
codes with few distinct values such as 0/1), or identifier (unique per row, an email, phone,
national-ID or name pattern, free text: written to data.exclude with the reason, never trained).
Nothing else is read from the rows:
- categories are left undeclared: the run discovers them with DP (a stability histogram inside
  privacy.preprocessing_epsilon). Only the target's labels are declared: the positive label the
  person names (any other label becomes "Other"), or the codes 0 and 1 of a binary target;
- numeric bounds come from an epsilon-DP histogram on a public grid (synthgov.privacy.bounds),
  spending privacy.schema_epsilon, which every release counts in its epsilon. Values beyond the
  bounds are clipped to them in training, so a small table's coarse bounds squeeze its tails
  (declare the documented range instead). A column too sparse to bound at that epsilon is
  excluded, with the reason. When the same histogram shows zeros are common (a zero-inflated
  amount or count), 0 is declared a point: its own code, released exactly. A non-integer column
  with few distinct values (a scale's steps, a plan's rates) gets a note: its bins are decoded
  uniformly, so a release spreads those values over their bins (a classifier tells them apart)
  unless the person declares them, when public, as points, or lets each run find the common ones
  with DP (discover_points);
- a numeric protected attribute gets four equal-width audit bins inside its DP bounds.
The draft says, column by column, what a person should review and how to declare public values
(code lists, documented ranges), which then cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from synthgov.errors import SourceError

MAX_CODES = 12  # an integer column with at most this many distinct values is a code list
FEW_VALUES = 32  # a non-integer numeric column with at most this many distinct values is a scale's steps
NUMERIC_SHARE = 0.99  # a column is numeric when this share of its non-missing values parse as numbers


@dataclass
class Draft:
    """The drafted schema and roles, with a note per column for the person who reviews them."""

    schema: dict[str, dict[str, Any]] = field(default_factory=dict)
    exclude: dict[str, str] = field(default_factory=dict)  # column -> reason
    notes: dict[str, str] = field(default_factory=dict)
    protected_bins: dict[str, list[float]] = field(default_factory=dict)
    positive_label: str = ""
    schema_epsilon: float = 0.0


def _identifier_reasons(series: pd.Series, min_group_size: int) -> list[str]:
    from synthgov.audit.identifiers import _reasons
    from synthgov.params import AuditParams

    params = SimpleNamespace(audit=AuditParams(), data=SimpleNamespace(min_group_size=min_group_size))
    return _reasons(series, params, declared_categories=False)


def _record_number(values: pd.Series) -> list[str]:
    present = values.dropna()
    if len(present) < 50 or not np.all(np.mod(present, 1) == 0):
        return []
    ratio = present.nunique() / len(present)
    return [f"record number (an integer unique per row: {ratio:.0%} distinct)"] if ratio >= 0.99 else []


def _kind(series: pd.Series) -> tuple[str, pd.Series]:
    """'numeric', 'integer-codes' or 'text', and the numeric values (NaN where not a number)."""
    present = series.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().mean() >= NUMERIC_SHARE:
        finite = numbers[np.isfinite(numbers.astype(float))]
        integral = bool(len(finite)) and bool(np.all(np.mod(finite, 1) == 0))
        if integral and finite.nunique() <= MAX_CODES:
            return "integer-codes", pd.to_numeric(series, errors="coerce")
        return "numeric", pd.to_numeric(series, errors="coerce")
    return "text", pd.Series(dtype=float)


def draft_schema(df: pd.DataFrame, *, source: str, target: str, protected: list[str], positive_label: str | None,
                 schema_epsilon: float, rng: np.random.Generator, neighbouring: str = "add-remove",
                 min_group_size: int = 20) -> Draft:
    """Types from the data, values from DP or from the person; see the module docstring."""
    from synthgov.privacy.bounds import dp_bounds_and_zero

    missing = [c for c in [target, *protected] if c not in df.columns]
    if missing:
        raise SourceError(f"{source}: column(s) {missing} named by --target/--protected are not in the file; "
                          f"its columns are {[str(c) for c in df.columns]}")
    draft = Draft()
    kinds = {c: _kind(df[c]) for c in df.columns}
    for col in df.columns:
        if col in (target, *protected):
            continue
        kind, values = kinds[col]
        # text: every detector; numbers: only a record number (an integer unique per row: a unique
        # measurement such as a weight is not an identifier)
        reasons = _identifier_reasons(df[col], min_group_size) if kind == "text" else _record_number(values)
        if reasons:
            draft.exclude[col] = "identifier: " + "; ".join(reasons)
    numeric = [c for c in df.columns if kinds[c][0] == "numeric" and c not in draft.exclude and c != target]
    # a protected attribute must be bounded to be audited: it gets a double share of the epsilon
    weight = {c: 2.0 if c in protected else 1.0 for c in numeric}
    share = {c: schema_epsilon * w / sum(weight.values()) for c, w in weight.items()}
    draft.schema_epsilon = schema_epsilon if numeric else 0.0
    sensitivity = 2 if neighbouring == "replace-one" else 1
    for col in df.columns:
        kind, values = kinds[col]
        nullable = bool(df[col].isna().any())
        if col in draft.exclude:
            continue
        if col == target:
            draft.schema[col], draft.positive_label = _target(df[col], kind, positive_label, source, col)
            draft.schema[col]["nullable"] = nullable
            draft.notes[col] = "target: its labels are declared (the positive label, the rest as 'Other')"
            continue
        if kind in ("integer-codes", "text"):
            draft.schema[col] = {"type": "categorical", "nullable": nullable}
            draft.notes[col] = ("categories discovered with DP at each run; list the public code list "
                                "(categories: [...]) to spend nothing and keep rare codes")
            continue
        integer = bool(np.all(np.mod(values.dropna(), 1) == 0))
        eps_each = share[col]
        bounds, zeros = dp_bounds_and_zero(values.to_numpy(dtype=float), epsilon=eps_each, rng=rng,
                                           sensitivity=sensitivity, integer=integer)
        if bounds is None:
            draft.exclude[col] = (f"numeric, too few rows to bound with DP at epsilon {eps_each:.3g}: declare its "
                                  "public range (lower, upper) in schema.yaml to include it")
            continue
        draft.schema[col] = {"type": "numeric", "lower": bounds[0], "upper": bounds[1], "bounds": "dp",
                             "integer": integer, "nullable": nullable, "bins": 16}
        draft.notes[col] = (f"bounds [{bounds[0]:g}, {bounds[1]:g}] are a DP estimate (epsilon {eps_each:.3g}); "
                            "replace them by the documented public range if there is one")
        if zeros and bounds[0] <= 0.0 <= bounds[1]:
            draft.schema[col]["points"] = [0.0]
            draft.notes[col] += "; zeros are common (the same DP histogram): 0 is a point, released exactly"
        if not integer and values.nunique() <= FEW_VALUES:
            draft.notes[col] += ("; it holds few distinct values, which a release spreads over their bins (decoded "
                                 "uniformly): if they are public steps (a scale, a plan's rates), declare them as "
                                 "points: [...] to release them exactly, or set discover_points: 0.02 to find those "
                                 "held by 2 % of rows or more with DP at each run (privacy.preprocessing_epsilon; "
                                 "a heap also needs the DP threshold's rows, about 130 when one column shares the "
                                 "default budget, 280 when two do: on a small table declare them)")
        if col in protected:
            draft.protected_bins[col] = [float(x) for x in np.linspace(bounds[0], bounds[1], 5)]
    lost = [c for c in protected if c not in draft.schema]
    if lost:
        raise SourceError(f"{source}: protected column(s) {lost} could not be drafted "
                          f"({'; '.join(draft.exclude.get(c, '') for c in lost)}); declare them in schema.yaml")
    return draft


def _target(series: pd.Series, kind: str, positive_label: str | None, source: str, col: str
            ) -> tuple[dict[str, Any], str]:
    if positive_label is None:
        codes = set(pd.to_numeric(series.dropna(), errors="coerce").dropna().unique()) if kind != "text" else set()
        if kind == "integer-codes" and codes <= {0, 1}:
            return {"type": "categorical", "categories": ["0", "1"]}, "1"
        raise SourceError(f"{source}: the target column '{col}' is not a 0/1 code; name its positive class "
                          "with --positive-label (any other class becomes 'Other')")
    if kind == "integer-codes" and positive_label in ("0", "1"):
        return {"type": "categorical", "categories": ["0", "1"]}, positive_label
    return {"type": "categorical", "categories": [positive_label, "Other"], "other": True}, positive_label
