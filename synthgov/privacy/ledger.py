"""The privacy-budget ledger: what every training run has spent on each source version.

Nightly regeneration on the same source composes: ten runs at epsilon = 1 are not epsilon = 1.
The ledger (ledger/privacy_ledger.json in the workspace) keeps one entry per training run (and per
canary training), keyed by the source version's content hash, and survives across runs. Spend
composes by basic sequential composition: the (epsilon, delta) of k runs on one source is
(sum epsilon_i, sum delta_i), which holds for any mix of mechanisms. A non-DP run spends
epsilon = inf.

Every change happens under an exclusive lock on ledger/privacy_ledger.lock (fcntl: released by the
kernel if the holder dies), so the budget check and the record are one atomic step:
- `reserve` checks the planned spend against the budget and records it as `reserved` before any
  training starts: two concurrent runs cannot both pass a check that only one fits;
- `commit` replaces a reservation by the spend actually accounted once the training is done;
- `cancel` removes a reservation whose training never started (a refusal before fitting).
A reservation counts as spent. A run killed after it reserved leaves it in place, so the budget is
never under-counted; `settle` later marks it `spent (run ended without committing)`.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from synthgov.atomic import write_json_atomic
from synthgov.errors import PrivacyBudgetError

RESERVED, SPENT, ABANDONED = "reserved", "spent", "spent (run ended without committing)"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class PrivacyLedger:
    """A JSON ledger of privacy spend per source version, changed only under a file lock."""

    def __init__(self, workspace: Path):
        self.path = Path(workspace) / "ledger" / "privacy_ledger.json"

    def _read(self) -> list[dict[str, Any]]:
        return json.loads(self.path.read_text()) if self.path.is_file() else []

    @contextmanager
    def _locked(self) -> Iterator[list[dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            entries = self._read()
            before = json.dumps(entries)
            yield entries
            if json.dumps(entries) != before:
                write_json_atomic(self.path, entries)
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def entries(self, source_hash: str | None = None) -> list[dict[str, Any]]:
        """Every entry, or those of one source version."""
        return [e for e in self._read() if source_hash is None or e["source_hash"] == source_hash]

    @staticmethod
    def _total(entries: list[dict[str, Any]], source_hash: str) -> tuple[float, float]:
        mine = [e for e in entries if e["source_hash"] == source_hash]
        return sum(e["epsilon"] for e in mine), sum(e["delta"] for e in mine)

    def spent(self, source_hash: str) -> tuple[float, float]:
        """(epsilon, delta) spent or reserved so far on a source version, by sequential composition."""
        return self._total(self._read(), source_hash)

    def reserve(self, source_hash: str, run_id: str, epsilon: float, delta: float, *, budget_epsilon: float,
                budget_delta: float, synthesizer: str, purpose: str = "training") -> tuple[float, float]:
        """Check the planned spend against the budget and reserve it, in one locked step.

        Raises:
            PrivacyBudgetError: when the source version's budget cannot hold it; nothing is recorded.
        """
        with self._locked() as entries:
            eps, dlt = self._total(entries, source_hash)
            if eps + epsilon > budget_epsilon * (1 + 1e-9) or dlt + delta > budget_delta * (1 + 1e-9):
                runs = len({e["run_id"] for e in entries if e["source_hash"] == source_hash and e["epsilon"]})
                raise PrivacyBudgetError(
                    f"source version {source_hash[:12]} has spent epsilon = {eps:g}, delta = {dlt:g} over "
                    f"{runs} run(s); this run would add epsilon = {epsilon:g}, delta = {delta:g} ({purpose}), "
                    f"over the budget of epsilon = {budget_epsilon:g}, delta = {budget_delta:g} "
                    "(privacy.budget_epsilon / budget_delta in params/privacy.yaml). Nothing was trained: "
                    "lower privacy.epsilon, or wait for a new source version")
            entries.append({"source_hash": source_hash, "run_id": run_id, "purpose": purpose, "status": RESERVED,
                            "epsilon": epsilon, "delta": delta, "synthesizer": synthesizer, "at": _now()})
            return self._total(entries, source_hash)

    def commit(self, run_id: str, epsilon: float, delta: float, purpose: str = "training") -> tuple[float, float]:
        """Replace a run's reservation by its accounted spend; returns the source's new total."""
        with self._locked() as entries:
            for e in entries:
                if e["run_id"] == run_id and e["purpose"] == purpose and e["status"] == RESERVED:
                    e.update(status=SPENT, epsilon=epsilon, delta=delta, at=_now())
                    return self._total(entries, e["source_hash"])
        raise PrivacyBudgetError(f"run {run_id} has no reservation for {purpose} in {self.path}; "
                                 "the spend cannot be recorded")

    def cancel(self, run_id: str) -> None:
        """Drop a run's reservations: its training never started."""
        with self._locked() as entries:
            entries[:] = [e for e in entries if not (e["run_id"] == run_id and e["status"] == RESERVED)]

    def settle(self, run_id: str) -> int:
        """Mark a dead run's open reservations as spent (they were always counted); returns how many."""
        with self._locked() as entries:
            open_ = [e for e in entries if e["run_id"] == run_id and e["status"] == RESERVED]
            for e in open_:
                e.update(status=ABANDONED, settled_at=_now())
            return len(open_)

    def record(self, source_hash: str, run_id: str, purpose: str, **facts: Any) -> None:
        """An event in the ledger's history that spends nothing (e.g. a release's retirement)."""
        with self._locked() as entries:
            entries.append({"source_hash": source_hash, "run_id": run_id, "purpose": purpose, "status": "recorded",
                            "epsilon": 0.0, "delta": 0.0, "at": _now(), **facts})

    def open_reservations(self) -> list[dict[str, Any]]:
        """Reservations not yet committed or cancelled (a running or a dead run's)."""
        return [e for e in self._read() if e["status"] == RESERVED]
