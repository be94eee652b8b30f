"""Privacy-utility sweep on Adult: synthgov's DP generator at several epsilons, beside SDV peers.

UCI train is the source and UCI test the holdout. For each run: TSTR ROC-AUC with the same
HistGradientBoosting learner as the pipeline, its ratio to TRTR, training seconds, generation
rows/s and the process's peak RSS so far. Prints a table and writes a JSON file.

    python benchmarks/privacy_utility.py [--epsilons 0.5,1,3,10,inf] [--no-sdv] [--out PATH]

The SDV baselines (GaussianCopula; CTGAN 20 epochs; TVAE 50 epochs) are non-DP (epsilon = inf)
and need the optional `sdv` extra.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epsilons", default="0.5,1,3,10,inf")
    parser.add_argument("--no-sdv", action="store_true", help="skip the SDV baselines")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "privacy_utility.json"))
    args = parser.parse_args()

    from synthgov.ingest.readers import adult_paths, conform, read_adult
    from synthgov.params import load_params
    from synthgov.synthesizers import get_synthesizer
    from synthgov.validation import learner_auc

    base = load_params(REPO / "params")
    train_path, test_path = adult_paths()
    train, _ = conform(read_adult(train_path), base.schema_, str(train_path))
    test, _ = conform(read_adult(test_path), base.schema_, str(test_path))
    trtr = learner_auc(train, test, base)

    runs = [("dp-autoregressive", float(e), {}) for e in args.epsilons.split(",")]
    if not args.no_sdv:
        runs += [("sdv-gaussiancopula", math.inf, {}),
                 ("sdv-ctgan", math.inf, {"train.epochs": 20}),
                 ("sdv-tvae", math.inf, {"train.epochs": 50})]
    rows = []
    for name, eps, extra in runs:
        params = load_params(REPO / "params", {"privacy.epsilon": eps, "train.synthesizer": name, **extra})
        synth = get_synthesizer(name)()
        report = synth.fit(train, params)
        started = time.perf_counter()
        synthetic = synth.sample(len(train), seed=0)
        gen_seconds = time.perf_counter() - started
        tstr = learner_auc(synthetic, test, params)
        rows.append({"synthesizer": name, "epsilon_target": eps, "epsilon_spent": report["epsilon"],
                     "delta": report["delta"], "tstr_auc": round(tstr, 4), "trtr_auc": round(trtr, 4),
                     "tstr_ratio": round(tstr / trtr, 4), "train_seconds": round(report["train_seconds"], 1),
                     "generate_rows_per_second": round(len(synthetic) / gen_seconds),
                     "peak_rss_mib": round(_peak_rss_mib())})
        r = rows[-1]
        print(f"{name:20s} eps={eps:<5g} spent={r['epsilon_spent']:<8.4g} TSTR={r['tstr_auc']:.4f} "
              f"ratio={r['tstr_ratio']:.4f} train={r['train_seconds']:6.1f}s "
              f"gen={r['generate_rows_per_second']:>9,d} rows/s rss={r['peak_rss_mib']} MiB", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "privacy_utility", "source_rows": len(train),
                               "holdout_rows": len(test), "trtr_auc": trtr, "runs": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
