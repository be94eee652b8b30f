"""The privacy-budget ledger: what every training run has spent on each source version.

Nightly regeneration on the same source composes: ten runs at epsilon = 1 are not epsilon = 1.
The ledger (ledger/privacy_ledger.json in the workspace) keeps one entry per training run, keyed
by the source version's content hash, and survives across runs. Spend composes by basic
sequential composition: the (epsilon, delta) of k runs on one source is (sum epsilon_i,
sum delta_i), which holds for any mix of mechanisms. A non-DP run spends epsilon = inf.

A run is refused before training when the spend so far plus the run's planned (epsilon, delta)
would exceed the source version's budget (privacy.budget_epsilon, privacy.budget_delta). An entry
is written as soon as a model is trained, whatever the gates decide later: the budget is spent by
training, not by promotion.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from synthgov.errors import PrivacyBudgetError


class PrivacyLedger:
    """An append-only JSON ledger of privacy spend per source version, guarded by a file lock."""

    def __init__(self, workspace: Path):
        self.path = Path(workspace) / "ledger" / "privacy_ledger.json"

    @contextmanager
    def _locked(self) -> Iterator[list[dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = json.loads(self.path.read_text()) if self.path.is_file() else []
            yield entries
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text(json.dumps(entries, indent=2))
            os.replace(tmp, self.path)

    def entries(self, source_hash: str | None = None) -> list[dict[str, Any]]:
        """Every entry, or those of one source version."""
        entries = json.loads(self.path.read_text()) if self.path.is_file() else []
        return [e for e in entries if source_hash is None or e["source_hash"] == source_hash]

    def spent(self, source_hash: str) -> tuple[float, float]:
        """(epsilon, delta) spent so far on a source version, by sequential composition."""
        entries = self.entries(source_hash)
        return sum(e["epsilon"] for e in entries), sum(e["delta"] for e in entries)

    def check(self, source_hash: str, epsilon: float, delta: float, budget_epsilon: float,
              budget_delta: float) -> None:
        """Refuse a run whose planned spend would take the source version over its budget."""
        eps, dlt = self.spent(source_hash)
        if eps + epsilon > budget_epsilon * (1 + 1e-9) or dlt + delta > budget_delta * (1 + 1e-9):
            raise PrivacyBudgetError(
                f"source version {source_hash[:12]} has spent epsilon = {eps:g}, delta = {dlt:g} "
                f"over {len(self.entries(source_hash))} run(s); this run would add epsilon = "
                f"{epsilon:g}, delta = {delta:g}, over the budget of epsilon = {budget_epsilon:g}, "
                f"delta = {budget_delta:g} (privacy.budget_epsilon / budget_delta in "
                "params/privacy.yaml). Nothing was trained: lower privacy.epsilon, or wait for a "
                "new source version"
            )

    def record(self, source_hash: str, run_id: str, epsilon: float, delta: float,
               synthesizer: str) -> tuple[float, float]:
        """Append one run's spend; returns the new cumulative (epsilon, delta) for the source."""
        with self._locked() as entries:
            entries.append({"source_hash": source_hash, "run_id": run_id, "epsilon": epsilon,
                            "delta": delta, "synthesizer": synthesizer,
                            "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            eps = sum(e["epsilon"] for e in entries if e["source_hash"] == source_hash)
            dlt = sum(e["delta"] for e in entries if e["source_hash"] == source_hash)
        return eps, dlt
