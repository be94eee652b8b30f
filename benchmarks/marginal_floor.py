"""How close can an epsilon-DP release come to the source's marginals at n rows? A reference for
fidelity_js, the gate that blocks the epsilon = 1 release at 1,000 rows.

The reference spends the whole (epsilon, delta) on the marginals alone and nothing on the joint:
every trained column's histogram over its public codes (a row moves one count in each of the d
histograms, add-remove neighbours), released by
- the Gaussian mechanism, one release of all d histograms, its noise calibrated exactly by the
  analytic Gaussian mechanism (Balle and Wang 2018), the budget shared "even" (each histogram's
  noise sqrt(d) times a single histogram's) or "by codes" (a histogram's share of the squared
  inverse noise in proportion to its codes, so the widest get the least noise); or
- the Laplace mechanism (pure epsilon-DP), epsilon shared by codes;
then post-processed: negative counts set to 0 ("clamp"); counts under 2 noise standard deviations
set to 0 too ("zero<2 sd"); or the nearest non-negative counts summing to the row count
("simplex": every count less one common amount, clamped; it empties most bins the source leaves
empty). The synthetic table draws each column independently from its released histogram (decoded
as the generator decodes: uniform within a bin, derived columns by their map), as many rows as the
training sample, and is scored exactly as the gate scores it (the largest per-column
Jensen-Shannon distance beyond chance, its bootstrap's upper bound, against params/gates.yaml's
threshold). "exact" draws from the true histograms: what sampling alone leaves.

The reference is treated generously: the row count is public, the schema's estimates are free, no
slice of the budget goes to counts or preprocessing, none to the joint structure, and the best of
its settings can be picked afterwards. A release that also keeps the joint structure (what every
other gate asks for) spends part of its budget there. Where even the reference fails the gate
decidedly, the threshold asks more of the marginals than the declared epsilon gives at that many
rows: that is a limit of the budget, not of one generator (the lower bounds for releasing all
one-way marginals privately, Bun, Ullman and Vadhan 2014 and Steinke and Ullman 2015, put the
Gaussian mechanism's error within a constant factor of the best possible, over all tables).

    python benchmarks/marginal_floor.py [--tables adult randhie-codebook] [--sizes 1000 3000 8000]
                                        [--epsilons 1 3] [--splits 20] [--out benchmarks/results/marginal_floor]
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from calibration import null_parser, sized_pools, split  # noqa: E402
from synthgov.validation.floor import analytic_gaussian_sigma, simplex  # noqa: E402

# mechanism, post-processing, budget shares: "even" (1/d a column) or "by codes" (in proportion to
# the column's codes, so the widest histograms get the least noise)
RULES = ("gaussian, clamp, even", "gaussian, zero<2 sd, even", "gaussian, simplex, even",
         "gaussian, simplex, by codes", "laplace, simplex, by codes")


def released(counts: np.ndarray, scale: float, rule: str, rng: np.random.Generator) -> np.ndarray:
    """One histogram's released shares: noised (`scale`: the Gaussian's standard deviation or the
    Laplace's scale), post-processed by `rule`, normalised."""
    mechanism, post, _ = rule.split(", ") if rule != "exact" else ("none", "clamp", "")
    noise = {"gaussian": rng.normal, "laplace": rng.laplace}.get(mechanism)
    noisy = counts + noise(0.0, scale, len(counts)) if noise else counts.astype(float)
    kept = np.clip(noisy, 0.0, None)
    if post.startswith("zero<"):
        kept = np.where(noisy < float(post[5:].split()[0]) * scale, 0.0, kept)
    elif post == "simplex":
        kept = simplex(noisy, float(counts.sum()))  # the row count is public to the reference
    if kept.sum() <= 0:  # nothing left: the largest noisy count
        kept = (np.arange(len(noisy)) == np.argmax(noisy)).astype(float)
    return kept / kept.sum()


def js_gate(train, synthetic, params) -> dict:
    """fidelity_js as validation computes it: the largest per-column JS distance beyond chance, its
    interval from the seeded bootstrap of both tables, the verdict and the column that drove it."""
    from synthgov import stats
    from synthgov.validation import fidelity

    vp = params.validate_
    Wr = stats.resample_weights(len(train), rounds=vp.bootstrap_rounds, seed=vp.seed)
    Ws = stats.resample_weights(len(synthetic), rounds=vp.bootstrap_rounds, seed=vp.seed + 1)
    cols = fidelity.column_draws(train, synthetic, params, Wr, Ws)
    beyond = {c: fidelity.beyond_chance(v["js_distance"])[0] for c, v in cols.items()}
    ci = stats.interval(np.max(list(beyond.values()), axis=0))
    threshold = params.gates.spec("fidelity_js").threshold
    verdict = "pass" if ci["upper"] <= threshold else "fail" if ci["lower"] > threshold else "undecidable"
    return {**{k: round(v, 4) for k, v in ci.items()}, "verdict": verdict,
            "driven_by": max(beyond, key=lambda c: beyond[c][0])}


