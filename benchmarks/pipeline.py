"""Benchmark the default pipeline: wall time and peak RSS per stage and in total, as one JSON line.

Each stage runs as its own process (`synthgov stage NAME`, exactly what dvc.yaml runs), so its
peak RSS is its own (os.wait4). Then the whole Prefect flow (`synthgov run`) is timed end to end,
temporary Prefect server and MLflow logging included. Both run in a fresh temporary workspace
holding a copy of params/ and data/, so nothing in the repository is touched.

    python benchmarks/pipeline.py [--epsilon 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = ["ingest", "audit", "train", "generate", "validate", "attack", "gate", "promote"]


def _measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, float, float]:
    """Run `cmd`; return its exit code, wall seconds and peak RSS in MiB (its log on failure)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-5000:])
    return code, time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epsilon", type=float, default=None, help="override privacy.epsilon")
    args = parser.parse_args()
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
        env = {**os.environ, "PREFECT_HOME": str(ws / ".prefect")}
        stages = {}
        for stage in STAGES:
            code, wall, rss = _measure([exe, "stage", stage], ws, env)
            stages[stage] = {"seconds": round(wall, 2), "peak_rss_mib": round(rss, 1)}
            if code != 0:
                print(json.dumps({"error": f"stage {stage} exited {code}", "stages": stages}))
                return 1
        training = json.loads((ws / "artifacts/train/training.json").read_text())
        validation = json.loads((ws / "artifacts/validate/validation.json").read_text())
        generation = json.loads((ws / "artifacts/generate/generate.json").read_text())
        audit = json.loads((ws / "artifacts/audit/audit.json").read_text())
        attack = json.loads((ws / "artifacts/attack/attack.json").read_text())
        code, flow_wall, flow_rss = _measure(
            [exe, "run", "--summary-json", "summary.json"], ws, env)
        if not (ws / "summary.json").is_file():
            print(json.dumps({"error": f"synthgov run exited {code} without a summary", "stages": stages}))
            return 1
        summary = json.loads((ws / "summary.json").read_text())
    line = {
        "benchmark": "pipeline", "rows": training["rows"], "stages": stages,
        "stages_total_seconds": round(sum(s["seconds"] for s in stages.values()), 2),
        "stages_peak_rss_mib": max(s["peak_rss_mib"] for s in stages.values()),
        "flow_seconds": round(flow_wall, 2), "flow_peak_rss_mib": round(flow_rss, 1),
        "flow_promoted": summary["promoted"], "flow_exit_code": code,
        "epsilon": training["epsilon"], "delta": training["delta"],
        "train_seconds": round(training["train_seconds"], 2),
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
