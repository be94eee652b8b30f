"""The exact_match_excess gate on real-vs-real splits: how often it calls chance decided.

calibration.py evaluates every gate on 20 resamples a size; a false-alarm rate of a few percent
cannot be told from 10 % at 20 (2 of 20 is 0.03-0.30). This gate's statistic needs no model, only
row hashes, so its null can be drawn many times: for each split, disjoint real rows as
calibration.py draws them (n training rows, n/2 holdout rows, n rows of an independent real
sample, attacked as the attack stage attacks a release: at most attack.subsample of its rows),
the excess of the real sample's exact-match share to the training rows over the holdout's, and
the gate's interval of it (synthgov.attacks._excess_interval). Printed per table and size: the
natural share, the spread of the excess across splits against the error the interval assumes,
and the share of splits the gate decides (lower bound over the threshold: a false alarm, since
both samples are real) with its Wilson interval.

    python benchmarks/exact_match_null.py [--tables adult randhie] [--sizes 3000 8000] [--splits 300]
                                          [--out benchmarks/results/exact_match_null.json]
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
from synthgov.stats import wilson  # noqa: E402


def main() -> int:
    parser = calibration.null_parser(__doc__, sizes=[1000, 3000, 8000], splits=300, seed=1, out="exact_match_null.json")
    args = parser.parse_args()

    from synthgov.attacks import _excess_interval
    from synthgov.attacks.leakage import exact_match_share

    rows, started = [], time.perf_counter()
    for table, params, pool, _, n in calibration.sized_pools(args.tables, args.sizes, "exact-match"):
        pool = pool[[c for c in params.schema_ if c not in params.data.exclude]]
        threshold = params.gates.spec("exact_match_excess").threshold
        rng = np.random.default_rng([args.seed, n])
        points, errors, natural, decided = [], [], [], 0
        for _ in range(args.splits):
            train, holdout, real = calibration.split(pool, n, rng)
            real = real.iloc[rng.choice(len(real), min(params.attack.subsample, len(real)), replace=False)]
            ex = {"synthetic_share": exact_match_share(real, train),
                  "natural_share": exact_match_share(holdout, train),
                  "synthetic_rows": len(real), "holdout_rows": len(holdout)}
            ci = _excess_interval(ex)
            points.append(ci["point"])
            errors.append((ci["upper"] - ci["point"]) / 1.96)
            natural.append(ex["natural_share"])
            decided += ci["lower"] > threshold
        lo, hi = wilson(decided, args.splits)
        rows.append({"table": table, "size": n, "splits": args.splits, "threshold": threshold,
                     "natural_share": round(float(np.mean(natural)), 4),
                     "excess_mean": round(float(np.mean(points)), 5),
                     "excess_sd": round(float(np.std(points)), 5),
                     "assumed_se": round(float(np.mean(errors)), 5), "decided": decided,
                     "decided_rate": round(decided / args.splits, 4),
                     "decided_interval": [round(lo, 4), round(hi, 4)]})
        r = rows[-1]
        print(f"{table} {n}: natural share {r['natural_share']:.3f}, excess {r['excess_mean']:+.4f} "
              f"(sd {r['excess_sd']:.4f} across splits; the gate assumes {r['assumed_se']:.4f}), "
              f"decided in {decided} of {args.splits} ({r['decided_rate']:.3f}, {lo:.3f}-{hi:.3f})", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"rows": rows, "seconds": round(time.perf_counter() - started, 1)},
                                         indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
