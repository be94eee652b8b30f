"""The membership gate's DP bound: a DP release's TPR at 1 % FPR is bounded whatever the sample."""

from __future__ import annotations

import math

from synthgov.attacks import _dp_bounded, _tpr_check, dp_auc_bound, dp_tpr_bound


def test_the_smaller_of_two_upper_bounds_decides(params):
    dp = {"epsilon": 1.0, "delta": 1e-5, "tpr_at_0.01_fpr_bound": dp_tpr_bound(1.0, 1e-5)}
    # a few hundred non-members: the empirical upper bound cannot fall under 0.03
    small = _tpr_check(params, 0.042, {"distance": 0.042}, dp)
    assert small.passed and small.score == dp["tpr_at_0.01_fpr_bound"]
    assert small.breakdown["decided_by"] == "dp bound" and small.breakdown["empirical_upper"] == 0.042
    # a large sample resolves a smaller rate than the bound
    large = _tpr_check(params, 0.015, {"distance": 0.015}, dp)
    assert large.passed and large.score == 0.015 and large.breakdown["decided_by"] == "sample"
    # no guarantee (test mode, no DP, a file made elsewhere): the sample alone decides
    assert not _tpr_check(params, 0.042, {"distance": 0.042}, None).passed


def test_a_sample_that_contradicts_the_claimed_epsilon_is_not_overruled_by_it(params):
    """An implementation that leaks more than its epsilon accounts for: the attack's lower bound is
    over the DP bound, so the claim cannot pass the release; the sample decides."""
    dp = {"epsilon": 1.0, "delta": 1e-5, "tpr_at_0.01_fpr_bound": dp_tpr_bound(1.0, 1e-5)}
    leak = _tpr_check(params, 0.2, {"distance": 0.2}, dp, optimistic=0.1)
    assert leak.verdict == "fail" and leak.blocking_failure and leak.score == 0.2
    assert leak.breakdown["contradicts_dp_bound"] and leak.breakdown["decided_by"] == "sample"


def test_a_small_epsilon_bounds_the_membership_auc(params):
    """At epsilon 0.3 no attack's ROC-AUC can exceed 0.574: a straddling interval (0.45-0.7) is
    decided by the bound; without a guarantee it stays undecidable, and at epsilon 1 (0.73) the
    bound cannot help: the sample decides."""
    assert dp_auc_bound(0.3, 1e-5) < 0.6 < dp_auc_bound(1.0, 1e-5)
    assert dp_auc_bound(0.3, 1e-5) < dp_auc_bound(0.3, 1e-3) < dp_auc_bound(1.0, 1e-3) <= dp_auc_bound(math.inf, 0) == 1.0

    def auc_check(epsilon: float | None):
        dp = None if epsilon is None else {"epsilon": epsilon, "delta": 1e-5,
                                            "roc_auc_bound": dp_auc_bound(epsilon, 1e-5)}
        return _dp_bounded(params, "mia_auc", 0.7, {"distance": 0.7}, dp, "roc_auc_bound", optimistic=0.45,
                           resolve="a larger attack sample")

    small, none, weak = auc_check(0.3), auc_check(None), auc_check(1.0)
    assert small.passed and small.breakdown["decided_by"] == "dp bound" and small.score < 0.6
    assert none.verdict == "undecidable" and "a DP release" in none.breakdown["undecidable"]["resolve"]
    assert weak.verdict == "undecidable" and weak.score == 0.7 and weak.breakdown["decided_by"] == "sample"


def test_a_weak_guarantee_does_not_help():
    assert dp_tpr_bound(3.0, 1e-5) > 0.2
    assert dp_tpr_bound(math.inf, 0.0) == 1.0


def _ci(lower: float, upper: float) -> dict[str, float]:
    return {"point": (lower + upper) / 2, "lower": lower, "upper": upper}


def _report(auc: dict, tpr: dict, inference: dict) -> dict:
    """An attack report of a few hundred members: intervals only, no rows."""
    return {"members": 400, "exact_match": {"synthetic_share": 0.0, "natural_share": 0.0},
            "leakage": {"near_duplicate": {"excess": _ci(-0.01, 0.02)}, "dcr_share": _ci(0.47, 0.53)},
            "membership_inference": {a: {"roc_auc": auc[a], "tpr_at_0.01_fpr": tpr[a]} for a in auc},
            "risks": {"singling_out": {"risk": _ci(0.0, 0.04)}, "linkability": {"risk": _ci(0.0, 0.03)},
                      "inference": {s: {"risk": ci} for s, ci in inference.items()}}}


