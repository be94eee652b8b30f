"""The ingest stage: conform the source to the declared schema and split off the holdout.

This package holds what reads private data into the pipeline: `readers` (the bundled UCI Adult
files, CSV and Parquet, conformed to the declared schema, content hashes) and the stage's core,
`ingest`, below. It may import synthgov.params, synthgov.errors and the audit's identifier
detectors, nothing downstream.

The holdout is the real data the generator never sees: the declared holdout file, or a seeded
split of the source when there is none. The manifest records the content hash of each part, the
row counts, any values that were not of the declared type, and the undeclared columns it drops
(never trained), with the identifier findings among them (for the audit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.ingest.readers import conform, content_hash
from synthgov.audit.identifiers import detect_identifiers
from synthgov.params import Params


def ingest(source: pd.DataFrame, holdout: pd.DataFrame | None, params: Params, *,
           source_name: str = "source", holdout_name: str = "holdout"
           ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Conform `source` (and `holdout`), or split a holdout off the source; return both and a manifest."""
    undeclared = [str(c) for c in source.columns if c not in params.schema_]
    # identifier findings on the columns that conform() drops: names and reasons only
    identifiers = detect_identifiers(source[undeclared], params) if undeclared else []
    train, type_errors = conform(source, params.schema_, source_name)
    source_hash = content_hash(train)
    if holdout is None:
        rng = np.random.default_rng(params.data.split_seed)
        is_holdout = rng.random(len(train)) < params.data.holdout_fraction
        train, held = train[~is_holdout].reset_index(drop=True), train[is_holdout].reset_index(drop=True)
        holdout_errors: dict[str, int] = {}
        split = f"seeded split: fraction {params.data.holdout_fraction}, seed {params.data.split_seed}"
    else:
        held, holdout_errors = conform(holdout, params.schema_, holdout_name)
        split = "declared holdout file"
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
