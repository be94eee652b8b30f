"""A tabular encoder built from the declared public schema alone.

Numeric columns are cut into declared bins (explicit edges, or equal-width on a linear or log
scale between the public bounds) and decoded uniformly within the bin; categorical columns use the
declared category list; a nullable column gets one more code for "missing". Nothing here reads a
statistic of the private rows: the encoder is a function of params/schema.yaml, so changing the
extreme values or rare categories of the data cannot change it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.errors import SourceError
from synthgov.params.schema import ColumnSchema, bin_edges


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
                card = len(self._edges[col]) - 1
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

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Integer codes (n rows x columns). Raises SourceError on values the schema cannot hold."""
        codes = np.empty((len(df), len(self.columns)), dtype=np.int64)
        for j, col in enumerate(self.columns):
            spec, values = self.schema[col], df[col]
            null = values.isna().to_numpy()
            if null.any() and not spec.nullable:
                raise SourceError(
                    f"column '{col}': {int(null.sum())} missing value(s) but the column is not "
                    "nullable; set nullable: true in params/schema.yaml or fill them"
                )
            if spec.type == "numeric":
                edges = self._edges[col]
                clipped = np.clip(values.to_numpy(dtype=float), spec.lower, spec.upper)
                col_codes = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, len(edges) - 2)
            else:
                lookup = {c: i for i, c in enumerate(spec.categories)}
                mapped = values.map(lookup)
                if spec.other:  # labels that failed the DP threshold collapse into "Other"
                    mapped = mapped.where(mapped.notna() | null, spec.categories.index("Other"))
                unknown = int((mapped.isna() & ~null).sum())
                if unknown:
                    raise SourceError(
                        f"column '{col}': {unknown} value(s) outside the declared categories; add "
                        "them to params/schema.yaml or recode them"
                    )
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
                edges = self._edges[col]
                k = np.clip(c, 0, len(edges) - 2)
                lo, hi = edges[k], edges[k + 1]
                u = rng.random(len(c))
                if spec.integer:  # an integer inside [lo, hi), or [lo, hi] for the last bin
                    lo_i = np.ceil(lo)
                    hi_i = np.where(k == len(edges) - 2, np.floor(hi), np.ceil(hi) - 1)
                    hi_i = np.maximum(hi_i, lo_i)
                    values = lo_i + np.floor(u * (hi_i - lo_i + 1))
                else:
                    values = lo + u * (hi - lo)
                values = np.clip(values, spec.lower, spec.upper)
                out[col] = np.where(null, np.nan, values)
            else:
                labels = np.asarray(spec.categories + [None] * int(spec.nullable), dtype=object)
                values = labels[c]
                out[col] = np.where(null, np.nan, values)
        return pd.DataFrame(out, columns=self.columns)
