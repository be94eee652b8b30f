"""The gate stage: one verdict per gate, from the check results of every earlier stage.

Gates read CheckResult objects and nothing else. The privacy gate is built here from the training
report: the epsilon spent against the release policy's cap. The candidate is promotable only if no
blocking check failed.
"""

from __future__ import annotations

from typing import Any

from synthgov.checks import CheckResult, blocking_failures
from synthgov.params import Params


def privacy_check(training: dict[str, Any], params: Params) -> CheckResult:
    """Epsilon spent against the policy cap in params/gates.yaml (epsilon = inf always fails)."""
    spec = params.gates.spec("privacy_epsilon")
    return CheckResult.evaluate("privacy_epsilon", training["epsilon"], spec.threshold,
                                goal="minimize", severity=spec.severity, stage="train",
                                breakdown={"delta": training["delta"],
                                           "target_epsilon": params.privacy.epsilon})


def gate(results: list[CheckResult]) -> dict[str, Any]:
    """The verdict over every check: promotable, and the blocking failures by name."""
    failed = blocking_failures(results)
    return {"promotable": not failed, "failed": [r.name for r in failed],
            "results": [r.model_dump(mode="json") for r in results]}
