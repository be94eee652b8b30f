"""Benchmark `synthgov init` + `synthgov run` at epsilon 1 on public tables other than Adult.

For each table of tests/integration/public_tables.py (four statsmodels data sets, whole, with a
record-number column added), in a fresh temporary folder: `synthgov init` with nothing declared by
hand, then `synthgov run` with the package's default params. Prints one line per table (rows,
columns kept, epsilon and its slices, TSTR/TRTR, failed gates, wall time of init and run) and the
rows as JSON at the end. Goal: TSTR/TRTR >= 0.9 on every table of at least 5,000 rows.

    python benchmarks/tables.py [--tables randhie,fair] [--epsilon 1.0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.integration import public_tables as pt  # noqa: E402


def _cli(*args: str, cwd: Path) -> tuple[int, float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "synthgov.cli", *args], cwd=cwd, capture_output=True, text=True)
    return done.returncode, time.perf_counter() - started, done.stderr[-2000:]


def bench(name: str, epsilon: float) -> dict:
    build, table = pt.PUBLIC[name]
    df = build()
    with tempfile.TemporaryDirectory(prefix=f"synthgov-bench-{name}-") as tmp:
        root = Path(tmp)
        source = pt.write(df, root / f"{name}.csv")
        code, init_s, err = _cli("init", str(root / "ws"), "--source", str(source), "--target", table.target,
                                 "--protected", ",".join(table.protected), "--epsilon", str(epsilon), cwd=root)
        if code != 0:
            return {"table": name, "rows": len(df), "error": f"init exit {code}: {err}"}
        ws = root / "ws"
        code, run_s, err = _cli("run", "--summary-json", str(ws / "summary.json"), cwd=ws)
        summary = json.loads((ws / "summary.json").read_text())
        training = {}
        for path in ws.glob("runs/*/train/training.json"):
            training = json.loads(path.read_text())
        budget = training.get("budget", {})
        tstr, trtr = summary.get("tstr_auc"), summary.get("trtr_auc")
        return {"table": name, "rows": len(df), "columns": len(df.columns),
                "kept": len(training.get("columns", [])) or None, "exit_code": code,
                "epsilon": summary.get("epsilon"),
                "slices": {"counts": budget.get("count_epsilon"), "preprocessing": budget.get("preprocessing_epsilon"),
                           "schema": budget.get("schema_epsilon"), "training": training.get("epsilon_training")},
                "tstr_auc": tstr, "trtr_auc": trtr, "tstr_trtr": tstr / trtr if tstr and trtr else None,
                "failed_gates": summary.get("failed_gates"), "init_seconds": round(init_s, 1),
                "run_seconds": round(run_s, 1), "error": None if code in (0, 1) else err}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default=",".join(pt.PUBLIC), help="comma-separated table names")
    parser.add_argument("--epsilon", type=float, default=1.0)
    args = parser.parse_args()
    rows = []
    for name in args.tables.split(","):
        row = bench(name, args.epsilon)
        rows.append(row)
        ratio = f"{row['tstr_trtr']:.3f}" if row.get("tstr_trtr") else "-"
        sl = row.get("slices", {})
        print(f"{name:11s} rows {row['rows']:6d}  eps {row.get('epsilon') or 0:.3f} (counts {sl.get('counts')}, "
              f"preprocessing {sl.get('preprocessing')}, schema {sl.get('schema')}, training "
              f"{(sl.get('training') or 0):.3f})  TSTR/TRTR {ratio}  exit {row.get('exit_code')}  "
              f"failed {row.get('failed_gates')}  init {row.get('init_seconds')} s  run {row.get('run_seconds')} s"
              + (f"  ERROR {row['error']}" if row.get("error") else ""), flush=True)
    print(json.dumps(rows, indent=1))
    return 0 if all(not r.get("error") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