def reference(train, params, epsilon: float | None, rule: str, rng: np.random.Generator):
    """The reference release of `train` (epsilon None: the exact histograms), and its noise."""
    from synthgov.privacy.preprocessing import needs_estimates
    from synthgov.synthesizers.dpar import DPAutoregressive, with_derived
    from synthgov.synthesizers.encoding import TabularEncoder, encodable, with_other

    columns, strict = DPAutoregressive.trained_columns(params), DPAutoregressive.strict_columns(params)
    if needs_estimates(params, columns)[0]:
        raise SystemExit("the reference needs a fully declared schema (no DP estimates)")
    rows = train.iloc[np.flatnonzero(encodable(train, params.schema_, columns, strict))]
    schema, _ = with_other(dict(params.schema_), columns, strict)
    encoder = TabularEncoder(schema, columns)
    codes = encoder.encode(rows)
    cards = np.asarray(encoder.cards, dtype=float)
    shares = cards / cards.sum() if rule.endswith("by codes") else np.full(len(cards), 1 / len(cards))
    scales = np.zeros(len(cards))
    if epsilon is not None and rule.startswith("gaussian"):
        # column j's noise sigma / sqrt(w_j), for shares w summing to 1: one Gaussian mechanism on the
        # histograms scaled by sqrt(w_j) / sigma, of L2 sensitivity 1 / sigma (a row moves one count each)
        scales = analytic_gaussian_sigma(epsilon, params.delta_for(len(rows)), 1.0) / np.sqrt(shares)
    elif epsilon is not None:  # Laplace: epsilon w_j a histogram of L1 sensitivity 1 (pure epsilon-DP)
        scales = 1.0 / (epsilon * shares)
    drawn = np.column_stack([
        rng.choice(card, size=len(train), p=released(np.bincount(codes[:, j], minlength=card), scales[j], rule, rng))
        for j, card in enumerate(encoder.cards)])
    out = with_derived(encoder.decode(drawn, rng), params.derived)
    worst = int(np.argmax(cards))  # the noise of the column of most codes, as a standard deviation
    sd = scales[worst] * (math.sqrt(2) if rule.startswith("laplace") else 1.0)
    return out[DPAutoregressive.column_order(params)], float(sd)


def main() -> int:
    parser = null_parser(__doc__, sizes=[1000, 3000], splits=20, seed=0, out="marginal_floor")
    parser.set_defaults(tables=["adult", "randhie-codebook"])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 3.0])
    args = parser.parse_args()
    records, started = [], time.perf_counter()
    for table, params, pool, _, n in sized_pools(args.tables, args.sizes, prefix="marginal-floor"):
        rng = np.random.default_rng([args.seed, n])
        for s in range(args.splits):
            train, _, _ = split(pool, n, rng)
            noise = np.random.default_rng([args.seed, n, s, 1])  # a benchmark's noise, seeded
            settings = [(None, "exact")] + [(e, r) for e in args.epsilons for r in RULES]
            for epsilon, rule in settings:
                synthetic, sigma = reference(train, params, epsilon, rule, noise)
                records.append({"table": table, "size": n, "split": s, "epsilon": epsilon, "rule": rule,
                                "sigma": round(sigma, 3), **js_gate(train, synthetic, params)})
        print(f"{table} {n}: {args.splits} splits ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(records, indent=1))
    text = summary(records, params.gates.spec("fidelity_js").threshold)
    out.with_suffix(".md").write_text(text)
    print(text)
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def summary(records: list[dict], threshold: float) -> str:
    """One row per table, size, epsilon and post-processing: the upper bounds' range and the verdicts."""
    keys = sorted({(r["table"], r["size"], r["epsilon"] or math.inf, r["rule"]) for r in records})
    lines = [f"fidelity_js of the marginal reference (upper bound of the largest per-column JS distance "
             f"beyond chance; threshold {threshold:g})", "",
             "| table | rows | epsilon | mechanism, post-processing, budget | noise sd (rows a bin, the column of most codes) | upper bound: range (median) "
             "| pass / undecidable / fail | columns that drove it |", "|---|---|---|---|---|---|---|---|"]
    for table, n, eps, rule in keys:
        rs = [r for r in records if (r["table"], r["size"], r["epsilon"] or math.inf, r["rule"]) == (table, n, eps, rule)]
        up = np.array([r["upper"] for r in rs])
        verdicts = [sum(r["verdict"] == v for r in rs) for v in ("pass", "undecidable", "fail")]
        drivers: dict[str, int] = {}
        for r in rs:
            drivers[r["driven_by"]] = drivers.get(r["driven_by"], 0) + 1
        top = ", ".join(f"{c} {k}" for c, k in sorted(drivers.items(), key=lambda x: -x[1])[:3])
        lines.append(f"| {table} | {n} | {'-' if eps == math.inf else f'{eps:g}'} | {rule} | {rs[0]['sigma']:.1f} "
                     f"| {up.min():.3f}-{up.max():.3f} ({np.median(up):.3f}) | {' / '.join(map(str, verdicts))} | {top} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
