"""The ingest stage: conform the source to the declared schema and split off the holdout.

This package holds what reads private data into the pipeline: `readers` (the bundled UCI Adult
files, CSV and Parquet, conformed to the declared schema, content hashes) and the stage's core,
`ingest`, below. It may import synthgov.params, synthgov.errors and the audit's identifier
detectors, nothing downstream.

The holdout is the real data the generator never sees: the declared holdout file, or a keyed
split of the source when there is none (see `holdout_mask`). The manifest records the content hash of each part, the
row counts, any values that were not of the declared type, and the undeclared columns it drops
(never trained), with the identifier findings among them (for the audit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.ingest.readers import conform, content_hash
from synthgov.audit.identifiers import detect_identifiers
from synthgov.errors import SourceError
from synthgov.params import Params


def holdout_mask(df: pd.DataFrame, fraction: float, key: bytes) -> np.ndarray:
    """Which rows go to the holdout: a keyed hash of each row's content and its occurrence number
    among identical rows, below `fraction`.

    Each row's side depends on that row alone, so a source with one row more or less gives a
    training set with one row more or less (neighbours stay neighbours, which the DP claim
    needs), the same source always splits the same way (a model can be reused on its source
    version), identical rows split independently, and without the key nobody can tell a row's
    side.

    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 1.0]})
    >>> holdout_mask(df, 0.5, b"k").tolist() == holdout_mask(df.iloc[:3], 0.5, b"k").tolist() + [holdout_mask(df, 0.5, b"k")[3]]
    True
    """
    if len(df) == 0:
        return np.zeros(0, dtype=bool)
    row_hash = pd.util.hash_pandas_object(df, index=False)
    occurrence = row_hash.groupby(row_hash.to_numpy()).cumcount()
    labels = row_hash.astype(str) + ":" + occurrence.astype(str)
    hash_key = "".join(chr(33 + b % 94) for b in key[:16].ljust(16, b"\0"))
    keyed = pd.util.hash_pandas_object(labels, index=False, hash_key=hash_key).to_numpy()
    return keyed / float(2**64) < fraction


def canonical_labels(df: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The target's labels as declared: the variants of the positive label (data.positive_label as
    a list: the label first, then how some files write it, e.g. '>50K.') become the label, and when
    the target declares `other: true` (synthgov init with --positive-label) any other class
    becomes "Other".

    >>> from synthgov.params import ColumnSchema, DataParams
    >>> p = type("P", (), {"data": DataParams(target="y", positive_label=[">50K", ">50K."]),
    ...                    "schema_": {"y": ColumnSchema(type="categorical", categories=[">50K", "Other"], other=True)}})()
    >>> canonical_labels(pd.DataFrame({"y": [">50K.", "<=50K", ">50K", None]}), p)["y"].tolist()
    ['>50K', 'Other', '>50K', None]
    """
    target, d = params.data.target, params.data
    if target not in df.columns:
        return df
    labels = df[target].replace({v: d.positive_label for v in d.label_variants}) if d.label_variants else df[target]
    spec = params.schema_.get(target)
    if spec is not None and spec.other and spec.categories:
        labels = labels.where(labels.isna() | labels.isin(spec.categories), "Other")
    return df if labels is df[target] else df.assign(**{target: labels})


def _check_usable(df: pd.DataFrame, params: Params, origin: str) -> None:
    """Refuse a source nothing can be learnt or measured from: no rows, or one class of the target."""
    if len(df) == 0:
        raise SourceError(f"{origin}: no data rows (only a header?); pass a file with rows")
    target = params.data.target
    if df[target].nunique(dropna=True) < 2:
        raise SourceError(f"{origin}: target '{target}' holds fewer than two classes; a classifier cannot "
                          "be trained or scored on it (check --target and the file)")


def ingest(source: pd.DataFrame, holdout: pd.DataFrame | None, params: Params, *,
           source_name: str = "source", holdout_name: str = "holdout", split_key: bytes = b""
           ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Conform `source` (and `holdout`), or split a holdout off the source; return both and a manifest.

    `split_key` keys the holdout split (synthgov.privacy.randomness.split_key: the workspace's
    secret, or the public split_seed in test mode)."""
    undeclared = [str(c) for c in source.columns if c not in params.schema_]
    # identifier findings on the columns that conform() drops: names and reasons only
    identifiers = detect_identifiers(source[undeclared], params) if undeclared else []
    train, type_errors = conform(source, params.schema_, source_name)
    train = canonical_labels(train, params)
    _check_usable(train, params, source_name)
    source_hash = content_hash(train)
    if holdout is None:
        is_holdout = holdout_mask(train, params.data.holdout_fraction, split_key)
        train, held = train[~is_holdout].reset_index(drop=True), train[is_holdout].reset_index(drop=True)
        holdout_errors: dict[str, int] = {}
        split = f"keyed split per row: fraction {params.data.holdout_fraction}"
    else:
        held, holdout_errors = conform(holdout, params.schema_, holdout_name)
        held = canonical_labels(held, params)
        split = "declared holdout file"
    if len(held) == 0:
        raise SourceError(f"{holdout_name}: the holdout has no rows; pass a holdout file with rows, or raise "
                          "data.holdout_fraction for a source this small")
    manifest = {
        "source_hash": source_hash,
        "train_hash": content_hash(train),
        "holdout_hash": content_hash(held),
        "train_rows": len(train),
        "holdout_rows": len(held),
        "columns": list(train.columns),
        "holdout_split": split,
        "type_errors": {"train": type_errors, "holdout": holdout_errors},
        "undeclared_columns_dropped": undeclared,
        "identifiers": identifiers,
    }
    return train, held, manifest
