"""synthgov's default generator against the DP peers a user would pick instead, on the same rows,
scored by one scorer.

Peers (benchmarks/peer_fit.py fits each): synthgov's default (dp-autoregressive); dpmm's MST, AIM
and PrivBayes (end-to-end DP marginal models); MOSTLY AI's open engine (TabularARGN) with DP and
without; SDV's GaussianCopula (no DP). dpmm and mostlyai-engine pin numpy, pandas and torch
differently from synthgov and from each other, so each runs in its own virtual environment under
benchmarks/.peers/, made on first use from the pins in ENVIRONMENTS (torchvision is removed from
MOSTLY AI's: pip adds a wheel that breaks it). synthgov and SDV run in this environment.

Protocol: for each seed, disjoint real rows of Adult (train and test pooled): `--rows` training
rows and half as many holdout rows no peer sees. Every peer is fitted on the training rows at each
epsilon of `--epsilons` (delta 1e-5; the non-DP variants once, at epsilon inf), given the public
domain of params/schema.yaml where its API takes one, and generates as many rows. Each fit runs as
a child process capped in CPU seconds (`--cpu-seconds`, RLIMIT_CPU: a peer over the cap is
recorded as not finished) and in epochs where the peer trains by epochs (`--max-epochs`), never in
wall time; its CPU seconds are read from the child's resource usage, its peak RSS from its own VmHWM. The scorer is
synthgov's own: the validation and attack stage cores with Adult's params, as `synthgov evaluate`
runs them, so every peer also gets synthgov's gate verdicts (blocking under params/gates.yaml).

Records are appended to benchmarks/results/peers.jsonl as each evaluation finishes and skipped
when already there (the full protocol is hours of CPU on 2 cores: it can be run in parts).

    python benchmarks/peers.py [--peers synthgov dpmm-mst ...] [--epsilons 0.3 1 3] [--seeds 0 1 2]
                               [--rows 10000] [--cpu-seconds 1800] [--max-epochs 100]
    python benchmarks/peers.py --summary-only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))  # by folder: an installed package is named `benchmarks` too
from calibration import _adult, _blocks, _policy  # noqa: E402

# the peer's environment: pip requirements (installed with no constraints of ours), then packages to remove
ENVIRONMENTS = {
    "dpmm": (["dpmm==0.1.9"], []),
    "mostlyai": (["mostlyai-engine==2.7.3", "torch==2.13.0"], ["torchvision"]),
}
# (peer, DP variant): its environment (None: this one) and whether it runs at each epsilon or once at inf
VARIANTS = {
    "synthgov": (None, "dp"), "dpmm-mst": ("dpmm", "dp"), "dpmm-aim": ("dpmm", "dp"),
    "dpmm-privbayes": ("dpmm", "dp"), "mostlyai": ("mostlyai", "dp"), "mostlyai-nodp": ("mostlyai", "inf"),
    "sdv-gaussiancopula": (None, "inf"),
}
DELTA = 1e-5


def _python(env: str | None, root: Path) -> str:
    """The interpreter of a peer's environment, made on first use (and again when its pins change)."""
    if env is None:
        return sys.executable
    requirements, remove = ENVIRONMENTS[env]
    folder = root / env
    python, stamp = folder / "bin" / "python", folder / "synthgov-peer.json"
    wanted = json.dumps({"requirements": requirements, "remove": remove})
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    print(f"making the {env} environment in {folder} ({' '.join(requirements)})", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements], check=True)
    if remove:
        subprocess.run([str(python), "-m", "pip", "uninstall", "--yes", "--quiet", *remove], check=True)
    stamp.write_text(wanted)
    return str(python)


def _domain(params) -> dict:
    """The public domain, from the declared schema alone."""
    cols = {}
    for name, spec in params.schema_.items():
        cols[name] = ({"type": "categorical", "categories": list(spec.categories)} if spec.type == "categorical"
                      else {"type": "numeric", "lower": spec.lower, "upper": spec.upper, "integer": spec.integer})
    return {"columns": cols, "target": params.data.target}


