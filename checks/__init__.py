"""The one result type that every check in synthgov returns, and the gates read.

A check compares a score with a threshold in a declared direction. A score that could not be
computed (NaN) is a failed check, never a silent pass.

>>> r = CheckResult.evaluate("tstr_ratio", 0.95, 0.9, goal="maximize")
>>> r.passed
True
>>> CheckResult.evaluate("dcr_share", float("nan"), 0.55, goal="minimize").passed
False
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Goal = Literal["maximize", "minimize"]
Severity = Literal["block", "warn"]


class CheckResult(BaseModel):
    """A frozen result of one check: the only input the gates consume."""

    model_config = ConfigDict(frozen=True)

    name: str
    score: float
    threshold: float
    goal: Goal
    passed: bool
    severity: Severity = "block"
    stage: str = ""
    breakdown: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def evaluate(
        cls,
        name: str,
        score: float,
        threshold: float,
        *,
        goal: Goal,
        severity: Severity = "block",
        stage: str = "",
        breakdown: dict[str, Any] | None = None,
    ) -> "CheckResult":
        """Build a result, deciding `passed` from the score, threshold and goal (NaN fails)."""
        score = float(score)
        if math.isnan(score):
            passed = False
        elif goal == "maximize":
            passed = score >= threshold
        else:
            passed = score <= threshold
        return cls(
            name=name,
            score=score,
            threshold=float(threshold),
            goal=goal,
            passed=passed,
            severity=severity,
            stage=stage,
            breakdown=breakdown or {},
        )

    @property
    def blocking_failure(self) -> bool:
        """True when this result fails and its severity blocks promotion."""
        return not self.passed and self.severity == "block"

    def describe(self) -> str:
        """One line for messages: name, score, threshold and direction."""
        op = ">=" if self.goal == "maximize" else "<="
        verdict = "passed" if self.passed else "FAILED"
        return f"{self.name}: score {self.score:.4g} (needs {op} {self.threshold:.4g}) {verdict} [{self.severity}]"


def blocking_failures(results: list[CheckResult]) -> list[CheckResult]:
    """The results that fail with severity `block`."""
    return [r for r in results if r.blocking_failure]
