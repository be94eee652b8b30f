"""The attack stage: record-level leakage of the synthetic rows against the training rows.

Two attacks run before every release:
- exact matches: the share of synthetic rows identical to some training row, against the natural
  share of holdout rows identical to some training row (real data has duplicates of its own);
- DCR share: for equally many training and holdout rows, the share of synthetic rows whose nearest
  real row is a training row (ties count half). 0.5 means the generator is no closer to the rows
  it trained on than to rows it never saw.

Distances use a mixed-type encoding built from the public schema: numerics scaled by their
declared range, categoricals one-hot, missing as its own value; the nearest-neighbour search is
sklearn's, never a dense n x n matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from synthgov.checks import CheckResult
from synthgov.params import Params
from synthgov.utility import categories_of


def _rows_hash(df: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(df.reset_index(drop=True), index=False).to_numpy()


def exact_match_share(candidate: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Share of `candidate` rows that equal some `reference` row on every column.

    >>> ref = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    >>> exact_match_share(pd.DataFrame({"a": [1.0, 3.0], "b": ["x", "x"]}), ref)
    0.5
    """
    if len(candidate) == 0:
        return float("nan")
    return float(np.isin(_rows_hash(candidate), _rows_hash(reference)).mean())


def distance_matrix_features(df: pd.DataFrame, params: Params,
                             cats: dict[str, list[str]] | None = None) -> np.ndarray:
    """The mixed-type distance encoding: declared bounds, and declared (or given) categories."""
    parts = []
    for col, spec in params.schema_.items():
        if col in params.data.exclude:
            continue
        if spec.type == "numeric":
            values = df[col].to_numpy(dtype=float)
            scaled = (np.clip(values, spec.lower, spec.upper) - spec.lower) / (spec.upper - spec.lower)
            parts.append(np.nan_to_num(scaled, nan=-1.0)[:, None])
        else:
            labels = spec.categories or (cats or {}).get(col) or []
            codes = pd.Categorical(df[col], categories=labels).codes  # -1 for missing or unknown
            onehot = np.zeros((len(df), len(labels) + 1))
            onehot[np.arange(len(df)), codes] = 1.0
            parts.append(onehot)
    return np.hstack(parts)


def dcr_share(synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, params: Params,
              rng: np.random.Generator) -> dict[str, Any]:
    """DCR share over equally many training and holdout rows (at most attack.subsample each)."""
    m = min(params.attack.subsample, len(train), len(holdout), len(synthetic))
    pick = lambda df: df.iloc[rng.choice(len(df), size=m, replace=False)]  # noqa: E731
    frames = [pick(d) for d in (synthetic, train, holdout)]
    cats = {c: categories_of(s, *frames, column=c) for c, s in params.schema_.items()
            if s.type == "categorical"}
    syn, tr, ho = (distance_matrix_features(f, params, cats) for f in frames)
    d_train = NearestNeighbors(n_neighbors=1).fit(tr).kneighbors(syn)[0][:, 0]
    d_hold = NearestNeighbors(n_neighbors=1).fit(ho).kneighbors(syn)[0][:, 0]
    closer = (d_train < d_hold).mean() + 0.5 * (d_train == d_hold).mean()
    return {"dcr_share": float(closer), "rows_each": m,
            "median_dcr_train": float(np.median(d_train)), "median_dcr_holdout": float(np.median(d_hold))}


def attack(synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, params: Params
           ) -> tuple[dict[str, Any], list[CheckResult]]:
    """Run the record-level attacks. Returns the report (aggregates only) and its checks."""
    rng = np.random.default_rng(params.attack.seed)
    n_syn = min(params.attack.subsample, len(synthetic))
    syn_sample = synthetic.iloc[rng.choice(len(synthetic), size=n_syn, replace=False)]
    cols = [c for c in params.schema_ if c not in params.data.exclude]
    syn_share = exact_match_share(syn_sample[cols], train[cols])
    natural = exact_match_share(holdout[cols], train[cols])
    dcr = dcr_share(synthetic, train, holdout, params, rng)
    spec = params.gates.spec
    checks = [
        CheckResult.evaluate("exact_match_excess", syn_share - natural,
                             spec("exact_match_excess").threshold, goal="minimize",
                             severity=spec("exact_match_excess").severity, stage="attack",
                             breakdown={"synthetic_share": syn_share, "natural_share": natural}),
        CheckResult.evaluate("dcr_share", dcr["dcr_share"], spec("dcr_share").threshold,
                             goal="minimize", severity=spec("dcr_share").severity, stage="attack",
                             breakdown=dcr),
    ]
    report = {"exact_match_share": syn_share, "natural_exact_match_share": natural,
              "synthetic_rows_attacked": n_syn, **dcr}
    return report, checks