def test_attack_gates_tell_a_resolved_leak_from_a_sample_too_small(params):
    """Straddling intervals are undecidable (named with what would resolve them); an interval
    wholly over the threshold is a failure, driven by the attack or secret that scored worst."""
    from synthgov.attacks import _checks

    report = _report(auc={"distance": _ci(0.48, 0.64), "density_ratio": _ci(0.45, 0.55)},
                     tpr={"distance": _ci(0.0, 0.05), "density_ratio": _ci(0.0, 0.02)},
                     inference={"sex": _ci(0.25, 0.4), "race": _ci(0.0, 0.1)})
    checks = {c.name: c for c in _checks(report, params)}
    assert checks["mia_auc"].verdict == "undecidable" and checks["mia_auc"].breakdown["driven_by"] == "distance"
    assert "attack.subsample: 400 members" in checks["mia_auc"].breakdown["undecidable"]["resolve"]
    assert "a DP release" in checks["mia_tpr_at_1pct_fpr"].breakdown["undecidable"]["resolve"]
    assert checks["inference_risk"].verdict == "fail" and checks["inference_risk"].breakdown["driven_by"] == "sex"
    assert checks["dcr_share"].verdict == "pass" and checks["singling_out_risk"].verdict == "pass"
    # attack gates warn when undecidable (gates.yaml: a promotable release is DP, and a small table
    # cannot resolve them), and a decided failure blocks
    for name in ("mia_auc", "mia_tpr_at_1pct_fpr"):
        assert checks[name].verdict == "undecidable" and checks[name].severity == "warn"
        assert not checks[name].blocking_failure
    assert checks["inference_risk"].blocking_failure


def test_every_attack_gate_warns_when_undecidable_and_blocks_when_decided(params):
    """The default policy of every attack gate: an undecidable verdict (the interval straddles the
    threshold) is named and warns; a decided failure (even the optimistic bound misses) blocks."""
    from synthgov.attacks import GATES, _checks

    def checks(lo: float, hi: float) -> dict:
        report = _report(auc={"distance": _ci(0.5 + lo, 0.5 + hi), "density_ratio": _ci(0.45, 0.55)},
                         tpr={"distance": _ci(lo / 5, hi / 5), "density_ratio": _ci(0.0, 0.02)},
                         inference={"sex": _ci(lo, hi)})
        report["leakage"] = {"near_duplicate": {"excess": _ci(lo / 2, hi / 2)}, "dcr_share": _ci(0.5 + lo, 0.5 + hi)}
        report["risks"].update(singling_out={"risk": _ci(lo, hi)}, linkability={"risk": _ci(lo, hi)})
        report["exact_match"] = {"synthetic_share": 0.39 + lo / 2, "natural_share": 0.39,
                                 "synthetic_rows": 1500, "holdout_rows": 1500}
        return {c.name: c for c in _checks(report, params)}

    straddling, leaking = checks(0.0, 0.3), checks(0.25, 0.5)
    assert set(straddling) == set(GATES)
    for name in GATES:
        assert params.gates.spec(name).undecidable == "warn"
        assert straddling[name].verdict == "undecidable", name
        assert not straddling[name].blocking_failure and straddling[name].breakdown["undecidable"]["resolve"]
        assert leaking[name].verdict == "fail" and leaking[name].blocking_failure, name


def test_a_resolved_tpr_leak_still_blocks(params):
    """The warn policy is for the undecidable verdict only: a TPR whose lower bound is over 0.03
    (the sample resolves a leak) blocks promotion."""
    from synthgov.attacks import _checks

    report = _report(auc={"distance": _ci(0.48, 0.56), "density_ratio": _ci(0.45, 0.55)},
                     tpr={"distance": _ci(0.08, 0.2), "density_ratio": _ci(0.0, 0.02)},
                     inference={"sex": _ci(0.0, 0.1)})
    tpr = {c.name: c for c in _checks(report, params)}["mia_tpr_at_1pct_fpr"]
    assert tpr.verdict == "fail" and tpr.severity == "block" and tpr.blocking_failure
    assert tpr.breakdown["driven_by"] == "distance"


def test_exact_matches_are_judged_against_the_natural_duplicate_rate(params):
    """A panel-like table where 39 % of holdout rows equal a training row: an honest excess of
    0.01 cannot be told from 0.002 at 1,500 rows (undecidable, warns); a 10 % partial copy can."""
    from synthgov.attacks import _checks

    def excess_check(synthetic_share: float):
        report = _report(auc={"distance": _ci(0.48, 0.56), "density_ratio": _ci(0.45, 0.55)},
                         tpr={"distance": _ci(0.0, 0.02), "density_ratio": _ci(0.0, 0.02)},
                         inference={"sex": _ci(0.0, 0.1)})
        report["exact_match"] = {"synthetic_share": synthetic_share, "natural_share": 0.39,
                                 "synthetic_rows": 1500, "holdout_rows": 1500}
        return {c.name: c for c in _checks(report, params)}["exact_match_excess"]

    honest, leak = excess_check(0.40), excess_check(0.49)
    assert honest.verdict == "undecidable" and not honest.blocking_failure
    assert "natural duplicates" in honest.breakdown["undecidable"]["resolve"]
    assert leak.verdict == "fail" and leak.blocking_failure
    assert leak.breakdown["excess"]["lower"] > 0.002
