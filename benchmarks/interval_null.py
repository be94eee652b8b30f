"""Every gate's interval on real-vs-real splits: does it carry the spread its score really has?

A gate decides on the conservative bound of a 95 % interval, so a fail is only a decided one if
the interval is as wide as the score's sampling error. That error is measured here directly: for
each split, disjoint real rows as calibration.py draws them (n training rows, n/2 holdout rows and
n rows of an independent real sample, put through validation and the attacks as if synthetic).
Across the splits, the point of each gate's score spreads by its sampling error; the interval
assumes a standard error of its half-width on the gate's side / 1.96. A ratio (spread / assumed)
well over 1 means the interval is too narrow there (a fail may be chance); well under 1, too wide
(undecidable more often than it need be).

Where the score has a known value for an independent real sample (a share of rows nearer training
than holdout of 0.5, no excess of matches, no attack risk, a classifier's AUC of 0.5), the number
of splits whose interval excludes it on the alarming side is counted too: about 2.5 % of them when
the interval is right.

    python benchmarks/interval_null.py [--tables adult randhie] [--sizes 1000 3000] [--splits 40]
                                       [--out benchmarks/results/interval_null]

Every split is appended to <out>.jsonl as it finishes (and skipped when already there); the
summary is printed and written to <out>.json and <out>.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
import calibration  # noqa: E402  (its tables, and REPO on sys.path)

# the value of each score for an independent real sample, where one is known (each gate alarms
# above it: an interval whose lower bound is over it excludes it on the alarming side)
NULLS = {"distinguishability": 0.5, "exact_match_excess": 0.0, "near_duplicate_excess": 0.0, "dcr_share": 0.5,
         "singling_out_risk": 0.0, "linkability_risk": 0.0}


def interval(breakdown: dict) -> dict | None:
    """The {point, lower, upper} a check decided on, where its breakdown gives one."""
    for key in ("interval", "excess", "risk"):
        if isinstance(breakdown.get(key), dict) and "point" in breakdown[key]:
            return breakdown[key]
    return None


def _split_record(train, holdout, real, params) -> dict[str, dict]:
    from synthgov.attacks import attack
    from synthgov.validation import validate

    _, vchecks = validate(train, holdout, real, params)
    _, achecks, _ = attack(real, train, holdout, params, guarantee=None)
    out = {}
    for c in [*vchecks, *achecks]:
        # tstr_ratio: each learner on its own (the gate's driver switches between them)
        found = ({f"{c.name}.{k}": v for k, v in c.breakdown.items() if isinstance(v, dict) and "point" in v}
                 if c.name == "tstr_ratio" else {c.name: interval(c.breakdown)})
        for name, ci in found.items():
            if ci is not None:
                out[name] = {"bound": c.breakdown["bound"], "threshold": c.threshold,
                             **{k: float(ci[k]) for k in ("point", "lower", "upper")}}
    return out


def summarise(records: list[dict]) -> list[dict]:
    """Per table, size and gate: the points' spread, the standard error the intervals assume on the
    gate's side, their ratio, and the splits excluding the null on the alarming side."""
    rows = []
    for table, size in sorted({(r["table"], r["size"]) for r in records}):
        recs = [r["gates"] for r in records if (r["table"], r["size"]) == (table, size)]
        for gate in sorted({g for rec in recs for g in rec}):
            got = [rec[gate] for rec in recs if gate in rec and np.isfinite(rec[gate]["point"])]
            if len(got) < 3:
                continue
            points = np.array([g["point"] for g in got])
            side = np.array([abs(g[g["bound"]] - g["point"]) / 1.96 for g in got])
            row = {"table": table, "size": size, "gate": gate, "splits": len(got),
                   "point_mean": round(float(points.mean()), 4), "point_sd": round(float(points.std(ddof=1)), 4),
                   "se_assumed": round(float(side.mean()), 4),
                   "ratio": round(float(points.std(ddof=1) / side.mean()), 2) if side.mean() > 0 else None,
                   "bound_mean": round(float(np.mean([g[g["bound"]] for g in got])), 4),
                   "threshold": got[0]["threshold"]}
            if gate in NULLS:
                null = NULLS[gate]
                row["null"] = null
                row["excluding_null"] = int(sum(g["lower"] > null + 1e-12 for g in got))
            rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| table | rows | gate | splits | point: mean, sd | se the interval assumes | sd / se | "
             "lower bound over the null |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        null = f"{r['excluding_null']} of {r['splits']} (null {r['null']:g})" if "null" in r else "-"
        lines.append(f"| {r['table']} | {r['size']} | {r['gate']} | {r['splits']} | {r['point_mean']:.3f}, "
                     f"{r['point_sd']:.4f} | {r['se_assumed']:.4f} | {r['ratio']} | {null} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = calibration.null_parser(__doc__, sizes=[1000, 3000], splits=40, seed=2, out="interval_null")
    parser.add_argument("--summary-only", action="store_true", help="only summarise the records already there")
    args = parser.parse_args()

    import synthgov  # noqa: F401  (telemetry off)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.with_suffix(".jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    done = {(r["table"], r["size"], r["split"]) for r in records}
    started = time.perf_counter()
    for table, params, pool, _, n in calibration.sized_pools([] if args.summary_only else args.tables,
                                                             args.sizes, "interval"):
        rng = np.random.default_rng([args.seed, n, sum(map(ord, table))])
        for s in range(args.splits):
            train, holdout, real = calibration.split(pool, n, rng)  # drawn even when done: the same splits
            if (table, n, s) in done:
                continue
            t = time.perf_counter()
            rec = {"table": table, "size": n, "split": s,
                   "gates": _split_record(train, holdout, real, params),
                   "seconds": round(time.perf_counter() - t, 1)}
            with path.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            records.append(rec)
            print(f"{table} {n} split {s} ({rec['seconds']} s)", file=sys.stderr, flush=True)
    rows = summarise(records)
    out.with_suffix(".json").write_text(json.dumps({"rows": rows, "splits_recorded": len(records),
                                                    "this_session_seconds": round(time.perf_counter() - started, 1)},
                                                   indent=1))
    out.with_suffix(".md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
