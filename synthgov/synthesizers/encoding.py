"""A tabular encoder built from the declared public schema alone.

Numeric columns are cut into declared bins (explicit edges, or equal-width on a linear or log
scale between the public bounds) and decoded uniformly within the bin, except the declared points
(e.g. the 0 of a zero-inflated amount), which have codes of their own, before the bins', and are
decoded exactly. Categorical columns use the declared category list; a nullable column gets one
more code for "missing". Nothing here reads a
statistic of the private rows: the encoder is a function of params/schema.yaml, so changing the
extreme values or rare categories of the data cannot change it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from synthgov.errors import SourceError
from synthgov.params.schema import ColumnSchema, bin_edges


OTHER = "Other"


def with_other(schema: dict[str, ColumnSchema], columns: list[str], strict: Collection[str]
               ) -> tuple[dict[str, ColumnSchema], dict[str, int]]:
    """Every categorical feature gets an "Other" label for values outside its declared list, so an
    undeclared label in the private rows is encoded, never a data-dependent error. The labels of
    the `strict` columns (the target, and the columns others are derived from) stay as declared.
    Returns the schema and, per column, the code of an added "Other".

    >>> s = {"a": ColumnSchema(type="categorical", categories=["x"]), "y": ColumnSchema(type="categorical", categories=["0", "1"])}
    >>> out, added = with_other(s, ["a", "y"], {"y"})
    >>> out["a"].categories, out["y"].categories, added
    (['x', 'Other'], ['0', '1'], {'a': 1})
    """
    out, added = {}, {}
    for col in columns:
        spec = schema[col]
        if spec.type == "categorical" and col not in strict and not spec.other and spec.categories is not None:
            cats = list(spec.categories)
            if OTHER not in cats:
                added[col] = len(cats)
                cats.append(OTHER)
            spec = spec.model_copy(update={"categories": cats, "other": True})
        out[col] = spec
    return out, added


def outside_schema(df: pd.DataFrame, schema: dict[str, ColumnSchema], columns: list[str]) -> np.ndarray:
    """Rows holding a value the schema does not declare: a label outside a declared list, a missing
    value in a non-nullable column, a number outside the public bounds. (A column whose labels are
    estimated with DP declares none: any label is in its schema.)"""
    out = np.zeros(len(df), dtype=bool)
    for col in columns:
        spec, values = schema[col], df[col]
        null = values.isna().to_numpy()
        out |= null & (not spec.nullable)
        if spec.type == "numeric":
            x = values.to_numpy(dtype=float)
            out |= ~null & ((x < spec.lower) | (x > spec.upper))
        elif spec.categories is not None:
            out |= ~null & ~values.isin(spec.categories).to_numpy()
    return out


def encodable(df: pd.DataFrame, schema: dict[str, ColumnSchema], columns: list[str], strict: Collection[str]
              ) -> np.ndarray:
    """Rows the schema can encode: numbers are clipped and a feature's undeclared labels become
    "Other"; a missing value in a non-nullable column, or an undeclared label of a `strict` column
    (the target, a column others are derived from), cannot."""
    ok = np.ones(len(df), dtype=bool)
    for col in columns:
        spec, values = schema[col], df[col]
        null = values.isna().to_numpy()
        if not spec.nullable:
            ok &= ~null
        if col in strict and spec.categories is not None:
            ok &= null | values.isin(spec.categories).to_numpy()
    return ok


class TabularEncoder:
    """Maps declared columns to integer codes and back. Built from the schema, never from data."""

    def __init__(self, schema: dict[str, ColumnSchema], columns: list[str]):
        self.schema = {c: schema[c] for c in columns}
        self.columns = list(columns)
        self._edges: dict[str, np.ndarray] = {}
        self.cards: list[int] = []
        for col in self.columns:
            spec = self.schema[col]
            if spec.type == "numeric":
                self._edges[col] = bin_edges(spec)
                card = len(spec.points) + len(self._edges[col]) - 1
            else:
                card = len(spec.categories)
            self.cards.append(card + int(spec.nullable))

    def state(self) -> dict[str, Any]:
        """Everything the encoder holds, as plain values (to show it depends on the schema only)."""
        return {
            "columns": self.columns,
            "cards": self.cards,
            "edges": {c: e.tolist() for c, e in self._edges.items()},
            "categories": {c: s.categories for c, s in self.schema.items() if s.type == "categorical"},
        }

    def _lookup(self, col: str, values: pd.Series) -> pd.Series:
        """Category codes of a column; undeclared labels map to "Other" where the column has it."""
        spec = self.schema[col]
        mapped = values.map({c: i for i, c in enumerate(spec.categories)})
        if spec.other:
            mapped = mapped.where(mapped.notna() | values.isna(), spec.categories.index(OTHER))
        return mapped

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Integer codes (n rows x columns). Raises SourceError, naming the column and the kind of
        problem (never a value or a count), on rows the schema cannot hold (see `encodable`)."""
        codes = np.empty((len(df), len(self.columns)), dtype=np.int64)
        for j, col in enumerate(self.columns):
            spec, values = self.schema[col], df[col]
            null = values.isna().to_numpy()
            if null.any() and not spec.nullable:
                raise SourceError(f"column '{col}': missing values but the column is not nullable; set "
                                  "nullable: true in params/schema.yaml or fill them")
            if spec.type == "numeric":
                edges = self._edges[col]
                clipped = np.clip(values.to_numpy(dtype=float), spec.lower, spec.upper)
                col_codes = len(spec.points) + np.clip(np.searchsorted(edges, clipped, side="right") - 1,
                                                       0, len(edges) - 2)
                for k, point in enumerate(spec.points):
                    col_codes = np.where(clipped == point, k, col_codes)
            else:
                mapped = self._lookup(col, values)
                if (mapped.isna() & ~null).any():
                    raise SourceError(f"column '{col}': values outside the declared categories; add "
                                      "them to params/schema.yaml or recode them")
                col_codes = mapped.fillna(0).to_numpy(dtype=np.int64)
            codes[:, j] = np.where(null, self.cards[j] - 1, col_codes)
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Values from codes: category labels, or a uniform draw inside the numeric bin."""
        out = {}
        for j, col in enumerate(self.columns):
            spec, c = self.schema[col], codes[:, j]
            null = spec.nullable & (c == self.cards[j] - 1)
            if spec.type == "numeric":
                edges, points = self._edges[col], np.asarray(spec.points, dtype=float)
                k = np.clip(c - len(points), 0, len(edges) - 2)
                lo, hi = edges[k], edges[k + 1]
                u = rng.random(len(c))
                if spec.integer:  # an integer inside [lo, hi), or [lo, hi] for the last bin, not a point
                    lo_i = np.ceil(lo)
                    hi_i = np.where(k == len(edges) - 2, np.floor(hi), np.ceil(hi) - 1)
                    hi_i = np.maximum(hi_i, lo_i)
                    held = ((points[:, None] >= lo_i) & (points[:, None] <= hi_i)).sum(axis=0)  # points in the bin
                    free = hi_i - lo_i + 1 - held
                    values = lo_i + np.floor(u * np.maximum(free, 1))
                    for p in np.sort(points):  # skip the points: the k-th integer of the bin that is not one
                        values = values + ((p >= lo_i) & (p <= values) & (free > 0))
                else:
                    values = lo + u * (hi - lo)
                values = np.clip(values, spec.lower, spec.upper)
                if len(points):
                    values = np.where(c < len(points), points[np.clip(c, 0, len(points) - 1)], values)
                out[col] = np.where(null, np.nan, values)
            else:
                labels = np.asarray(spec.categories + [None] * int(spec.nullable), dtype=object)
                values = labels[c]
                out[col] = np.where(null, np.nan, values)
        return pd.DataFrame(out, columns=self.columns)
