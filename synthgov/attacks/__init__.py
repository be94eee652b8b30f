"""The attack stage: the candidate is attacked the way an adversary would attack it, before release.

Members are training rows, non-members holdout rows the generator never saw; the holdout rows
not drawn as non-members are the reference sample of the density attack. Sampling is seeded
(params/attack.yaml), and every gate compares the conservative bound of its interval with its
threshold (params/gates.yaml), so a smaller sample widens the interval honestly rather than
passing more easily.

- `leakage`: exact matches (against the natural holdout-to-train share), near-duplicates, the DCR
  share and the NNDR;
- `membership`: a distance attack and a DOMIAS-style density attack (ROC-AUC, TPR at low FPR);
- `risk`: singling-out, linkability and attribute inference after Giomi et al.;
- `encoding`: the mixed-type distance encoding they share.

`attack` below runs them all and builds one check per attack gate. The package may import
synthgov.params, synthgov.stats, synthgov.checks and synthgov.parallel.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from synthgov.attacks import encoding, leakage, membership, risk
from synthgov.checks import CheckResult
from synthgov.parallel import fan_out
from synthgov.params import Params

GATES = ("exact_match_excess", "near_duplicate_excess", "dcr_share", "mia_auc", "mia_tpr_at_1pct_fpr",
         "singling_out_risk", "linkability_risk", "inference_risk")


def _pick(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    return df.iloc[rng.choice(len(df), size=n, replace=False)].reset_index(drop=True)


def dp_tpr_bound(epsilon: float, delta: float, fpr: float = 0.01) -> float:
    """The TPR at `fpr` that no membership attack can exceed on an (epsilon, delta)-DP release
    (the hypothesis-testing view of DP: TPR <= e^epsilon * FPR + delta).

    >>> round(dp_tpr_bound(1.0, 1e-5), 4)
    0.0272
    """
    return min(1.0, math.exp(epsilon) * fpr + delta) if math.isfinite(epsilon) else 1.0


def dp_auc_bound(epsilon: float, delta: float) -> float:
    """The ROC-AUC that no membership attack can exceed on an (epsilon, delta)-DP release: the area
    under the highest ROC curve DP allows, TPR <= min(1, e^epsilon * FPR + delta,
    1 - e^-epsilon * (1 - delta - FPR)) (the privacy region of Kairouz et al. 2015). Under the
    gate's 0.6 only from about epsilon 0.4 down.

    >>> round(dp_auc_bound(1.0, 0.0), 3), round(dp_auc_bound(0.3, 1e-5), 3), dp_auc_bound(0.0, 0.0)
    (0.731, 0.574, 0.5)
    """
    if not math.isfinite(epsilon):
        return 1.0
    fpr = np.linspace(0.0, 1.0, 100_001)
    tpr = np.minimum.reduce([np.ones_like(fpr), math.exp(epsilon) * fpr + delta,
                             1 - math.exp(-epsilon) * (1 - delta - fpr)])
    return round(float(np.trapezoid(np.clip(tpr, 0.0, 1.0), fpr)), 6)


def attack(synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, params: Params,
           guarantee: tuple[float, float] | None = None
           ) -> tuple[dict[str, Any], list[CheckResult], dict[str, np.ndarray]]:
    """Run every attack. Returns the report (aggregates only), its checks, and the distance arrays
    behind the report's histograms (for attack.html; never written as such).

    `guarantee`: the (epsilon, delta) of the release when it holds (a DP training with secret
    randomness). The TPR at 1 % FPR of any attack is then at most e^epsilon * 0.01 + delta, a
    bound that does not depend on the sample size: the gate takes the smaller of it and the
    empirical upper bound (a few hundred non-members cannot resolve a rate of 1 %); the ROC-AUC
    gate likewise takes the AUC bound (useful at small epsilon). A sample that contradicts a bound
    (its lower bound is above it) is never overruled by it."""
    ap = params.attack
    rng = np.random.default_rng(ap.seed)
    cols = [c for c in params.schema_ if c not in params.data.exclude]
    m = min(ap.subsample, len(train), len(holdout) // 2)
    if m < 10 or len(synthetic) < 10:
        return _unscorable(params, m, len(synthetic))
    members = _pick(train, m, rng)
    order = rng.permutation(len(holdout))
    non_members = holdout.iloc[order[:m]].reset_index(drop=True)
    reference = holdout.iloc[order[m:]].reset_index(drop=True)
    syn_attacked = _pick(synthetic, min(ap.subsample, len(synthetic)), rng)
    syn_index = _pick(synthetic, min(ap.index_rows, len(synthetic)), rng)
    cats = encoding.categories(params, train, holdout, synthetic)

    enc = partial(_encode, params, cats)  # a module-level partial: it travels to Dask workers

    syn_share = leakage.exact_match_share(syn_attacked[cols], train[cols])
    natural = leakage.exact_match_share(holdout[cols], train[cols])
    # three independent attacks, each seeded on its own: fanned out on Dask (synthgov.parallel)
    parts = fan_out({
        "leakage": (partial(leakage.leakage, near_quantile=ap.near_duplicate_quantile, seed=ap.seed),
                    (enc(syn_attacked), enc(members), enc(non_members))),
        "membership": (partial(membership.membership_inference, neighbors=ap.mia_neighbors,
                               rounds=ap.bootstrap_rounds, seed=ap.seed),
                       (enc(syn_index), enc(members), enc(non_members), enc(reference))),
        "risks": (partial(risk.risks, trained=train, holdout=holdout),
                  (syn_index, members, non_members, params, enc)),
    })
    (leak, distances), inferred, risks = parts["leakage"], parts["membership"], parts["risks"]
    report = {"members": m, "non_members": m, "reference_rows": len(reference),
              "synthetic_rows_attacked": len(syn_attacked), "synthetic_rows_indexed": len(syn_index),
              "exact_match": {"synthetic_share": syn_share, "natural_share": natural,
                              "synthetic_rows": len(syn_attacked), "holdout_rows": len(holdout)},
              "leakage": leak, "membership_inference": inferred, "risks": risks}
    if guarantee is not None:
        report["dp_guarantee"] = {"epsilon": guarantee[0], "delta": guarantee[1],
                                  "tpr_at_0.01_fpr_bound": dp_tpr_bound(*guarantee),
                                  "roc_auc_bound": dp_auc_bound(*guarantee)}
    return report, _checks(report, params), distances


def _encode(params: Params, cats: dict[str, list[str]], df: pd.DataFrame, columns: list[str] | None = None
            ) -> np.ndarray:
    return encoding.encode(df, params, cats, columns)


# what would fix a resolved privacy miss: the release remembers its training rows
LESS_MEMORY = ("a release that remembers less: DP training at a lower privacy.epsilon (or fewer train.epochs); "
               "a non-DP or copied table must not be released")


def _check(params: Params, name: str, score: float, breakdown: dict[str, Any], optimistic: float | None = None,
           resolve: str | None = None) -> CheckResult:
    spec = params.gates.spec(name)
    return CheckResult.evaluate(name, score, spec.threshold, goal="minimize", severity=spec.severity,
                                stage="attack", breakdown=breakdown, optimistic=optimistic,
                                on_undecidable=spec.undecidable, resolve=resolve, remedy=LESS_MEMORY)


def _worst(scores: dict[str, float]) -> float:
    return math.nan if any(math.isnan(v) for v in scores.values()) else max(scores.values())


def _driver(scores: dict[str, float]) -> str | None:
    finite = {k: v for k, v in scores.items() if not math.isnan(v)}
    return max(finite, key=finite.get) if finite else None


def _checks(report: dict[str, Any], params: Params) -> list[CheckResult]:
    leak, mi, risks = report["leakage"], report["membership_inference"], report["risks"]
    attacks = ("distance", "density_ratio")
    auc = {a: mi[a]["roc_auc"] for a in attacks}
    tpr = {a: mi[a]["tpr_at_0.01_fpr"] for a in attacks}
    inference = {s: v["risk"] for s, v in risks["inference"].items()}
    upper = lambda d: {k: ci["upper"] for k, ci in d.items()}  # noqa: E731
    lower = lambda d: {k: ci["lower"] for k, ci in d.items()}  # noqa: E731
    ex = report["exact_match"]
    m, n = report["members"], min(params.attack.n_attacks, report["members"])
    sample = f"a larger attack sample (attack.subsample: {m} members and {m} non-members now; more holdout rows)"
    attacks_n = f"more attacks (attack.n_attacks: {n} now) on more rows"
    by_attack, by_secret = upper(auc), upper(inference)
    excess = _excess_interval(ex)
    return [
        _check(params, "exact_match_excess", excess["upper"], {"bound": "upper", **ex, "excess": excess},
               excess["lower"], f"a larger attack sample (attack.subsample: {ex.get('synthetic_rows', m)} synthetic "
               "rows now; more holdout rows): a table with many natural duplicates needs more rows to resolve "
               "a small excess"),
        _check(params, "near_duplicate_excess", leak["near_duplicate"]["excess"]["upper"],
               {"bound": "upper", **leak["near_duplicate"]}, leak["near_duplicate"]["excess"]["lower"], sample),
        _check(params, "dcr_share", leak["dcr_share"]["upper"], {"bound": "upper", "interval": leak["dcr_share"]},
               leak["dcr_share"]["lower"], sample),
        _dp_bounded(params, "mia_auc", _worst(by_attack), by_attack, report.get("dp_guarantee"), "roc_auc_bound",
                    _worst(lower(auc)), sample, hint=", or a DP release at a small epsilon (its epsilon bounds "
                    "the AUC: 0.73 at epsilon 1, 0.57 at 0.3)"),
        _tpr_check(params, _worst(upper(tpr)), upper(tpr), report.get("dp_guarantee"), _worst(lower(tpr)), sample),
        _check(params, "singling_out_risk", risks["singling_out"]["risk"]["upper"],
               {"bound": "upper", "risk": risks["singling_out"]["risk"]}, risks["singling_out"]["risk"]["lower"],
               attacks_n),
        _check(params, "linkability_risk", risks["linkability"]["risk"]["upper"],
               {"bound": "upper", "risk": risks["linkability"]["risk"]}, risks["linkability"]["risk"]["lower"],
               attacks_n),
        _check(params, "inference_risk", _worst(by_secret), {"bound": "upper", "by_secret": by_secret,
                                                             "driven_by": _driver(by_secret)},
               _worst(lower(inference)), attacks_n),
    ]


def _excess_interval(ex: dict[str, Any]) -> dict[str, float]:
    """The 95 % normal interval of the synthetic exact-match share minus the natural one: two
    binomial shares, so a table with many natural duplicates (a panel, coarse codes) gets a wide
    interval, and Adult's few a narrow one. (A report without the row counts: the point alone.)

    >>> {k: round(v, 4) for k, v in _excess_interval({"synthetic_share": 0.2, "natural_share": 0.2,
    ...     "synthetic_rows": 1500, "holdout_rows": 1500}).items()}
    {'point': 0.0, 'lower': -0.0286, 'upper': 0.0286}
    """
    s, h = ex["synthetic_share"], ex["natural_share"]
    point = s - h
    if "synthetic_rows" not in ex or math.isnan(point):
        return {"point": point, "lower": point, "upper": point}
    se = math.sqrt(s * (1 - s) / max(ex["synthetic_rows"], 1) + h * (1 - h) / max(ex["holdout_rows"], 1))
    return {"point": point, "lower": point - 1.96 * se, "upper": point + 1.96 * se}


def _tpr_check(params: Params, empirical: float, by_attack: dict[str, float], dp: dict[str, float] | None,
               optimistic: float | None = None, resolve: str | None = None) -> CheckResult:
    return _dp_bounded(params, "mia_tpr_at_1pct_fpr", empirical, by_attack, dp, "tpr_at_0.01_fpr_bound",
                       optimistic, resolve)


def _dp_bounded(params: Params, name: str, empirical: float, by_attack: dict[str, float],
                dp: dict[str, float] | None, key: str, optimistic: float | None = None,
                resolve: str | None = None, hint: str = ", or a DP release (its epsilon bounds this rate)"
                ) -> CheckResult:
    """Two upper bounds of the same rate, the sample's and the one the release's (epsilon, delta)
    implies: the smaller decides, so the DP bound decides when the sample cannot. A sample whose
    lower bound is above the DP bound contradicts the claimed epsilon (the implementation leaks
    more than it accounts for): the bound is then not used, and the breakdown says so. The
    breakdown says which decided, and the empirical bound behind the other."""
    breakdown: dict[str, Any] = {"bound": "upper", "by_attack": by_attack, "empirical_upper": empirical,
                                 "driven_by": _driver(by_attack)}
    score = empirical
    if dp is not None:
        bound = dp[key]
        breakdown.update(dp_bound=bound, epsilon=dp["epsilon"], delta=dp["delta"])
        contradicted = optimistic is not None and not math.isnan(optimistic) and optimistic > bound
        if contradicted:
            breakdown["contradicts_dp_bound"] = True
        by_bound = not contradicted and (math.isnan(empirical) or bound < empirical)
        score = bound if by_bound else empirical
        breakdown["decided_by"] = "dp bound" if by_bound else "sample"
    elif resolve:
        resolve += hint
    return _check(params, name, score, breakdown, optimistic, resolve)


def _unscorable(params: Params, m: int, n_syn: int) -> tuple[dict[str, Any], list[CheckResult], dict]:
    """Too few rows to attack: every privacy check fails (NaN), never a silent pass."""
    why = {"reason": f"too few rows to attack: {m} member/non-member rows, {n_syn} synthetic rows (need 10)"}
    return {"members": m, "synthetic_rows": n_syn, **why}, [_check(params, n, math.nan, why) for n in GATES], {}
