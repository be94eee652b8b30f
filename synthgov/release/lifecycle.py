"""The lifecycle of releases: expiry, retirement, and which release may be CURRENT.

Synthetic data is perishable. A release expires `release.ttl_days` after its promotion (the
`expires_at` of its card) and may be retired before that (`synthgov retire`: a withdrawn consent, a
recalled source). Neither changes the release's files: the decisions are kept in
releases/LIFECYCLE.json (retirements and an event history), written atomically under the
releases lock. `releases/CURRENT` is the single source of truth for the live release; whenever it
names an expired or retired release, `enforce` moves it back to the newest valid release, or to
none, and says so loudly (a log error, an event in the history). Statuses: current, superseded,
expired, retired, quarantined.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from synthgov.atomic import write_json_atomic
from synthgov.errors import ReleaseError
from synthgov.locks import locked
from synthgov.release.promote import ReleaseStore

log = logging.getLogger("synthgov")
FILE = "LIFECYCLE.json"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    when = datetime.fromisoformat(stamp)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def expires_at(created_at: str, ttl_days: float) -> str:
    """When a release made at `created_at` expires.

    >>> expires_at("2026-01-01T00:00:00+00:00", 30)
    '2026-01-31T00:00:00+00:00'
    """
    return (_parse(created_at) + timedelta(days=ttl_days)).isoformat(timespec="seconds")


class Lifecycle:
    """Statuses of the releases of a workspace, and the decisions that change them."""

    def __init__(self, workspace: Path, ttl_days: float = 30.0):
        self.store = ReleaseStore(workspace)
        self.ttl_days = ttl_days
        self.path = self.store.releases / FILE

    def _state(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.is_file() else {"retired": {}, "events": []}

    def _event(self, state: dict[str, Any], event: str, release_id: str | None, **detail: Any) -> None:
        state["events"].append({"at": _now().isoformat(timespec="seconds"), "event": event,
                                "release_id": release_id, **detail})

    def card(self, release_id: str) -> dict[str, Any]:
        path = self.store.releases / release_id / "card.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def release_ids(self) -> list[str]:
        """Every promoted release, oldest first (ids start with their UTC timestamp)."""
        if not self.store.releases.is_dir():
            return []
        return sorted(p.name for p in self.store.releases.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / "card.json").is_file())

    def expiry(self, release_id: str) -> datetime | None:
        card = self.card(release_id)
        if card.get("expires_at"):
            return _parse(card["expires_at"])
        created = _parse(card.get("created_at"))
        return created + timedelta(days=self.ttl_days) if created else None

    def status(self, release_id: str, now: datetime | None = None, state: dict[str, Any] | None = None) -> str:
        now, state = now or _now(), state or self._state()
        if release_id in state["retired"]:
            return "retired"
        expiry = self.expiry(release_id)
        if expiry is not None and expiry <= now:
            return "expired"
        return "current" if release_id == self.store.current() else "superseded"

    def valid(self, release_id: str, now: datetime | None = None) -> bool:
        return self.status(release_id, now) in ("current", "superseded")

    def listing(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Every release and quarantined candidate with its status, ε and expiry, newest first."""
        now, state = now or _now(), self._state()
        rows = []
        for rid in self.release_ids():
            card, expiry = self.card(rid), self.expiry(rid)
            rows.append({"release_id": rid, "status": self.status(rid, now, state),
                         "epsilon": card.get("privacy", {}).get("epsilon"),
                         "neighbouring": card.get("privacy", {}).get("neighbouring"),
                         "created_at": card.get("created_at"),
                         "expires_at": expiry.isoformat(timespec="seconds") if expiry else None,
                         **({"retired": state["retired"][rid]} if rid in state["retired"] else {})})
        q = self.store.quarantine_dir
        for run_id in sorted(p.name for p in q.iterdir() if p.is_dir() and not p.name.startswith(".")) \
                if q.is_dir() else []:
            rows.append({"release_id": run_id, "status": "quarantined", "epsilon": None, "neighbouring": None,
                         "created_at": None, "expires_at": None})
        return sorted(rows, key=lambda r: r["release_id"], reverse=True)

    def _fallback(self, now: datetime, state: dict[str, Any], excluded: str) -> str | None:
        """The newest release that is neither expired nor retired (other than `excluded`)."""
        for rid in reversed(self.release_ids()):
            if rid == excluded or rid in state["retired"]:
                continue
            expiry = self.expiry(rid)
            if expiry is None or expiry > now:
                return rid
        return None

    def enforce(self, now: datetime | None = None) -> tuple[str | None, str | None]:
        """Never serve an expired or retired release: move CURRENT if it names one.
        Returns (before, after); equal when nothing had to change."""
        now = now or _now()
        with locked(self.store.root, "releases", wait=600, what="the release store"):
            state, current = self._state(), self.store.current()
            if current is None or self.status(current, now, state) in ("current", "superseded"):
                return current, current
            why = self.status(current, now, state)
            successor = self._fallback(now, state, current)
            self.store.set_current(successor)
            self._event(state, f"current {why}", current, moved_to=successor)
            write_json_atomic(self.path, state)
        if successor is None:
            log.error("release %s is %s and no valid release can replace it: NOTHING IS CURRENT; run the "
                      "pipeline to make a new release", current, why)
        else:
            log.warning("release %s is %s: CURRENT moved back to release %s", current, why, successor)
        return current, successor

    def retire(self, release_id: str, reason: str, by: str) -> tuple[str | None, str | None]:
        """Mark a release retired (its files stay) and move CURRENT off it. Returns (before, after)."""
        if not reason.strip():
            raise ReleaseError("retiring a release needs a reason (--reason TEXT), kept in its history")
        if release_id not in self.release_ids():
            raise ReleaseError(f"{self.store.releases / release_id}: no such release (see `synthgov releases`)")
        now = _now()
        with locked(self.store.root, "releases", wait=600, what="the release store"):
            state, current = self._state(), self.store.current()
            if release_id in state["retired"]:
                raise ReleaseError(f"release {release_id} was already retired on "
                                   f"{state['retired'][release_id]['at']}")
            state["retired"][release_id] = {"at": now.isoformat(timespec="seconds"), "reason": reason, "by": by}
            after = current
            if current == release_id:
                after = self._fallback(now, state, release_id)
                self.store.set_current(after)
            self._event(state, "retired", release_id, reason=reason, by=by, current_before=current,
                        current_after=after)
            write_json_atomic(self.path, state)
        return current, after
