"""Calibrate the gates across table sizes: how often honest candidates are blocked (false alarms)
and how often broken or leaky ones are caught, per table, gate and size, as markdown, JSON and a plot.

Tables: Adult (bundled; train and test pooled, 48,842 rows) and the RAND health insurance
experiment (randhie, 20,190 rows, shipped with statsmodels; its params drafted as `synthgov init`
drafts them, target idp, protected hlthg and hlthp); randhie-reviewed: randhie's draft after the
review its notes ask for (public codes and steps declared, _randhie_reviewed), on randhie's rows;
randhie-codebook: the reviewed params with the plan values of lpi and fmde declared as well.
For each size n and each resample, disjoint real rows are drawn: n training rows, n/2 holdout rows
and n rows of an independent real sample (so n is at most 40 % of the table: 19,536 rows of Adult,
8,076 of randhie). Candidates:
- honest: the independent real sample (a table no generator saw); an epsilon=1 DP release of
  synthgov's generator trained on the n rows (secret randomness), unless --no-dp (--dp-epsilon E:
  at epsilon E instead, recorded as dp_release_epsE);
- broken or leaky: a copy of the training rows, a noisy copy, a partial copy (10 % of the real
  sample's rows replaced by training rows), mode collapse (20 distinct rows repeated), a shuffled
  label, and one group's labels flipped (Adult: sex = Female; randhie: hlthg = 1).
Each is validated and attacked by the stage cores with the table's params (validation and attack
exactly as in a run, without Prefect and MLflow), and every gate's verdict (pass, fail,
undecidable), score and driver is recorded. A blocking gate alarms when its verdict blocks
promotion under the policy of params/gates.yaml at summary time (fail; or undecidable under
`undecidable: block`), so a policy change is re-scored without re-running.

Every evaluation is appended to a JSON-lines file as it finishes, and the ones already there are
skipped: a long protocol (20 resamples x 4 sizes x 2 tables is many CPU hours on 2 cores) can be
run in parts, over several sessions, and interrupted safely. The summary gives each rate with its
95 % Wilson interval (0 of 10 is not 0 %: its upper bound is 28 %).

    python benchmarks/calibration.py [--tables adult randhie] [--sizes 1000 3000 10000]
                                     [--resamples 20] [--no-dp] [--dp-epsilon 3]
                                     [--candidates real_sample flipped_group]
                                     [--out benchmarks/results/calibration]
    python benchmarks/calibration.py --summary-only     # re-score the records under today's policy
    python benchmarks/calibration.py --summary-only --merge older.jsonl --out newer   # one table of both
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from synthgov.stats import wilson  # noqa: E402
from tests.unit.attacks.test_attack import noisy_copy  # noqa: E402  (the candidate the tests use)

BROKEN = ("copy", "noisy_copy", "partial_copy", "mode_collapse", "shuffled_label", "flipped_group")
HONEST = ("real_sample", "dp_release")


def _adult(workdir: Path):
    """Adult's params (the repository's), its pooled rows, and the group whose labels get flipped."""
    from synthgov.ingest.readers import adult_paths, conform, read_adult
    from synthgov.params import load_params

    params = load_params(REPO / "params")
    frames = [conform(read_adult(p), params.schema_, p.name)[0] for p in adult_paths()]
    return params, pd.concat(frames, ignore_index=True), ("sex", "Female")


def _randhie(workdir: Path):
    """randhie with params drafted as `synthgov init` drafts them (DP bounds from 0.2 of epsilon)."""
    from synthgov.ingest.readers import conform
    from synthgov.init import draft_params
    from synthgov.params import load_params
    from tests.integration.public_tables import randhie

    df = randhie().drop(columns="record_no")
    source = workdir / "randhie.csv"
    df.to_csv(source, index=False)
    draft_params(workdir / "params", df, source=str(source), data_source=str(source), data_holdout=None,
                 target="idp", protected=["hlthg", "hlthp"])
    params = load_params(workdir / "params")
    pool = conform(df, params.schema_, source.name)[0]
    group = next(v for v in pool["hlthg"].dropna().unique() if float(v) == 1.0)
    return params, pool, ("hlthg", group)


def _randhie_reviewed(workdir: Path):
    """randhie's draft after the review its notes ask for: the health indicators' public codes
    declared (hlthg, hlthf, hlthp: 0 and 1; left to DP discovery, a code held by fewer than a few
    hundred rows is lost), and the columns of few distinct values declared as points, released
    exactly (lncoins: the plan's coinsurance rates; physlm and disea: the steps of their scales). Those
    codes and steps are the RAND HIE codebook's; this benchmark reads them from the table for brevity.
    lpi and fmde (a participation incentive and a deductible, each heaped on a few plan values among
    hundreds) find their heaps with DP at each run (discover_points: 0.02, within
    privacy.preprocessing_epsilon)."""
    params, pool, group = _randhie(workdir)
    schema = dict(params.schema_)
    for col in ("hlthg", "hlthf", "hlthp"):
        schema[col] = schema[col].model_copy(update={"categories": sorted(pool[col].dropna().astype(str).unique())})
    for col in ("lncoins", "physlm", "disea"):
        steps = sorted(float(v) for v in pool[col].dropna().unique())
        schema[col] = schema[col].model_copy(update={"points": steps, "bins": 2, "lower": min(steps[0], schema[col].lower),
                                                     "upper": max(steps[-1], schema[col].upper)})
    for col in ("lpi", "fmde"):
        schema[col] = schema[col].model_copy(update={"discover_points": 0.02})
    return params.model_copy(update={"schema_": schema}), pool, group


def _randhie_codebook(workdir: Path):
    """randhie-reviewed with lpi's and fmde's plan values declared as points too, as the RAND HIE
    codebook gives them (the participation incentives and deductibles of the plans): DP discovery
    (0.05 of epsilon a column) keeps only heaps of about 280 rows or more, so at 3,000 rows it finds 2
    of fmde's 8 and the others are decoded uniformly in their bins, which a classifier sees. Read,
    like the reviewed steps, from the table for brevity: the values held by at least 2 % of its
    rows, the share discover_points asks for."""
    params, pool, group = _randhie_reviewed(workdir)
    schema = dict(params.schema_)
    for col in ("lpi", "fmde"):
        shares = pool[col].value_counts(normalize=True)
        plan = sorted(float(v) for v in shares[shares >= 0.02].index)
        schema[col] = schema[col].model_copy(update={"points": plan, "discover_points": None})
    return params.model_copy(update={"schema_": schema}), pool, group


TABLES = {"adult": _adult, "randhie": _randhie, "randhie-reviewed": _randhie_reviewed,
          "randhie-codebook": _randhie_codebook}


def null_parser(doc: str, *, sizes: list[int], splits: int, seed: int, out: str) -> argparse.ArgumentParser:
    """The arguments every real-vs-real null benchmark takes: tables, sizes, splits, seed, output."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--tables", nargs="+", choices=sorted(TABLES), default=["adult", "randhie"])
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes)
    parser.add_argument("--splits", type=int, default=splits)
    parser.add_argument("--seed", type=int, default=seed, help="the splits' seed (a benchmark, not a release)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / out))
    return parser


def sized_pools(tables, sizes, prefix: str = "calibration"):
    """(table, params, pool, flipped group, n) for every table and every size it can hold (the
    disjoint samples of `split` need 2.5 n rows; a larger size is skipped with a message), each
    table's params in a temporary directory of its own."""
    for table in tables:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-{table}-") as tmp:
            params, pool, group = TABLES[table](Path(tmp))
            for n in sizes:
                if 2.5 * n > len(pool):
                    print(f"{table} size {n}: needs {int(2.5 * n)} rows, the table has {len(pool)}; skipped",
                          file=sys.stderr)
                    continue
                yield table, params, pool, group, n


def split(pool: pd.DataFrame, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Disjoint real rows of the pool: n training rows, n/2 holdout rows, n rows of an independent sample."""
    order = rng.permutation(len(pool))
    return tuple(pool.iloc[order[a:b]].reset_index(drop=True)
                 for a, b in ((0, n), (n, n + n // 2), (n + n // 2, 2 * n + n // 2)))


def _dp_name(params, epsilon: float | None) -> str:
    """The DP release's candidate name: dp_release at the params' epsilon, else dp_release_eps<epsilon>."""
    return "dp_release" if epsilon is None or epsilon == params.privacy.epsilon else f"dp_release_eps{epsilon:g}"


def _candidates(train, real, params, rng, dp: bool, group: tuple[str, object], dp_epsilon: float | None = None
                ) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, tuple | None]]:
    """name -> (synthetic table, the rows it was made from (the attacked members), DP guarantee)."""
    target, labels = params.data.target, sorted(train[params.data.target].dropna().unique())
    out = {"real_sample": (real, train, None)}
    if dp:
        from synthgov.privacy.randomness import dp_randomness
        from synthgov.synthesizers.dpar import DPAutoregressive

        trained = params if dp_epsilon is None else params.model_copy(
            update={"privacy": params.privacy.model_copy(update={"epsilon": dp_epsilon})})
        synth = DPAutoregressive()
        report = synth.fit(train, trained, dp_randomness(False, 0))
        members = train.iloc[synth.trained_rows].reset_index(drop=True) if synth.trained_rows is not None else train
        out[_dp_name(params, dp_epsilon)] = (synth.sample(len(train), int(rng.integers(2**31))), members,
                                             (report["epsilon"], report["delta"]))
    partial = real.copy()
    rows = rng.choice(len(real), len(real) // 10, replace=False)
    partial.iloc[rows] = train.iloc[rng.choice(len(train), len(rows), replace=False)].to_numpy()
    shuffled = real.copy()
    shuffled[target] = rng.permutation(shuffled[target].to_numpy())
    flipped = real.copy()
    members = flipped[group[0]] == group[1]
    flipped.loc[members, target] = flipped.loc[members, target].map(lambda v: labels[1 - labels.index(v)])
    out.update({
        "copy": (train.copy(), train, None),
        "noisy_copy": (noisy_copy(train, params, seed=int(rng.integers(2**31))), train, None),
        "partial_copy": (partial, train, None),
        "mode_collapse": (real.iloc[rng.integers(0, 20, len(real))].reset_index(drop=True), train, None),
        "shuffled_label": (shuffled, train, None),
        "flipped_group": (flipped, train, None),
    })
    return out


def _verdicts(train, holdout, synthetic, members, guarantee, params) -> dict[str, dict]:
    """Every gate's verdict, its score against the threshold, and what drove a miss."""
    from synthgov.attacks import attack
    from synthgov.validation import validate

    _, vchecks = validate(train, holdout, synthetic, params, budget=guarantee)
    _, achecks, _ = attack(synthetic, members, holdout, params, guarantee=guarantee)
    out = {}
    for c in [*vchecks, *achecks]:
        out[c.name] = {"verdict": c.verdict, "score": round(c.score, 4), "threshold": c.threshold,
                       "driven_by": c.breakdown.get("driven_by") if c.verdict != "pass" else None}
        if "budget_floor" in c.breakdown:  # fidelity_js of a DP release: what its budget allows
            out[c.name]["floor"] = c.breakdown["budget_floor"]["upper"]
    return out


def _done(path: Path) -> tuple[list[dict], set[tuple]]:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    return records, {(r["table"], r["size"], r["resample"], r["candidate"]) for r in records}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="+", choices=sorted(TABLES), default=["adult", "randhie"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--resamples", type=int, default=20)
    parser.add_argument("--no-dp", action="store_true", help="leave out the DP release (it trains once a resample)")
    parser.add_argument("--dp-epsilon", type=float, default=None,
                        help="the DP release's epsilon (default: the table's params, 1); another is recorded as "
                             "the candidate dp_release_eps<epsilon>")
    parser.add_argument("--candidates", nargs="+", choices=[*HONEST, *BROKEN], default=None,
                        help="evaluate only these candidates (default: all)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "calibration"),
                        help="stem of the .jsonl records (appended), .json and .md summaries and .png plot")
    parser.add_argument("--summary-only", action="store_true", help="only re-score the records already there")
    parser.add_argument("--merge", nargs="+", default=[], metavar="JSONL",
                        help="summarise these earlier record files too: a (table, size, candidate) that a later "
                             "file (or --out's records, the latest) also holds takes its records from the later one")
    args = parser.parse_args()

    import synthgov  # noqa: F401  (telemetry off)
    from synthgov.params import load_params

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records_path = out.with_suffix(".jsonl")
    records, done = _done(records_path)
    started = time.perf_counter()
    for table, params, pool, group, n in sized_pools([] if args.summary_only else args.tables, args.sizes):
        dp_name = _dp_name(params, args.dp_epsilon)
        names = [dp_name if c == "dp_release" else c
                 for c in ("real_sample", *(["dp_release"] if not args.no_dp else []), *BROKEN)
                 if args.candidates is None or c in args.candidates]
        for r in range(args.resamples):
            if all((table, n, r, name) in done for name in names):
                continue
            # the resample's rows depend on (size, resample) only: the same rows for every
            # candidate, and the same rows when a later session continues the protocol
            # (randhie-reviewed and randhie-codebook draw randhie's rows)
            rng = np.random.default_rng([n, r] if table == "adult" else [n, r, sum(map(ord, table.split("-")[0]))])
            train, holdout, real = split(pool, n, rng)
            for name, (synthetic, members, guarantee) in _candidates(
                    train, real, params, rng, dp_name in names, group, args.dp_epsilon).items():
                if (table, n, r, name) in done or name not in names:
                    continue
                t = time.perf_counter()
                gates = _verdicts(train, holdout, synthetic, members, guarantee, params)
                rec = {"table": table, "size": n, "resample": r, "candidate": name, "gates": gates,
                       "seconds": round(time.perf_counter() - t, 1)}
                with records_path.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                records.append(rec)
                done.add((table, n, r, name))
                failing = [g for g, v in gates.items() if v["verdict"] != "pass"]
                print(f"{table} size {n} resample {r} {name}: not passing {failing or 'nothing'} "
                      f"({rec['seconds']} s)", file=sys.stderr, flush=True)
    gates = load_params(REPO / "params").gates
    summarised = _merged([*(_done(Path(p))[0] for p in args.merge), records])
    table = _summarise(summarised, gates)
    out.with_suffix(".json").write_text(json.dumps({"table": table, "policy": _policy(gates),
                                                    "evaluations": len(summarised),
                                                    "record_files": [*args.merge, str(records_path)],
                                                    "cpu_hours_of_records": round(sum(r.get("seconds", 0) for r in summarised) / 3600, 2),
                                                    "this_session_seconds": round(time.perf_counter() - started, 1)},
                                                   indent=1))
    out.with_suffix(".md").write_text(_markdown(table))
    _plot(table, out.with_suffix(".png"))
    print(_markdown(table))
    return 0


def _key(rec: dict) -> tuple:
    """(table, size, candidate): the records of one row of the table (the first ones had no table)."""
    return rec.get("table", "adult"), rec["size"], rec["candidate"]


def _merged(files: list[list[dict]]) -> list[dict]:
    """The records of several files, oldest first: a (table, size, candidate) is taken whole from
    the last file that holds it (a later session re-ran it with newer code)."""
    latest: dict[tuple, list[dict]] = {}
    for records in files:
        by_key: dict[tuple, list[dict]] = defaultdict(list)
        for rec in records:
            by_key[_key(rec)].append(rec)
        latest.update(by_key)
    return [rec for recs in latest.values() for rec in recs]


def _policy(gates) -> dict[str, dict]:
    return {name: {"severity": spec.severity, "undecidable": spec.undecidable} for name, spec in gates.gates.items()}


def _blocks(name: str, verdict: str, policy: dict[str, dict]) -> bool:
    """Whether this verdict of gate `name` blocks promotion under today's policy."""
    spec = policy.get(name, {"severity": "warn", "undecidable": "block"})
    return spec["severity"] == "block" and (verdict == "fail" or (verdict == "undecidable" and spec["undecidable"] == "block"))


def _summarise(records: list[dict], gates) -> dict:
    """Per table and size: each honest candidate's false-alarm rate per blocking gate (and its
    decided-fail and undecidable rates), and each broken candidate's rate of being caught by at
    least one blocking gate, each with its Wilson interval."""
    policy = _policy(gates)
    by = defaultdict(list)
    for rec in records:
        by[_key(rec)].append(rec["gates"])
    table: dict = {}
    for (name, n, cand), runs in sorted(by.items()):
        k, names = len(runs), sorted({g for run in runs for g in run})
        blocked = sum(any(_blocks(g, v["verdict"], policy) for g, v in run.items()) for run in runs)
        decided = sum(any(_blocks(g, v["verdict"], policy) and v["verdict"] == "fail" for g, v in run.items())
                      for run in runs)
        row = {"resamples": k, "blocked": blocked / k, "blocked_interval": wilson(blocked, k),
               "failed_decided": decided / k}
        alarms = {g: sum(_blocks(g, run[g]["verdict"], policy) for run in runs if g in run) / k for g in names}
        row["gates_blocking"] = {g: v for g, v in alarms.items() if v > 0}
        row["undecidable"] = {g: v for g in names
                              if (v := sum(run.get(g, {}).get("verdict") == "undecidable" for run in runs) / k) > 0}
        drivers = defaultdict(lambda: defaultdict(int))
        for run in runs:
            for g, v in run.items():
                if v.get("driven_by") and _blocks(g, v["verdict"], policy):
                    drivers[g][str(v["driven_by"])] += 1
        row["driven_by"] = {g: dict(d) for g, d in drivers.items()}
        table.setdefault(name, {}).setdefault(str(n), {})[cand] = row
    return table


def _markdown(table: dict) -> str:
    lines = ["| table | rows | candidate | resamples | blocked (95 % interval) | blocked by a decided fail "
             "| gates that block (rate) | undecidable (rate) |", "|---|---|---|---|---|---|---|---|"]
    for name, sizes in table.items():
        for n, cands in sorted(sizes.items(), key=lambda kv: int(kv[0])):
            for cand in _ordered(cands):
                row = cands[cand]
                lo, hi = row["blocked_interval"]
                blocking = ", ".join(f"{g} {v:.2f}" for g, v in sorted(row["gates_blocking"].items(),
                                                                        key=lambda kv: (-kv[1], kv[0])))
                und = ", ".join(f"{g} {v:.2f}" for g, v in row["undecidable"].items())
                lines.append(f"| {name} | {n} | {cand} | {row['resamples']} | {row['blocked']:.2f} "
                             f"({lo:.2f}-{hi:.2f}) | {row['failed_decided']:.2f} | {blocking or '-'} | {und or '-'} |")
    return "\n".join(lines) + "\n"


def _ordered(candidates) -> list[str]:
    """Honest candidates first (the DP releases at other epsilons after dp_release), then broken.

    >>> _ordered({"copy", "dp_release_eps3", "real_sample", "dp_release"})
    ['real_sample', 'dp_release', 'dp_release_eps3', 'copy']
    """
    extra = sorted(set(candidates) - {*HONEST, *BROKEN}, key=lambda c: float(c.rsplit("eps", 1)[-1]))
    return [c for c in HONEST if c in candidates] + extra + [c for c in BROKEN if c in candidates]


def _plot(table: dict, path: Path) -> None:
    """One panel per table: the blocked rate against the table size, one line per candidate
    (honest ones solid: false alarms; broken ones dashed: detection), with Wilson intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(table), figsize=(6 * len(table), 4.2), squeeze=False)
    for ax, (name, sizes) in zip(axes[0], table.items()):
        ns = sorted(int(n) for n in sizes)
        for cand in _ordered({c for n in ns for c in sizes[str(n)]}):
            pts = [(n, sizes[str(n)][cand]) for n in ns if cand in sizes[str(n)]]
            if not pts:
                continue
            x = [n for n, _ in pts]
            y = [row["blocked"] for _, row in pts]
            err = [[row["blocked"] - row["blocked_interval"][0] for _, row in pts],
                   [row["blocked_interval"][1] - row["blocked"] for _, row in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, linestyle="--" if cand in BROKEN else "-", label=cand)
        ax.axhline(0.05, color="grey", linewidth=0.8)
        ax.axhline(0.95, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("training rows")
        ax.set_ylabel("share of resamples blocked")
        ax.set_title(f"{name}: honest (solid) should stay under 0.05, broken (dashed) over 0.95", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
