"""Human approval before promotion, against the Prefect test harness: the flow run pauses with a
typed input after the gates pass; approve -> promoted, reject -> quarantined, no answer in time ->
not promoted. Real runs on a small real sample (the mechanics, not the quality)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from synthgov.cli import main
from tests.integration.test_faults import _workspace

pytestmark = pytest.mark.integration


def _start(ws: Path, summary: str) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def target():
        out["code"] = main(["run", "--params-dir", str(ws / "params"), "--workspace", str(ws),
                            "--summary-json", str(ws / summary)])

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def _waiting(ws: Path, known: set[str], timeout: float = 400) -> str:
    """The run id of the next run that waits for approval."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (ws / "runs").glob("*/approval.json"):
            request = json.loads(path.read_text())
            if request["state"] == "waiting" and request["run_id"] not in known:
                return request["run_id"]
        time.sleep(0.5)
    raise AssertionError("no run asked for approval")


def _flow_state(run_id: str, ws: Path):
    from prefect import get_client

    summary_flow = json.loads((ws / "runs" / run_id / "approval.json").read_text())
    with get_client(sync_client=True) as client:
        return client.read_flow_run(summary_flow["flow_run_id"]).state


def test_pause_then_approve_reject_or_time_out(prefect_harness, adult, tmp_path, capsys):
    from mlflow import MlflowClient

    ws = _workspace(tmp_path, adult)
    release = ws / "params" / "release.yaml"
    release.write_text(yaml.safe_dump({"require_approval": True, "approval_timeout_seconds": 600}))
    client = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}")

    # Run 1: pause -> approve -> promoted
    thread, out = _start(ws, "s1.json")
    run_id = _waiting(ws, set())
    assert _flow_state(run_id, ws).is_paused()
    assert not (ws / "releases" / "CURRENT").exists()  # nothing is promoted while it waits
    assert main(["approve", run_id, "--reviewer", "ana", "--note", "checked the gates", "--workspace", str(ws)]) == 0
    thread.join(300)
    s1 = json.loads((ws / "s1.json").read_text())
    assert out["code"] == 0 and s1["promoted"], s1
    card = json.loads((ws / "releases" / s1["release_id"] / "card.json").read_text())
    assert card["approval"]["decision"] == "approved" and card["approval"]["reviewer"] == "ana"
    review_card = json.loads((ws / "review" / s1["release_id"] / "card.json").read_text())
    assert review_card["approval"]["note"] == "checked the gates"
    tags = client.get_run(s1["mlflow_run_id"]).data.tags
    assert tags["synthgov.approval"] == "approved" and tags["synthgov.approval.reviewer"] == "ana"
    # a decided run cannot be decided again
    assert main(["approve", run_id, "--reviewer", "bo", "--note", "late", "--workspace", str(ws)]) == 2
    assert "already decided" in capsys.readouterr().err

    # Run 2: pause -> reject -> quarantined, the first release stays current
    thread, out = _start(ws, "s2.json")
    run_id = _waiting(ws, {s1["run_id"]})
    assert main(["approve", run_id, "--reject", "--reviewer", "ana", "--note", "too close to a real row",
                 "--workspace", str(ws)]) == 0
    thread.join(300)
    s2 = json.loads((ws / "s2.json").read_text())
    assert out["code"] == 1 and not s2["promoted"] and s2["outcome"] == "not approved"
    assert (ws / "quarantine" / run_id / "synthetic.parquet").is_file()
    assert (ws / "releases" / "CURRENT").read_text().strip() == s1["release_id"]
    assert client.get_run(s2["mlflow_run_id"]).data.tags["synthgov.approval"] == "rejected"
    assert _flow_state(run_id, ws).is_failed()

    # Run 3: pause -> nobody answers within the timeout -> not promoted
    release.write_text(yaml.safe_dump({"require_approval": True, "approval_timeout_seconds": 4}))
    thread, out = _start(ws, "s3.json")
    thread.join(400)
    s3 = json.loads((ws / "s3.json").read_text())
    assert out["code"] == 1 and not s3["promoted"] and s3["approval"]["decision"] == "timed out"
    assert (ws / "quarantine" / s3["run_id"]).is_dir()
    assert (ws / "releases" / "CURRENT").read_text().strip() == s1["release_id"]
