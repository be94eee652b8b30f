"""Benchmark the attacks' calibration and cost on real Adult rows, as one JSON line.

Candidates, attacked against 12,000 Adult training rows and 8,000 rows of the Adult test file
(the same split as the `synthgov evaluate` tests): a copy of the training rows, a noisy copy
(numerics jittered by 1% of their range, 5% of the categories changed), and an independent real
sample the "generator" never saw. Then the canary audit on 3,000 rows with 100 pairs, for a
correct DP-SGD run and for one whose noise is removed while it still claims epsilon = 1.

    python benchmarks/attack.py
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    import opacus.optimizers.optimizer as dp_optimizer

    from synthgov.attacks import attack
    from synthgov.privacy.canary import canary_audit
    from synthgov.ingest.readers import adult_paths, conform, read_adult
    from synthgov.params import load_params
    from synthgov.synthesizers.dpar import DPAutoregressive
    from tests.unit.attacks.test_attack import noisy_copy

    params = load_params(REPO / "params")
    train_path, test_path = adult_paths()
    train, _ = conform(read_adult(train_path), params.schema_, "adult.data")
    test, _ = conform(read_adult(test_path), params.schema_, "adult.test")
    members, holdout = train.iloc[:12000].reset_index(drop=True), test.iloc[:8000].reset_index(drop=True)
    candidates = {"copy": members, "noisy_copy": noisy_copy(members, params),
                  "independent": train.iloc[12000:24000].reset_index(drop=True)}
    out: dict = {"benchmark": "attack"}
    for name, candidate in candidates.items():
        started = time.perf_counter()
        report, checks, _ = attack(candidate, members, holdout, params)
        mi, risks = report["membership_inference"], report["risks"]
        out[name] = {
            "seconds": round(time.perf_counter() - started, 2),
            "failed_gates": [c.name for c in checks if not c.passed],
            "mia_auc": {a: round(mi[a]["roc_auc"]["point"], 4) for a in ("distance", "density_ratio")},
            "tpr_at_1pct_fpr": {a: round(mi[a]["tpr_at_0.01_fpr"]["point"], 4) for a in ("distance", "density_ratio")},
            "tpr_at_0.1pct_fpr": {a: round(mi[a]["tpr_at_0.001_fpr"]["point"], 4) for a in ("distance", "density_ratio")},
            "dcr_share": {k: round(v, 4) for k, v in report["leakage"]["dcr_share"].items()},
            "risk_upper": {"singling_out": round(risks["singling_out"]["risk"]["upper"], 4),
                           "linkability": round(risks["linkability"]["risk"]["upper"], 4),
                           **{f"inference:{s}": round(v["risk"]["upper"], 4) for s, v in risks["inference"].items()}},
        }
    rows = train.sample(n=3000, random_state=0).reset_index(drop=True)
    real_noise = dp_optimizer._generate_noise
    for name, broken in (("canary_correct", False), ("canary_noise_removed", True)):
        dp_optimizer._generate_noise = (lambda std, reference, generator=None, secure_mode=False:
                                        torch.zeros_like(reference)) if broken else real_noise
        started = time.perf_counter()
        report = canary_audit(rows, params, DPAutoregressive, pairs=100, seed=0)
        out[name] = {"seconds": round(time.perf_counter() - started, 2), "claimed_epsilon": round(report["claimed_epsilon"], 4),
                     "epsilon_lower_bound": round(report["epsilon_lower_bound"], 4),
                     "correct_guesses": report["correct_guesses"], "pairs": report["pairs"]}
    dp_optimizer._generate_noise = real_noise
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