def _fit(python: str, peer: str, epsilon: float, seed: int, rows: int, args, work: Path) -> dict:
    """Run peer_fit.py in a child capped in CPU seconds; its synthetic rows, report and resource use."""
    out, report = work / f"{peer}-{epsilon}-{seed}.csv", work / f"{peer}-{epsilon}-{seed}.json"
    name = "mostlyai" if peer == "mostlyai-nodp" else peer
    cmd = [python, str(REPO / "benchmarks" / "peer_fit.py"), name, "--train", str(work / "train.csv"),
           "--domain", str(work / "domain.json"), "--epsilon", str(epsilon), "--delta", str(DELTA),
           "--seed", str(seed), "--rows", str(rows), "--max-epochs", str(args.max_epochs),
           "--out", str(out), "--report", str(report)]
    cap = args.cpu_seconds
    env = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "PYTHONUNBUFFERED": "1",
           "MLFLOW_ENABLE_TELEMETRY": "false", "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    with open(work / f"{peer}-{epsilon}-{seed}.log", "w") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)
        resource.prlimit(child.pid, resource.RLIMIT_CPU, (cap, cap + 5))  # SIGXCPU at the cap
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    # peak RSS: the child's own (peer_fit.py reads VmHWM); ru_maxrss would carry the benchmark's
    # own peak over, since a vfork-started child inherits it across the exec
    rec = {"cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1), "peak_rss_mib": None, "exit_code": code}
    if code != 0 or not out.exists():
        tail = (work / f"{peer}-{epsilon}-{seed}.log").read_text()[-600:]
        # SIGXCPU: the cap (the rusage can read a little under it when a peer's helper threads end first)
        over = code == -signal.SIGXCPU or cpu >= cap - 1
        rec["error"] = f"over the cap of {cap} CPU seconds" if over else f"exit {code}: {tail}"
        return rec
    rec["synthetic"], rec["report"] = out, json.loads(report.read_text())
    rec["peak_rss_mib"] = rec["report"].get("peak_rss_mib")
    return rec


def _score(train, holdout, synthetic: pd.DataFrame, guarantee, params) -> dict:
    """synthgov's scorer: the validation and attack stage cores, and every gate's verdict."""
    from synthgov.attacks import attack
    from synthgov.validation import validate

    vreport, vchecks = validate(train, holdout, synthetic, params)
    areport, achecks, _ = attack(synthetic, train, holdout, params, guarantee=guarantee)
    ratio = vreport["utility"]["gradient_boosting"]["roc_auc"]["ratio"]
    mi = areport["membership_inference"]
    gates = {c.name: {"verdict": c.verdict, "score": round(c.score, 4)} for c in [*vchecks, *achecks]}
    return {"tstr_auc": round(vreport["tstr_auc"], 4), "trtr_auc": round(vreport["trtr_auc"], 4),
            "ratio": {k: round(ratio[k], 4) for k in ("point", "lower", "upper")},
            "fidelity_js": gates.get("fidelity_js", {}).get("score"),
            "dcr_share": round(areport["leakage"]["dcr_share"]["point"], 4),
            "mia_auc": round(max(mi[a]["roc_auc"]["point"] for a in ("distance", "density_ratio")), 4),
            "gates": gates}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peers", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--epsilons", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", type=int, default=10000, help="training rows (holdout: half as many)")
    parser.add_argument("--cpu-seconds", type=int, default=1800, help="CPU cap of one fit")
    parser.add_argument("--max-epochs", type=int, default=100, help="epoch cap of peers that train by epochs")
    parser.add_argument("--envs", default=str(REPO / "benchmarks" / ".peers"), help="where the peers' environments go")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "peers"),
                        help="stem of the .jsonl records (appended) and the .json and .md summaries")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()

    import synthgov  # noqa: F401  (telemetry off)
    from synthgov.ingest.readers import conform
    from synthgov.params import load_params

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records_path = out.with_suffix(".jsonl")
    records = [json.loads(x) for x in records_path.read_text().splitlines() if x.strip()] if records_path.exists() else []
    done = {(r["rows"], r["seed"], r["peer"], r["epsilon"]) for r in records}
    params, pool, _ = _adult(Path(tempfile.gettempdir()))
    for seed in [] if args.summary_only else args.seeds:
        rng = np.random.default_rng([args.rows, seed, 16])
        order = rng.permutation(len(pool))
        train = pool.iloc[order[:args.rows]].reset_index(drop=True)
        holdout = pool.iloc[order[args.rows:args.rows + args.rows // 2]].reset_index(drop=True)
        with tempfile.TemporaryDirectory(prefix="synthgov-peers-") as tmp:
            work = Path(tmp)
            train.to_csv(work / "train.csv", index=False)
            (work / "domain.json").write_text(json.dumps(_domain(params)))
            for peer in args.peers:
                env, kind = VARIANTS[peer]
                for eps in (args.epsilons if kind == "dp" else [math.inf]):
                    key = (args.rows, seed, peer, "inf" if math.isinf(eps) else eps)
                    if key in done:
                        continue
                    fit = _fit(_python(env, Path(args.envs)), peer, eps, seed, args.rows, args, work)
                    rec = {"rows": args.rows, "seed": seed, "peer": peer, "epsilon": key[3],
                           **{k: v for k, v in fit.items() if k not in ("synthetic", "report")}}
                    if "error" not in fit:
                        synthetic = pd.read_csv(fit["synthetic"], dtype=str, keep_default_na=False, na_values=[""])
                        synthetic, _ = conform(synthetic, params.schema_, fit["synthetic"].name)
                        spent = fit["report"].get("epsilon")
                        guarantee = (spent, DELTA) if spent is not None else None
                        t = time.perf_counter()
                        rec.update(epsilon_spent=spent, epochs=fit["report"].get("epochs"),
                                   **_score(train, holdout, synthetic, guarantee, params),
                                   score_seconds=round(time.perf_counter() - t, 1))
                    with records_path.open("a") as fh:
                        fh.write(json.dumps(rec) + "\n")
                    records.append(rec)
                    done.add(key)
                    print(f"seed {seed} {peer} eps {key[3]}: "
                          + (rec["error"][:200] if "error" in rec else
                             f"TSTR/TRTR {rec['ratio']['point']:.3f} [{rec['ratio']['lower']:.3f}, "
                             f"{rec['ratio']['upper']:.3f}]")
                          + f" ({rec['cpu_seconds']} CPU s, {rec['peak_rss_mib']} MiB)", file=sys.stderr, flush=True)
    gates = load_params(REPO / "params").gates
    table = _summarise(records, _policy(gates))
    out.with_suffix(".json").write_text(json.dumps({"table": table, "versions": _versions(Path(args.envs))}, indent=1))
    out.with_suffix(".md").write_text(_markdown(table))
    print(_markdown(table))
    return 0


def _summarise(records: list[dict], policy: dict) -> list[dict]:
    """Per rows, peer and epsilon, over seeds: means, the widest 95 % interval of TSTR/TRTR, and how
    many seeds' releases every blocking gate would pass."""
    by = defaultdict(list)
    for r in records:
        by[(r["rows"], r["peer"], str(r["epsilon"]))].append(r)
    rows = []
    for (n, peer, eps), runs in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1], float(kv[0][2]))):
        ok = [r for r in runs if "error" not in r]
        spent = [r["epsilon_spent"] for r in ok if r.get("epsilon_spent") is not None]
        row = {"rows": n, "peer": peer, "epsilon": eps, "seeds": len(runs), "finished": len(ok),
               "ratio": _mean([r["ratio"]["point"] for r in ok]),
               "ratio_interval": [min(r["ratio"]["lower"] for r in ok), max(r["ratio"]["upper"] for r in ok)] if ok else None,
               **{key: _mean([r[key] for r in ok]) for key in ("fidelity_js", "dcr_share", "mia_auc")},
               "epsilon_spent": _mean(spent),
               "cpu_seconds": round(float(np.mean([r["cpu_seconds"] for r in runs])), 1),
               "peak_rss_mib": max((r["peak_rss_mib"] for r in runs if r.get("peak_rss_mib")), default=None),
               "all_gates_passed": sum(not any(_blocks(g, v["verdict"], policy) for g, v in r["gates"].items()) for r in ok),
               "errors": sorted({r["error"][:80] for r in runs if "error" in r})}
        rows.append(row)
    return rows


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _markdown(table: list[dict]) -> str:
    lines = [("| rows | peer | epsilon | seeds (finished) | TSTR/TRTR (95 % interval) | fidelity_js | DCR share "
              "| MIA AUC | epsilon spent | CPU s | peak RSS MiB | every blocking gate passed |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        iv = r["ratio_interval"]
        ratio = f"{r['ratio']:.3f} ({iv[0]:.3f}-{iv[1]:.3f})" if iv else "not finished: " + "; ".join(r["errors"])
        lines.append(f"| {r['rows']} | {r['peer']} | {r['epsilon']} | {r['seeds']} ({r['finished']}) | {ratio} "
                     f"| {_cell(r['fidelity_js'])} | {_cell(r['dcr_share'])} | {_cell(r['mia_auc'])} "
                     f"| {_cell(r['epsilon_spent'])} | {r['cpu_seconds']:.0f} | {r['peak_rss_mib'] or '-'} "
                     f"| {r['all_gates_passed']} of {r['finished']} |")
    return "\n".join(lines) + "\n"


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _versions(envs: Path) -> dict[str, str]:
    """The exact versions of the peers' packages, from their environments."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"synthgov": version("synthgov"), "torch": version("torch"), "opacus": version("opacus")}
    try:
        found["sdv"] = version("sdv")
    except PackageNotFoundError:  # the optional extra is not installed
        found["sdv"] = "not installed"
    for env, packages in {"dpmm": ["dpmm", "numpy", "pandas"], "mostlyai": ["mostlyai-engine", "torch"]}.items():
        python = envs / env / "bin" / "python"
        if python.exists():
            code = f"from importlib.metadata import version; print(' '.join(version(p) for p in {packages!r}))"
            got = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.split()
            found.update({f"{env}: {p}": v for p, v in zip(packages, got)})
    return found


if __name__ == "__main__":
    sys.exit(main())
