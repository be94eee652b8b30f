"""Calibrate the gates across table sizes: how often honest candidates are blocked (false alarms)
and how often broken or leaky ones are caught, per gate and size, as markdown and JSON.

For each size n and each resample, disjoint real rows of Adult (train and test pooled) are drawn:
n training rows, n/2 holdout rows and n rows of an independent real sample. Candidates:
- honest: the independent real sample (a table no generator saw); an epsilon=1 DP release of
  synthgov's generator trained on the n rows (secret randomness), unless --no-dp;
- broken or leaky: a copy of the training rows, a noisy copy, a partial copy (10 % of the real
  sample's rows replaced by training rows), mode collapse (20 distinct rows repeated), a shuffled
  label, and one group's labels flipped (sex = Female).
Each is validated and attacked by the stage cores with the repository's params (validation and
attack exactly as in a run, without Prefect and MLflow), and every gate's verdict (pass, fail,
undecidable) is recorded. A blocking gate alarms when its verdict blocks promotion (fail, or
undecidable under the `block` policy).

    python benchmarks/calibration.py [--sizes 1000 3000 10000 30000] [--resamples 20] [--no-dp]
                                     [--out benchmarks/results/calibration]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.unit.attacks.test_attack import noisy_copy  # noqa: E402  (the candidate the tests use)
BROKEN = ("copy", "noisy_copy", "partial_copy", "mode_collapse", "shuffled_label", "flipped_group")


def _pool(params) -> pd.DataFrame:
    from synthgov.ingest.readers import adult_paths, conform, read_adult

    train_path, test_path = adult_paths()
    frames = [conform(read_adult(p), params.schema_, p.name)[0] for p in (train_path, test_path)]
    return pd.concat(frames, ignore_index=True)


def _candidates(train, real, params, rng, dp: bool) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, tuple | None]]:
    """name -> (synthetic table, the rows it was made from (the attacked members), DP guarantee)."""
    target, labels = params.data.target, sorted(train[params.data.target].dropna().unique())
    out = {"real_sample": (real, train, None)}
    if dp:
        from synthgov.privacy.randomness import dp_randomness
        from synthgov.synthesizers.dpar import DPAutoregressive

        synth = DPAutoregressive()
        report = synth.fit(train, params, dp_randomness(False, 0))
        members = train.iloc[synth.trained_rows].reset_index(drop=True) if synth.trained_rows is not None else train
        out["dp_release"] = (synth.sample(len(train), int(rng.integers(2**31))), members,
                             (report["epsilon"], report["delta"]))
    partial = real.copy()
    rows = rng.choice(len(real), len(real) // 10, replace=False)
    partial.iloc[rows] = train.iloc[rng.choice(len(train), len(rows), replace=False)].to_numpy()
    shuffled = real.copy()
    shuffled[target] = rng.permutation(shuffled[target].to_numpy())
    flipped = real.copy()
    women = flipped["sex"] == "Female"
    flipped.loc[women, target] = flipped.loc[women, target].map(lambda v: labels[1 - labels.index(v)])
    out.update({
        "copy": (train.copy(), train, None),
        "noisy_copy": (noisy_copy(train, params, seed=int(rng.integers(2**31))), train, None),
        "partial_copy": (partial, train, None),
        "mode_collapse": (real.iloc[rng.integers(0, 20, len(real))].reset_index(drop=True), train, None),
        "shuffled_label": (shuffled, train, None),
        "flipped_group": (flipped, train, None),
    })
    return out


def _verdicts(train, holdout, synthetic, members, guarantee, params) -> dict[str, dict[str, str]]:
    from synthgov.attacks import attack
    from synthgov.validation import validate

    _, vchecks = validate(train, holdout, synthetic, params)
    _, achecks, _ = attack(synthetic, members, holdout, params, guarantee=guarantee)
    return {c.name: {"verdict": c.verdict, "severity": c.severity, "blocks": c.blocking_failure}
            for c in [*vchecks, *achecks]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000, 30000])
    parser.add_argument("--resamples", type=int, default=20)
    parser.add_argument("--no-dp", action="store_true", help="leave out the DP release (it trains once a resample)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "calibration"))
    args = parser.parse_args()

    import synthgov  # noqa: F401  (telemetry off)
    from synthgov.params import load_params

    params = load_params(REPO / "params")
    pool = _pool(params)
    records, started = [], time.perf_counter()
    for n in args.sizes:
        if 2.5 * n > len(pool):
            print(f"size {n}: needs {int(2.5 * n)} rows, Adult has {len(pool)}; skipped", file=sys.stderr)
            continue
        for r in range(args.resamples):
            rng = np.random.default_rng([n, r])
            order = rng.permutation(len(pool))
            train = pool.iloc[order[:n]].reset_index(drop=True)
            holdout = pool.iloc[order[n:n + n // 2]].reset_index(drop=True)
            real = pool.iloc[order[n + n // 2:2 * n + n // 2]].reset_index(drop=True)
            for name, (synthetic, members, guarantee) in _candidates(train, real, params, rng, not args.no_dp).items():
                t = time.perf_counter()
                gates = _verdicts(train, holdout, synthetic, members, guarantee, params)
                records.append({"size": n, "resample": r, "candidate": name, "gates": gates})
                print(f"size {n} resample {r} {name}: blocked by "
                      f"{[g for g, v in gates.items() if v['blocks']] or 'nothing'} ({time.perf_counter() - t:.1f} s)",
                      file=sys.stderr, flush=True)
    table = _summarise(records)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"table": table, "records": records,
                                                    "seconds": round(time.perf_counter() - started, 1)}, indent=1))
    out.with_suffix(".md").write_text(_markdown(table))
    print(_markdown(table))
    return 0


def _summarise(records: list[dict]) -> dict:
    """Per size: each honest candidate's false-alarm rate per blocking gate (and its undecidable
    rate), and each broken candidate's rate of being blocked by at least one gate."""
    by = defaultdict(list)
    for rec in records:
        by[(rec["size"], rec["candidate"])].append(rec["gates"])
    table: dict = {}
    for (n, cand), runs in sorted(by.items()):
        row = {"resamples": len(runs), "blocked": sum(any(g["blocks"] for g in run.values()) for run in runs) / len(runs)}
        if cand not in BROKEN:
            names = sorted({g for run in runs for g, v in run.items() if v["severity"] == "block"
                            or v["verdict"] == "undecidable"})
            row["false_alarm"] = {g: sum(run[g]["blocks"] for run in runs) / len(runs) for g in names}
            row["decided_fail"] = {g: sum(run[g]["verdict"] == "fail" for run in runs) / len(runs) for g in names}
            row["undecidable"] = {g: sum(run[g]["verdict"] == "undecidable" for run in runs) / len(runs) for g in names}
        else:
            row["caught_by"] = {g: sum(run[g]["blocks"] for run in runs) / len(runs)
                                for g in sorted({g for run in runs for g, v in run.items() if v["blocks"]})}
        # blocked by a decided failure (not by an undecidable gate): what the data resolved
        row["failed_decided"] = sum(any(g["blocks"] and g["verdict"] == "fail" for g in run.values())
                                    for run in runs) / len(runs)
        table.setdefault(str(n), {})[cand] = row
    return table


def _markdown(table: dict) -> str:
    lines = ["| rows | candidate | resamples | blocked | blocked by a decided fail | gates that block (rate) "
             "| undecidable (rate) |", "|---|---|---|---|---|---|---|"]
    for n, cands in table.items():
        for cand, row in cands.items():
            alarms = row.get("false_alarm", row.get("caught_by", {}))
            blocking = ", ".join(f"{g} {v:.2f}" for g, v in sorted(alarms.items(), key=lambda kv: -kv[1]) if v > 0)
            und = ", ".join(f"{g} {v:.2f}" for g, v in (row.get("undecidable") or {}).items() if v > 0)
            lines.append(f"| {n} | {cand} | {row['resamples']} | {row['blocked']:.2f} | {row['failed_decided']:.2f} "
                         f"| {blocking or '-'} | {und or '-'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
