"""The declared public schema of a column (params/schema.yaml): the only statistics the DP path reads."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator


POINT_RANGE = 10_000  # an integer column with fewer values than this has its points counted over all of them


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnSchema(_Frozen):
    """The declared, public schema of one column: the only statistics the DP path may read."""

    type: Literal["numeric", "categorical"]
    categories: list[str] | None = None
    other: bool = False
    lower: float | None = None
    upper: float | None = None
    bins: int | list[float] = 16
    edges: Literal["uniform", "dp-quantiles"] = "uniform"
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False
    nullable: bool = False
    # declared: public bounds, a value beyond them breaks the data contract; dp: bounds estimated with
    # DP (synthgov init), values beyond them are expected and clipped in training
    bounds: Literal["declared", "dp"] = "declared"
    # points: values common on their own (the 0 of a zero-inflated amount, a default code) that
    # get their own code, apart from the bins, and are released exactly (a bin is decoded uniformly)
    points: list[float] = []
    # discover_points: a share of the rows (e.g. 0.02); values each held by at least that share (the
    # 40 of hours worked a week, a plan's fixed payment) are found with DP (privacy.preprocessing_epsilon)
    # and join `points`, so that a heap is released exactly instead of spread over its bin
    discover_points: float | None = None
    # derived_from, derived_map: a column that is a declared function of a categorical one (Adult's
    # education_num is the code of education): not trained, but computed from the released source
    # label by the map, so the two always agree. The map is public: one value per declared label.
    derived_from: str | None = None
    derived_map: dict[str, float | str] = {}

    @property
    def needs_dp_estimate(self) -> bool:
        """Whether part of this column's schema must be estimated with DP (not declared)."""
        return (self.type == "categorical" and self.categories is None) or \
            (self.type == "numeric" and (self.edges == "dp-quantiles" or self.discover_points is not None))

    @property
    def estimates_need_delta(self) -> bool:
        """Whether its DP estimates take delta: a histogram of the labels or values the rows hold
        (stability-based); DP quantiles and the points of an integer column of a small public range
        (every value of the range counted) are pure epsilon."""
        if self.type == "categorical":
            return self.categories is None
        return self.discover_points is not None and not (self.integer and self.upper - self.lower < POINT_RANGE)

    @model_validator(mode="after")
    def _check(self) -> "ColumnSchema":
        if self.type == "categorical":
            if self.categories is not None and not self.categories:
                raise ValueError("'categories' is empty: list them, or leave it out to discover "
                                 "them with DP (privacy.preprocessing_epsilon)")
            if self.categories and len(set(self.categories)) != len(self.categories):
                raise ValueError("'categories' has duplicates")
        else:
            if self.lower is None or self.upper is None or not self.lower < self.upper:
                raise ValueError("a numeric column needs 'lower' < 'upper' (public bounds)")
            if isinstance(self.bins, int) and self.bins < 2:
                raise ValueError("'bins' must be at least 2")
            if self.edges == "dp-quantiles" and not isinstance(self.bins, int):
                raise ValueError("edges 'dp-quantiles' needs 'bins' as a number of bins")
            if isinstance(self.bins, list):
                edges = self.bins
                if len(edges) < 3 or any(b <= a for a, b in zip(edges, edges[1:])):
                    raise ValueError("'bins' as edges must be at least 3 strictly increasing values")
                if edges[0] > self.lower or edges[-1] < self.upper:
                    raise ValueError("'bins' edges must cover [lower, upper]")
            if self.scale == "log" and self.lower < 0:
                raise ValueError("scale 'log' needs lower >= 0")
            if len(set(self.points)) != len(self.points) or any(not self.lower <= p <= self.upper for p in self.points):
                raise ValueError("'points' must be distinct values within [lower, upper]")
        if self.type == "categorical" and (self.points or self.discover_points is not None):
            raise ValueError("'points' is for numeric columns (a categorical column lists its categories)")
        if self.discover_points is not None and not 0 < self.discover_points < 1:
            raise ValueError("'discover_points' is a share of the rows, between 0 and 1 (e.g. 0.02)")
        if bool(self.derived_from) != bool(self.derived_map):
            raise ValueError("a derived column needs both 'derived_from' (the column) and 'derived_map' "
                             "(its value for each of that column's labels)")
        return self


def bin_edges(spec: ColumnSchema) -> np.ndarray:
    """The bin edges of a numeric column, from its declared bounds only.

    >>> bin_edges(ColumnSchema(type="numeric", lower=0, upper=10, bins=2)).tolist()
    [0.0, 5.0, 10.0]
    """
    if isinstance(spec.bins, list):
        return np.asarray(spec.bins, dtype=float)
    if spec.scale == "log":
        return np.expm1(np.linspace(np.log1p(spec.lower), np.log1p(spec.upper), spec.bins + 1))
    return np.linspace(spec.lower, spec.upper, spec.bins + 1)


def categories_of(spec: ColumnSchema, *frames: pd.DataFrame, column: str) -> list[str]:
    """Declared categories, or (for internal evaluation only) those the frames hold."""
    if spec.categories:
        return list(spec.categories)
    return sorted(set().union(*(set(f[column].dropna().astype(str)) for f in frames)))
