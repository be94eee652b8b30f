"""`synthgov serve`: operate one workspace with one command.

Starts a local Prefect server (or connects to PREFECT_API_URL / --api-url), creates the work pool
and the deployments of the workspace's prefect.yaml, starts a process worker on the pool, and
polls the incoming folder for new sources. Ctrl-C (SIGINT or SIGTERM) stops the watcher, the
worker and the server it started, in that order. `--until SECONDS` stops after that long;
`--once` handles what is in incoming/ now, waits for the runs it triggered to end, and stops.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from prefect.settings import PREFECT_API_URL, temporary_settings

from synthgov.operations import deploy, server
from synthgov.operations.watcher import Watcher

log = logging.getLogger("synthgov")


def start_worker(pool: str, workspace: Path) -> subprocess.Popen:
    """A Prefect process worker on `pool`; it runs each flow run in a subprocess in the workspace."""
    logs = Path(workspace) / ".synthgov" / "worker.log"
    logs.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process"],
                            env=os.environ.copy(), stdout=open(logs, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=workspace)


def _finished(flow_run_ids: list[str]) -> bool:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return all(client.read_flow_run(fid).state.is_final() for fid in flow_run_ids)


def _runs_triggered_since(deployment_id: str, since: float) -> list[str]:
    from datetime import datetime, timezone

    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
    start = datetime.fromtimestamp(since, timezone.utc)
    return [str(r.id) for r in runs if r.created and r.created >= start]


def serve(workspace: Path, *, api_url: str | None = None, port: int | None = None, pool: str | None = None,
          once: bool = False, until: float | None = None, poll_seconds: float = 1.0) -> dict[str, Any]:
    """Operate `workspace` until interrupted (or `until` seconds, or `once`). Returns what it did."""
    from synthgov.params import load_params

    workspace = Path(workspace).resolve()
    params = load_params(workspace / "params")
    ops = params.operations
    started: list[subprocess.Popen] = []
    stop = {"now": False}

    def _stop(signum, frame):  # noqa: ARG001
        stop["now"] = True

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        api_url = api_url or os.environ.get("PREFECT_API_URL")
        if not api_url:
            proc, api_url = server.start_server(workspace / ".synthgov" / "prefect", port)
            started.append(proc)
            log.info("serve: Prefect server at %s (UI: %s)", api_url, api_url.removesuffix("/api"))
        os.environ["PREFECT_API_URL"] = api_url  # for the worker and the flow runs it starts
        with temporary_settings(updates={PREFECT_API_URL: api_url}):  # for this process's clients
            return _operate(workspace, ops, pool, once, until, poll_seconds, stop, started, api_url)
    finally:
        for proc in reversed(started):
            server.stop(proc)
        for s, handler in previous.items():
            signal.signal(s, handler)


def _operate(workspace: Path, ops, pool: str | None, once: bool, until: float | None, poll_seconds: float,
             stop: dict[str, bool], started: list[subprocess.Popen], api_url: str) -> dict[str, Any]:
    """Deploy, start the worker, and watch until told to stop."""
    ids = deploy.deploy(workspace, pool)
    pool_name = pool or deploy.read_spec(workspace)["deployments"][0]["work_pool"]["name"]
    log.info("serve: deployments %s on work pool %s", sorted(ids), pool_name)
    started.append(start_worker(pool_name, workspace))
    watcher = Watcher(workspace, ops.incoming, ops.sources, ops.settle_seconds)
    log.info("serve: watching %s (drop CSV or Parquet files there); Ctrl-C stops", watcher.incoming)
    t0, announced = time.time(), []
    deadline = None if until is None else time.monotonic() + until
    while not stop["now"] and (deadline is None or time.monotonic() < deadline):
        announced += watcher.poll()
        if once and not watcher.pending() and time.time() - t0 > ops.settle_seconds:
            triggered = _runs_triggered_since(ids.get("on-new-source", ""), t0) if announced else []
            if not announced or (triggered and len(triggered) >= len(announced) and _finished(triggered)):
                break
        time.sleep(poll_seconds)
    return {"api_url": api_url, "deployments": ids, "announced": announced}
