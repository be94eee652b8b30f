"""The one result type that every check in synthgov returns, and the gates read.

A check compares a score with a threshold in a declared direction. A score that could not be
computed (NaN) is a failed check, never a silent pass.

A check with an interval scores its conservative bound (the upper bound of a risk, the lower of a
utility), and also knows its optimistic bound. Its verdict is one of three: `pass` (the
conservative bound meets the threshold), `fail` (even the optimistic bound misses it: the sample
resolves a real miss), or `undecidable` (the interval straddles the threshold: at this sample size
the data cannot tell). An undecidable check does not pass; the gate's policy
(`undecidable: block | warn` in params/gates.yaml) says whether it blocks promotion.

>>> r = CheckResult.evaluate("tstr_ratio", 0.95, 0.9, goal="maximize")
>>> r.passed, r.verdict
(True, 'pass')
>>> CheckResult.evaluate("dcr_share", float("nan"), 0.55, goal="minimize").verdict
'fail'
>>> u = CheckResult.evaluate("mia_auc", 0.64, 0.6, goal="minimize", optimistic=0.52, on_undecidable="warn")
>>> u.verdict, u.passed, u.severity, u.blocking_failure
('undecidable', False, 'warn', False)
>>> f = CheckResult.evaluate("dcr_share", 0.9, 0.55, goal="minimize", optimistic=0.8, remedy="DP training")
>>> f.verdict, f.describe().endswith("(would fix it: DP training)")
('fail', True)
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Goal = Literal["maximize", "minimize"]
Severity = Literal["block", "warn"]
Verdict = Literal["pass", "fail", "undecidable"]


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
    verdict: Verdict = "fail"

    @model_validator(mode="before")
    @classmethod
    def _verdict_of_older_results(cls, data: Any) -> Any:
        """Results written before the third state have `passed` only."""
        if isinstance(data, dict) and "verdict" not in data and "passed" in data:
            data = {**data, "verdict": "pass" if data["passed"] else "fail"}
        return data

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
        optimistic: float | None = None,
        on_undecidable: Severity = "block",
        resolve: str | None = None,
        remedy: str | None = None,
    ) -> "CheckResult":
        """Build a result, deciding `passed` from the score, threshold and goal (NaN fails).

        `optimistic`: the other bound of the score's interval, when it has one. When the score
        misses the threshold but `optimistic` meets it, the verdict is `undecidable`; its severity
        is then at most `on_undecidable`, and `resolve` (what would settle it: more rows, a larger
        attack sample) goes into the breakdown. A resolved miss (`fail`) carries `remedy` there
        instead: what would make the candidate pass (more rows, a larger epsilon, a fairness mode)."""
        score = float(score)

        def meets(x: float) -> bool:
            return not math.isnan(x) and (x >= threshold if goal == "maximize" else x <= threshold)

        passed = meets(score)
        verdict: Verdict = "pass" if passed else "fail"
        breakdown = dict(breakdown or {})
        if not passed and not math.isnan(score) and optimistic is not None and meets(float(optimistic)):
            verdict = "undecidable"
            severity = "warn" if on_undecidable == "warn" else severity
            breakdown["undecidable"] = {"optimistic_bound": float(optimistic), "policy": on_undecidable,
                                        "resolve": resolve or "more rows: the interval straddles the threshold"}
        elif not passed and remedy:
            breakdown["remedy"] = remedy
        return cls(
            name=name,
            score=score,
            threshold=float(threshold),
            goal=goal,
            passed=passed,
            severity=severity,
            stage=stage,
            breakdown=breakdown,
            verdict=verdict,
        )

    @property
    def blocking_failure(self) -> bool:
        """True when this result fails and its severity blocks promotion."""
        return not self.passed and self.severity == "block"

    def describe(self) -> str:
        """One line for messages: name, score, threshold and direction."""
        op = ">=" if self.goal == "maximize" else "<="
        verdict = {"pass": "passed", "fail": "FAILED", "undecidable": "UNDECIDABLE at this sample size"}[self.verdict]
        line = f"{self.name}: score {self.score:.4g} (needs {op} {self.threshold:.4g}) {verdict} [{self.severity}]"
        if self.verdict != "pass" and self.breakdown.get("driven_by"):
            line += f" driven by {self.breakdown['driven_by']}"
        if self.verdict == "undecidable":
            u = self.breakdown["undecidable"]
            line += f" (the other bound is {u['optimistic_bound']:.4g}; would resolve it: {u['resolve']})"
        elif self.verdict == "fail" and self.breakdown.get("remedy"):
            line += f" (would fix it: {self.breakdown['remedy']})"
        return line


def blocking_failures(results: list[CheckResult]) -> list[CheckResult]:
    """The results that fail with severity `block`."""
    return [r for r in results if r.blocking_failure]
