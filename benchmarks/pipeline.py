"""Benchmark the default pipeline: per stage wall, CPU seconds and peak RSS, the whole flow, and
the orchestration + tracking overhead, as one JSON line.

Each stage runs as its own process (`synthgov stage NAME`, exactly what dvc.yaml runs), so its
peak RSS and CPU time are its own (os.wait4; the benchmark's own process holds no table, so the
child's ru_maxrss is not its parent's peak carried over the exec), and it logs the time of its
core alone (the stage function, without the interpreter's start). Then the whole Prefect flow
(`synthgov run`) is timed end to end, temporary Prefect server and MLflow logging included: its
overhead is the flow's wall time minus the sum of the stage cores. Its memory is given twice: the
flow process's own peak, and the peak sum over its process tree (on a large source each stage
runs in a child process: synthgov.isolation). Everything runs in a fresh temporary workspace
holding a copy of params/ and data/, so nothing in the repository is touched.

    python benchmarks/pipeline.py [--epsilon 1.0] [--scale 10] [--task-runner dask] [--flow-only | --stages-only]

`--scale N` replaces the source by N times Adult's training rows, resampled with jitter (age and
hours within a few units, fnlwgt within about 5 %), a stand-in for a larger table of the same shape.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = ["ingest", "audit", "train", "generate", "validate", "attack", "gate", "promote"]


def _measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, dict[str, float], str]:
    """Run `cmd`; return its exit code, its wall and CPU seconds and peak RSS in MiB, and its log
    (written to stderr on failure)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        tree = _TreeRss(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        tree.stop()
        code = os.waitstatus_to_exitcode(status)
        log.seek(0)
        text = log.read().decode(errors="replace")
    if code != 0:
        sys.stderr.write(text[-5000:])
    return code, {"seconds": round(time.perf_counter() - started, 2),
                  "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
                  "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "peak_tree_rss_mib": tree.peak_mib}, text


class _TreeRss(threading.Thread):
    """The largest sum of the resident sets of a process and its descendants alive at once,
    sampled twice a second (ru_maxrss is one process's peak: a flow whose stages run in child
    processes holds the parent's and a child's memory at the same time)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_mib, self._done = pid, 0.0, threading.Event()
        self.start()

    def run(self) -> None:
        import psutil

        while not self._done.wait(0.5):
            try:
                top = psutil.Process(self.pid)
                rss = sum(p.memory_info().rss for p in [top, *top.children(recursive=True)])
            except psutil.Error:  # a process ended between the listing and the reading
                continue
            self.peak_mib = max(self.peak_mib, round(rss / 2**20, 1))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _scaled(ws: Path, factor: int) -> None:
    """Replace the workspace's source by `factor` times Adult's training rows, resampled with jitter,
    and its holdout by Adult's test rows, both as CSV (the params then read them as such)."""
    import numpy as np
    import pandas as pd
    import yaml

    from synthgov.ingest.readers import read_adult

    rng = np.random.default_rng(0)
    train, test = read_adult(ws / "data/raw/adult.data.gz"), read_adult(ws / "data/raw/adult.test.gz")
    big = train.iloc[rng.integers(0, len(train), factor * len(train))].reset_index(drop=True)
    for col in ("age", "hours_per_week", "fnlwgt"):  # read as text, like every raw column
        big[col] = pd.to_numeric(big[col])
    big["age"] = (big["age"] + rng.integers(-2, 3, len(big))).clip(17, 90)
    big["hours_per_week"] = (big["hours_per_week"] + rng.integers(-3, 4, len(big))).clip(1, 99)
    # within the schema's public bounds (the source contract's range)
    big["fnlwgt"] = (big["fnlwgt"] * rng.lognormal(0, 0.05, len(big))).round().clip(10_000, 1_500_000).astype("int64")
    big.to_csv(ws / "data/source.csv", index=False)
    test.to_csv(ws / "data/holdout.csv", index=False)
    path = ws / "params" / "data.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(source="data/source.csv", holdout="data/holdout.csv", format="auto")
    path.write_text(yaml.safe_dump(data))


def _core(log: str, stage: str) -> dict[str, float]:
    match = re.search(rf"stage {stage}: core ([0-9.]+) s wall, ([0-9.]+) s CPU", log)
    return {"core_seconds": float(match[1]), "core_cpu_seconds": float(match[2])} if match else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epsilon", type=float, default=None, help="override privacy.epsilon")
    parser.add_argument("--scale", type=int, default=1, help="N times Adult's training rows (resampled, jittered)")
    parser.add_argument("--task-runner", choices=["default", "dask"], default="default", help="of the flow run")
    parser.add_argument("--flow-only", action="store_true", help="time the flow alone, not each stage")
    parser.add_argument("--stages-only", action="store_true", help="time each stage, not the flow (a large --scale)")
    args = parser.parse_args()
    if args.flow_only and args.stages_only:
        parser.error("--flow-only and --stages-only exclude each other")
    exe = str(Path(sys.executable).parent / "synthgov")
    with tempfile.TemporaryDirectory(prefix="synthgov-bench-") as tmp:
        ws = Path(tmp)
        shutil.copytree(REPO / "params", ws / "params")
        shutil.copytree(REPO / "data", ws / "data")
        (ws / "checks").mkdir()
        shutil.copy(REPO / "checks" / "source_contract.json", ws / "checks")
        if args.epsilon is not None:
            path = ws / "params" / "privacy.yaml"
            path.write_text(path.read_text().replace("epsilon: 1.0", f"epsilon: {args.epsilon}"))
        if args.scale > 1:
            # in a process of its own: this one must never hold a table, or the stages' peak RSS
            # (ru_maxrss of a vfork-started child carries its parent's peak over the exec) reads
            # the scaled table's size instead of their own
            import multiprocessing

            child = multiprocessing.get_context("spawn").Process(target=_scaled, args=(ws, args.scale))
            child.start()
            child.join()
            if child.exitcode != 0:
                print(json.dumps({"error": f"building the {args.scale}x source exited {child.exitcode}"}))
                return 1
        env = {**os.environ, "PREFECT_HOME": str(ws / ".prefect")}
        stages = {}
        for stage in [] if args.flow_only else STAGES:
            code, usage, log = _measure([exe, "stage", stage], ws, env)
            stages[stage] = {**usage, **_core(log, stage)}
            print(f"stage {stage}: {stages[stage]}", file=sys.stderr, flush=True)
            if stage == "gate" and code == 1:  # a blocking gate failed: a verdict, not an error
                stages["gate"]["failed"] = re.findall(r"failed gates \[(.*)\]", log)
                break
            if code != 0:
                print(json.dumps({"error": f"stage {stage} exited {code}", "stages": stages}))
                return 1
        if args.stages_only:  # the stages' own outputs (dvc.yaml's artifacts/)
            code, flow, summary, run = None, {"seconds": None, "cpu_seconds": None, "peak_rss_mib": None}, \
                {"promoted": None}, ws / "artifacts"
        else:
            code, flow, log = _measure([exe, "run", "--summary-json", "summary.json", "--task-runner", args.task_runner],
                                       ws, env)
            if not (ws / "summary.json").is_file():
                print(json.dumps({"error": f"synthgov run exited {code} without a summary", "stages": stages}))
                return 1
            summary = json.loads((ws / "summary.json").read_text())
            run = Path(summary["run_folder"])
        snapshot = json.loads((run / "ingest/snapshot.json").read_text())
        training = json.loads((run / "train/training.json").read_text())
        validation = json.loads((run / "validate/validation.json").read_text())
        generation = json.loads((run / "generate/generate.json").read_text())
        audit = json.loads((run / "audit/audit.json").read_text())
        attack = json.loads((run / "attack/attack.json").read_text())
    cores = sum(s.get("core_seconds", 0.0) for s in stages.values())
    line = {
        "benchmark": "pipeline", "scale": args.scale, "task_runner": args.task_runner, "rows": snapshot["train_rows"],
        "stages": stages,
        "stages_total_seconds": round(sum(s["seconds"] for s in stages.values()), 2),
        "stages_core_seconds": round(cores, 2),
        "stages_peak_rss_mib": max((s["peak_rss_mib"] for s in stages.values()), default=None),
        "flow_seconds": flow["seconds"], "flow_cpu_seconds": flow["cpu_seconds"],
        "flow_peak_rss_mib": flow["peak_rss_mib"], "flow_peak_tree_rss_mib": flow.get("peak_tree_rss_mib"),
        # orchestration + tracking: the flow's time beyond the stage cores (Prefect, MLflow, imports)
        "overhead_seconds": round(flow["seconds"] - cores, 2) if stages and flow["seconds"] else None,
        "overhead_share": round(1 - cores / flow["seconds"], 3) if stages and flow["seconds"] else None,
        "flow_promoted": summary["promoted"], "flow_exit_code": code,
        "epsilon": training["epsilon"], "delta": training["delta"],
        "train_seconds": training.get("train_seconds"),
        "generate_rows_per_second": round(generation["rows_per_second"]),
        "tstr_auc": round(validation["tstr_auc"], 4), "trtr_auc": round(validation["trtr_auc"], 4),
        "tstr_ratio": round(validation["tstr_ratio"], 4),
        "tstr_ratio_lower": round(validation["utility"]["gradient_boosting"]["roc_auc"]["ratio"]["lower"], 4),
        "distinguishability_upper": round(validation["fidelity"]["distinguishability_auc"]["upper"], 4),
        "audit_findings": {c["name"]: [round(c["score"], 4), c["passed"]] for c in audit["checks"]},
        "sex_disparate_impact": round(audit["bias"]["sex"]["disparate_impact"], 3),
        "sex_top_proxies": [f["column"] for f in audit["proxies"]["sex"]["top_features"][:3]],
        "attack_gates": {c["name"]: [round(c["score"], 4), c["passed"]] for c in attack["checks"]},
        "mia_auc": {k: round(attack["membership_inference"][k]["roc_auc"]["point"], 4)
                    for k in ("distance", "density_ratio")},
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
