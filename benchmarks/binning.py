"""What the public schema alone costs: real rows put through the generator's encoder and decoder,
no model and no noise, scored as a release is.

The DP generator learns codes (a bin, a point, a label) and decodes a bin uniformly, so a value
the real rows hold in a heap (the 40 of hours worked a week, a plan's fixed payment) comes back
spread over its bin. This script takes an independent real sample of n rows of a table, encodes
and decodes it through the schema the generator would use (a run without DP: undeclared values
read exactly), and scores it with the validation core against n other real rows: the
distinguishability AUC and fidelity_js it gets are the floor a perfect generator on that schema
would reach, and the AUC with each column left out says which column's decoding a classifier sees.
Two schemas a table: as declared (params/schema.yaml's points, the reviewed randhie's discovered
heaps) and the same without the points of the heaped columns.

    python benchmarks/binning.py [--tables adult randhie-reviewed] [--size 3000] [--resamples 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from calibration import TABLES, split  # noqa: E402

HEAPED = {"adult": ["hours_per_week"], "randhie-reviewed": ["lpi", "fmde"]}


def through_schema(train: pd.DataFrame, real: pd.DataFrame, params, rng: np.random.Generator) -> pd.DataFrame:
    """`real` encoded and decoded by the schema a run without DP resolves on `train` (derived
    columns computed from their source as the generator computes them)."""
    from synthgov.privacy.preprocessing import resolve_schema
    from synthgov.synthesizers.dpar import DPAutoregressive, with_derived
    from synthgov.synthesizers.encoding import TabularEncoder, encodable, with_other

    exact = params.model_copy(update={"privacy": params.privacy.model_copy(update={"epsilon": float("inf"),
                                                                                     "delta": None})})
    columns, strict = DPAutoregressive.trained_columns(exact), DPAutoregressive.strict_columns(exact)
    schema, _ = resolve_schema(train, exact, columns, epsilon=float("inf"), delta=0.0, rng=rng)
    schema, _ = with_other(schema, columns, strict)
    enc = TabularEncoder(schema, columns)
    real = real[encodable(real, schema, columns, strict)].reset_index(drop=True)
    out = with_derived(enc.decode(enc.encode(real), rng), exact.derived)
    return out[DPAutoregressive.column_order(exact)]


def without_points(params, columns: list[str]):
    """The params with these columns' points (declared or to discover) removed."""
    schema = dict(params.schema_)
    for col in columns:
        schema[col] = schema[col].model_copy(update={"points": [], "discover_points": None})
    return params.model_copy(update={"schema_": schema})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="+", choices=sorted(HEAPED), default=sorted(HEAPED))
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--resamples", type=int, default=3)
    args = parser.parse_args()

    import synthgov  # noqa: F401  (telemetry off)
    from synthgov.validation import fidelity, validate

    rows = []
    for table in args.tables:
        with tempfile.TemporaryDirectory(prefix=f"binning-{table}-") as tmp:
            params, pool, _ = TABLES[table](Path(tmp))
            for r in range(args.resamples):
                rng = np.random.default_rng([args.size, r, 7])
                train, holdout, real = split(pool, args.size, rng)
                for schema_name, p in (("declared", params), ("without points", without_points(params, HEAPED[table]))):
                    t = time.perf_counter()
                    decoded = through_schema(train, real, p, rng)
                    report, checks = validate(train, holdout, decoded, params)
                    c = {c.name: c for c in checks}
                    vp = params.validate_
                    without = report["fidelity"].get("distinguishability_without") or (  # validate fits it on a miss
                        fidelity.distinguishability_without(train, decoded, params,
                                                            max_rows=vp.distinguish_rows, seed=vp.seed))
                    auc = report["fidelity"]["distinguishability_auc"]
                    row = {"table": table, "size": args.size, "resample": r, "schema": schema_name,
                           "distinguishability": round(auc["point"], 3),
                           "distinguishability_upper": round(auc["upper"], 3),
                           "fidelity_js_upper": round(c["fidelity_js"].score, 3),
                           "fidelity_js_driven_by": c["fidelity_js"].breakdown.get("driven_by"),
                           "driven_by": min(without, key=without.get),  # its removal lowers the AUC most
                           "auc_without_driver": round(min(without.values()), 3),
                           "seconds": round(time.perf_counter() - t, 1)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print("\n| table | rows | schema | distinguishability (point, upper) | fidelity_js upper (column) | "
          "column a classifier sees most (AUC without it) |")
    print("|---|---|---|---|---|---|")
    for table in args.tables:
        for schema_name in ("declared", "without points"):
            rs = [r for r in rows if r["table"] == table and r["schema"] == schema_name]
            drivers = sorted({r["driven_by"] for r in rs})
            print(f"| {table} | {args.size} | {schema_name} | "
                  f"{min(r['distinguishability'] for r in rs):.3f}-{max(r['distinguishability'] for r in rs):.3f}, "
                  f"{min(r['distinguishability_upper'] for r in rs):.3f}-{max(r['distinguishability_upper'] for r in rs):.3f} | "
                  f"{min(r['fidelity_js_upper'] for r in rs):.3f}-{max(r['fidelity_js_upper'] for r in rs):.3f} "
                  f"({', '.join(sorted({str(r['fidelity_js_driven_by']) for r in rs}))}) | "
                  f"{', '.join(drivers)} ({min(r['auc_without_driver'] for r in rs):.3f}-"
                  f"{max(r['auc_without_driver'] for r in rs):.3f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
