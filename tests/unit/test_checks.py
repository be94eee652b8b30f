import math

import pytest

from synthgov.checks import CheckResult, blocking_failures


@pytest.mark.parametrize("score, goal, passed", [
    (0.9, "maximize", True),    # at the threshold passes
    (0.89, "maximize", False),  # below fails
    (0.91, "minimize", False),  # above a max fails
    (math.nan, "maximize", False),  # not computable never passes
    (math.nan, "minimize", False),
    (math.inf, "minimize", False),  # epsilon = inf fails any cap
])
def test_evaluate(score, goal, passed):
    assert CheckResult.evaluate("g", score, 0.9, goal=goal).passed is passed


def test_only_blocking_failures_block():
    warn = CheckResult.evaluate("w", 0.0, 1.0, goal="maximize", severity="warn")
    block = CheckResult.evaluate("b", 0.0, 1.0, goal="maximize")
    ok = CheckResult.evaluate("ok", 2.0, 1.0, goal="maximize")
    assert blocking_failures([warn, block, ok]) == [block]


@pytest.mark.parametrize("score, optimistic, goal, verdict", [
    (0.95, 0.99, "maximize", "pass"),        # the conservative bound meets it
    (0.85, 0.93, "maximize", "undecidable"),  # the interval straddles 0.9
    (0.80, 0.88, "maximize", "fail"),         # even the optimistic bound misses it
    (0.12, 0.05, "minimize", "undecidable"),
    (0.12, 0.11, "minimize", "fail"),
    (math.nan, 0.5, "minimize", "fail"),      # not computable: never undecidable
    (0.12, math.nan, "minimize", "fail"),
    (0.12, None, "minimize", "fail"),         # no interval: two states only
])
def test_three_verdicts_from_the_interval(score, optimistic, goal, verdict):
    threshold = 0.9 if goal == "maximize" else 0.1
    r = CheckResult.evaluate("g", score, threshold, goal=goal, optimistic=optimistic)
    assert r.verdict == verdict and r.passed is (verdict == "pass")


def test_undecidable_blocks_or_warns_as_its_gate_says_and_says_what_would_resolve_it():
    kw = {"goal": "minimize", "optimistic": 0.02}
    block = CheckResult.evaluate("singling_out_risk", 0.15, 0.1, **kw, resolve="more attacks (attack.n_attacks: 100 now)")
    warn = CheckResult.evaluate("singling_out_risk", 0.15, 0.1, **kw, on_undecidable="warn")
    assert blocking_failures([block, warn]) == [block]
    assert warn.severity == "warn" and warn.verdict == "undecidable"
    assert "UNDECIDABLE" in block.describe() and "attack.n_attacks: 100 now" in block.describe()
    assert block.breakdown["undecidable"] == {"optimistic_bound": 0.02, "policy": "block",
                                              "resolve": "more attacks (attack.n_attacks: 100 now)"}
    # a real failure keeps its severity whatever the undecidable policy is
    assert CheckResult.evaluate("g", 0.15, 0.1, goal="minimize", optimistic=0.12, on_undecidable="warn").blocking_failure


def test_results_written_before_the_third_state_read_back():
    old = {"name": "g", "score": 0.5, "threshold": 0.6, "goal": "minimize", "passed": True}
    assert CheckResult.model_validate(old).verdict == "pass"
    assert CheckResult.model_validate({**old, "passed": False, "score": 0.7}).verdict == "fail"


def test_gate_lists_the_undecidable_checks():
    from synthgov.release.gate import gate

    results = [CheckResult.evaluate("a", 0.15, 0.1, goal="minimize", optimistic=0.05, on_undecidable="warn"),
               CheckResult.evaluate("b", 0.05, 0.1, goal="minimize", optimistic=0.01)]
    verdict = gate(results)
    assert verdict["promotable"] and verdict["undecidable"] == ["a"] and verdict["failed"] == []
