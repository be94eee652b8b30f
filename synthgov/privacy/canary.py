"""Canary audit: an empirical lower bound on the epsilon a DP training run really spent.

m pairs of canary records, unusual but valid under the public schema (every value drawn uniformly
from the declared categories or bounds), are made; a seeded coin picks one record of each pair to
insert into the training rows, its twin is held back. The synthesizer is trained twice with the
same params: on the training rows plus the inserted canaries (the audited run) and on the
training rows alone (the reference run); both spend privacy budget on the source. A record's
exposure is how much more likely the audited model finds it than the reference model (log p_audit(x) - log p_reference(x)): training on a
record raises it, and only DP noise hides that.

In each pair the auditor guesses that the more exposed twin was inserted; how often it is right
bounds the epsilon from below (see epsilon_lower_bound). A lower bound above the claimed epsilon
means the implementation leaks more than it accounts for: a blocking failure.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy.stats import beta

from synthgov.checks import CheckResult
from synthgov.errors import ParamsError
from synthgov.params import Params


def make_canaries(params: Params, m: int, rng: np.random.Generator) -> pd.DataFrame:
    """`m` records valid under the declared schema, each value drawn uniformly (categorical
    columns without declared categories are not supported: declare them to audit)."""
    cols = {}
    for col, spec in params.schema_.items():
        if spec.type == "categorical":
            if not spec.categories:
                raise ParamsError(f"canary audit: column '{col}' has no declared categories in schema.yaml; "
                                 "declare them (or drop the column) to run the audit")
            cols[col] = rng.choice(spec.categories, size=m)
        else:
            values = rng.uniform(spec.lower, spec.upper, size=m)
            cols[col] = np.round(values) if spec.integer else values
    return pd.DataFrame(cols)


def epsilon_lower_bound(correct: int, guesses: int, delta: float, level: float = 0.95) -> float:
    """The epsilon that `correct` right guesses out of `guesses` prove at the given confidence.

    Under (epsilon, delta)-DP no guess of which twin was inserted is right with probability above
    e^epsilon / (1 + e^epsilon) + delta, and the count of right guesses over the canaries is
    dominated by a binomial of that rate (Steinke, Nasr and Jagielski, "Privacy Auditing with One
    (1) Training Run", 2023). The one-sided Clopper-Pearson lower bound p of the observed rate
    then gives epsilon >= log((p - delta) / (1 - p + delta)); 0 when the guesses beat no coin.

    >>> round(epsilon_lower_bound(100, 100, 1e-5), 3)  # 100 right guesses of 100 prove 3.49
    3.493
    >>> epsilon_lower_bound(55, 100, 1e-5)
    0.0
    """
    if guesses == 0 or correct == 0:
        return 0.0
    p = float(beta.ppf(1 - level, correct, guesses - correct + 1))
    if p - delta <= 0.5:
        return 0.0
    return math.log((p - delta) / (1 - p + delta))


def canary_audit(train: pd.DataFrame, params: Params, synthesizer_cls: type, *, pairs: int, seed: int,
                 randomness: Callable[[], Any]) -> dict[str, Any]:
    """Train the reference and the audited run, and bound epsilon from the canaries' exposure.

    Both trainings read the private rows, so the caller charges both to the privacy ledger; each
    draws its own DP randomness from `randomness()`. The twins of a pair differ by one record
    replaced by another, so the bound is compared with the audited run's epsilon under
    replace-one neighbours (its training slice by the PLD accountant, plus its count and
    preprocessing slices), whatever relation the release declares.
    """
    rng = np.random.default_rng(seed)
    canaries = make_canaries(params, 2 * pairs, rng)
    first, second = canaries.iloc[:pairs].reset_index(drop=True), canaries.iloc[pairs:].reset_index(drop=True)
    coin = rng.random(pairs) < 0.5
    inserted = pd.concat([first[coin], second[~coin]], ignore_index=True)
    held_back = pd.concat([second[coin], first[~coin]], ignore_index=True)
    reference = synthesizer_cls()
    reference_report = reference.fit(train, params, randomness())
    audited = synthesizer_cls()
    audit_report = audited.fit(pd.concat([train, inserted], ignore_index=True), params, randomness())
    exposure_in = audited.log_likelihood(inserted) - reference.log_likelihood(inserted)
    exposure_out = audited.log_likelihood(held_back) - reference.log_likelihood(held_back)
    # the auditor guesses, in each pair, that the more exposed twin was inserted
    correct = int((exposure_in > exposure_out).sum())
    delta = float(audit_report.get("delta") or 0.0)
    by_relation = audit_report.get("epsilon_training_by_relation", {})
    other_slices = audit_report["epsilon"] - audit_report.get("epsilon_training", audit_report["epsilon"])
    claimed = by_relation.get("replace-one", audit_report["epsilon"]) + other_slices
    return {"pairs": pairs, "claimed_epsilon": float(claimed), "claimed_relation": "replace-one",
            "declared_epsilon": float(audit_report["epsilon"]), "delta": delta,
            "noise_multiplier": audit_report.get("noise_multiplier"), "correct_guesses": correct,
            "epsilon_lower_bound": epsilon_lower_bound(correct, pairs, delta),
            "trainings": [{"epsilon": float(r["epsilon"]), "delta": float(r["delta"])}
                          for r in (reference_report, audit_report)],
            "exposure_median": {"inserted": float(np.median(exposure_in)), "held_back": float(np.median(exposure_out))}}


def canary_check(report: dict[str, Any], params: Params) -> CheckResult:
    """The empirical lower bound against the claimed epsilon: above it is a bug (gate canary_epsilon)."""
    spec = params.gates.spec("canary_epsilon")
    return CheckResult.evaluate("canary_epsilon", report["epsilon_lower_bound"] - report["claimed_epsilon"],
                                spec.threshold, goal="minimize", severity=spec.severity, stage="attack",
                                breakdown=report)
