"""The dcr_share gate on real-vs-real splits: does its interval carry the spread of the share?

For each split, disjoint real rows as calibration.py draws them (n training rows, n/2 holdout
rows, n rows of an independent real sample), attacked as the attack stage attacks a release:
members and non-members are equally many (the holdout's half, at most attack.subsample), the
real sample's rows are the synthetic ones. Since the "synthetic" rows are real and independent
of both sides, the share is 0.5 but for chance. Printed per table and size: the spread of the
share across splits, the standard error its interval assumes (the 95 % interval's width / 3.92)
with the synthetic rows alone resampled (the former interval) and with the training and holdout
rows resampled too (synthgov.attacks.leakage.dcr_share), and how often each put its lower bound
over 0.5 (about 2.5 % when the interval is right) and over the gate's threshold (a false alarm).

    python benchmarks/dcr_null.py [--tables adult randhie] [--sizes 1000 3000] [--splits 40]
                                  [--out benchmarks/results/dcr_null.json]
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


def main() -> int:
    parser = calibration.null_parser(__doc__, sizes=[1000, 3000], splits=40, seed=1, out="dcr_null.json")
    args = parser.parse_args()

    from synthgov.attacks import encoding
    from synthgov.attacks.leakage import _share_interval, leakage

    rows, started = [], time.perf_counter()
    for table, params, pool, _, n in calibration.sized_pools(args.tables, args.sizes, "dcr"):
        threshold, cap = params.gates.spec("dcr_share").threshold, params.attack.subsample
        rng = np.random.default_rng([args.seed, n])
        points, se = [], {"synthetic rows": [], "all three": []}
        over_half = {k: 0 for k in se}
        over_threshold = {k: 0 for k in se}
        for _ in range(args.splits):
            train, holdout, real = calibration.split(pool, n, rng)
            m = min(cap, len(train), len(holdout) // 2)
            members = train.iloc[rng.choice(len(train), m, replace=False)]
            non_members = holdout.iloc[rng.permutation(len(holdout))[:m]]
            syn = real.iloc[rng.choice(len(real), min(cap, len(real)), replace=False)]
            cats = encoding.categories(params, train, holdout, syn)
            enc = [encoding.encode(df.reset_index(drop=True), params, cats) for df in (syn, members, non_members)]
            report, dist = leakage(*enc, near_quantile=params.attack.near_duplicate_quantile,
                                   seed=params.attack.seed)
            hits = (dist["dcr_train"] < dist["dcr_holdout"]) + 0.5 * (dist["dcr_train"] == dist["dcr_holdout"])
            for name, ci in (("synthetic rows", _share_interval(hits, params.attack.seed)),
                             ("all three", report["dcr_share"])):
                se[name].append((ci["upper"] - ci["lower"]) / 3.92)
                over_half[name] += ci["lower"] > 0.5
                over_threshold[name] += ci["lower"] > threshold
            points.append(report["dcr_share"]["point"])
        rows.append({"table": table, "size": n, "splits": args.splits, "attacked_a_side": m,
                     "share_mean": round(float(np.mean(points)), 4),
                     "share_sd": round(float(np.std(points, ddof=1)), 4),
                     **{f"se_{k.replace(' ', '_')}": round(float(np.mean(v)), 4) for k, v in se.items()},
                     **{f"lower_over_0.5_{k.replace(' ', '_')}": v for k, v in over_half.items()},
                     **{f"decided_{k.replace(' ', '_')}": v for k, v in over_threshold.items()}})
        r = rows[-1]
        print(f"{table} {n} ({m} a side): share {r['share_mean']:.3f}, sd {r['share_sd']:.4f} across "
              f"splits; the interval assumes {r['se_synthetic_rows']:.4f} resampling the synthetic rows, "
              f"{r['se_all_three']:.4f} resampling all three; lower bound over 0.5 in "
              f"{over_half['synthetic rows']} / {over_half['all three']} of {args.splits}, over "
              f"{threshold} in {over_threshold['synthetic rows']} / {over_threshold['all three']}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"rows": rows, "seconds": round(time.perf_counter() - started, 1)},
                                         indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
