"""Human approval before promotion (params/release.yaml: require_approval).

When every blocking gate has passed, the flow run pauses (Prefect's pause_flow_run with a typed
RunInput: decision, reviewer, note) and waits up to release.approval_timeout_seconds. The run
writes runs/<run_id>/approval.json first: the Prefect flow run and API to resume, and then the
decision. A reviewer answers with `synthgov approve RUN_ID --reviewer NAME [--reject] --note TEXT`
or with the form the Prefect UI shows on the paused flow run. An approval promotes; a rejection
quarantines; no answer in time leaves the candidate unpromoted (quarantined too). The decision,
the reviewer and the note go to MLflow and to the dataset card.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import Field

from synthgov.atomic import write_json_atomic
from synthgov.errors import ReleaseError

log = logging.getLogger("synthgov")
FILE = "approval.json"


class Approval(RunInput):
    """A reviewer's decision on a candidate release that passed every blocking gate."""

    decision: Literal["approve", "reject"] = Field(description="approve: promote it; reject: quarantine it")
    reviewer: str = Field(min_length=1, description="who decides (kept in MLflow and on the card)")
    note: str = Field("", description="why; kept in MLflow and on the reviewer's card")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def not_required() -> dict[str, Any]:
    return {"required": False, "decision": None, "reviewer": None, "note": None, "at": None}


def wait_for_decision(run_dir: Path, run_id: str, timeout_seconds: float, poll_seconds: int = 2) -> dict[str, Any]:
    """Pause the current flow run until a reviewer decides or the timeout passes (flow body only)."""
    from prefect import get_client
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run
    from prefect.runtime import flow_run

    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    path = Path(run_dir) / FILE
    request = {"run_id": run_id, "flow_run_id": str(flow_run.id), "api_url": api_url, "requested_at": _now(),
               "timeout_seconds": timeout_seconds}
    write_json_atomic(path, {"state": "waiting", **request})
    log.info("approval: every blocking gate passed; waiting up to %g s for a reviewer: "
             "synthgov approve %s --reviewer NAME --note TEXT [--reject] (or the Prefect UI)", timeout_seconds, run_id)
    try:
        answer = pause_flow_run(wait_for_input=Approval, timeout=int(timeout_seconds),
                                poll_interval=poll_seconds, key=f"approval-{run_id.lower()}")
        decision = {"required": True, "decision": "approved" if answer.decision == "approve" else "rejected",
                    "reviewer": answer.reviewer, "note": answer.note, "at": _now()}
    except FlowPauseTimeout:
        decision = {"required": True, "decision": "timed out", "reviewer": None,
                    "note": f"no decision within {timeout_seconds:g} s (release.approval_timeout_seconds)",
                    "at": _now()}
    write_json_atomic(path, {"state": "decided", **request, **decision})
    log.info("approval: %s%s", decision["decision"], f" by {decision['reviewer']}" if decision["reviewer"] else "")
    return decision


def answer(workspace: Path, run_id: str, *, reviewer: str, note: str, reject: bool) -> dict[str, Any]:
    """Resume the paused run `run_id` with a reviewer's decision (what `synthgov approve` does)."""
    from uuid import UUID

    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    path = Path(workspace).resolve() / "runs" / run_id / FILE
    if not path.is_file():
        raise ReleaseError(f"{path}: run {run_id} is not waiting for approval (only runs with "
                           "release.require_approval that passed every blocking gate wait)")
    import json

    request = json.loads(path.read_text())
    if request.get("state") != "waiting":
        raise ReleaseError(f"run {run_id} was already decided: {request.get('decision')}"
                           + (f" by {request['reviewer']}" if request.get("reviewer") else ""))
    if not reviewer.strip():
        raise ReleaseError("--reviewer must name who decides")
    run_input = {"decision": "reject" if reject else "approve", "reviewer": reviewer, "note": note}
    with temporary_settings(updates={PREFECT_API_URL: request["api_url"]}):
        resume_flow_run(UUID(request["flow_run_id"]), run_input=run_input)
    return run_input
