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
