"""The gate stage: one verdict per gate, from the check results of every earlier stage.

Gates read CheckResult objects and nothing else. The privacy gate is built here from the training
report: the epsilon spent against the release policy's cap. The candidate is promotable only if no
blocking check failed.
"""

from __future__ import annotations

import math
from typing import Any

from synthgov.checks import CheckResult, blocking_failures
from synthgov.params import Params


def privacy_check(training: dict[str, Any], params: Params) -> CheckResult:
    """Epsilon spent against the policy cap in params/gates.yaml (epsilon = inf always fails).

    A test-mode run (DP randomness seeded from params: reproducible by anyone, so not private)
    fails with severity block whatever gates.yaml says: it can never be promoted.
    """
    spec = params.gates.spec("privacy_epsilon")
    breakdown = {"delta": training["delta"], "target_epsilon": params.privacy.epsilon,
                 "neighbouring": training.get("neighbouring", params.privacy.neighbouring),
                 "randomness": training.get("randomness")}
    if training.get("test_mode"):
        return CheckResult.evaluate("privacy_epsilon", math.inf, spec.threshold, goal="minimize",
                                    severity="block", stage="train",
                                    breakdown={**breakdown, "refused": "test mode: the DP randomness was seeded "
                                               "from params, so anyone can replay it; set privacy.test_mode: false"})
    return CheckResult.evaluate("privacy_epsilon", training["epsilon"], spec.threshold,
                                goal="minimize", severity=spec.severity, stage="train", breakdown=breakdown)


def gate(results: list[CheckResult]) -> dict[str, Any]:
    """The verdict over every check: promotable, the blocking failures by name, and the checks the
    sample could not decide (blocking or not, as their gate's policy says)."""
    failed = blocking_failures(results)
    return {"promotable": not failed, "failed": [r.name for r in failed],
            "undecidable": [r.name for r in results if r.verdict == "undecidable"],
            "results": [r.model_dump(mode="json") for r in results]}
