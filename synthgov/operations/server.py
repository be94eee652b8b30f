"""A Prefect server for one workspace: started here on 127.0.0.1, or the one PREFECT_API_URL names.

Schedules and event triggers fire only against a running server (`prefect server start`), never
against the temporary one a plain flow call starts. The local server keeps its SQLite database in
<workspace>/.synthgov/prefect/, with analytics off.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from synthgov.errors import WorkspaceError

SERVER_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
              "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "10",
              "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "3",
              "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME": "P1D"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(api_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(home: Path, port: int | None = None, timeout: float = 180) -> tuple[subprocess.Popen, str]:
    """Start `prefect server start` on 127.0.0.1 with its database under `home`; wait until it
    answers. Returns the process and its API URL."""
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **SERVER_ENV, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port), "--analytics-off", "--log-level", "WARNING"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api_url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WorkspaceError(f"the Prefect server exited with code {proc.returncode}; see {home / 'server.log'}")
        if healthy(api_url):
            return proc, api_url
        time.sleep(0.5)
    stop(proc)
    raise WorkspaceError(f"the Prefect server did not answer within {timeout:g} s; see {home / 'server.log'}")


def stop(proc: subprocess.Popen | None, timeout: float = 30) -> None:
    """Stop a process this package started (and its children), politely then firmly."""
    if proc is None or proc.poll() is not None:
        return
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
