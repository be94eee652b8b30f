"""Operating synthgov as an operations team would: a real Prefect server on 127.0.0.1, the work pool
and both deployments of prefect.yaml, a process worker, and the new-source watcher. A new CSV
dropped into incoming/ becomes a Completed, promoted run whose MLflow run carries the new source's
hash and the event that triggered it; the same content again triggers nothing; the scheduler lists
the nightly's upcoming runs; a nightly on an unchanged source spends epsilon = 0 and promotes; two
files dropped at once run one after the other. Latencies are printed (pytest -s)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from synthgov.ingest.readers import conform, content_hash, read_table
from tests.conftest import REPO, small
from tests.integration.test_faults import _workspace

pytestmark = [pytest.mark.integration, pytest.mark.operations]


def _wait(condition, timeout: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture()
def operated(adult, tmp_path):
    """A workspace with a running Prefect server, its deployments, a worker and a watcher."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from synthgov.operations import deploy, server
    from synthgov.operations.serve import start_worker
    from synthgov.operations.watcher import Watcher

    ws = _workspace(tmp_path, adult)
    shutil.copy(REPO / "prefect.yaml", ws / "prefect.yaml")
    proc, url = server.start_server(tmp_path / "prefect-home")
    worker = None
    old = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url  # the worker and its flow runs inherit it
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            ids = deploy.deploy(ws)
            worker = start_worker("synthgov", ws)
            yield ws, ids, Watcher(ws, settle_seconds=1.0)
    finally:
        server.stop(worker)
        server.stop(proc)
        if old is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = old


def _runs(deployment_id: str):
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                                     sort=FlowRunSort.EXPECTED_START_TIME_ASC)


def _drop(ws: Path, df: pd.DataFrame, name: str) -> None:
    """Write elsewhere, then rename into place: how a complete file should arrive."""
    tmp = ws / "incoming" / f".{name}.part"
    df.to_csv(tmp, index=False)
    os.replace(tmp, ws / "incoming" / name)


def _watch_until(watcher, count: int, timeout: float = 60):
    announced = []
    _wait(lambda: (announced.extend(watcher.poll()) or len(announced) >= count), timeout, "the watcher")
    return announced


def _parent_run(ws: Path, run_id: str):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}")
    exp = client.get_experiment_by_name("synthgov")
    runs = client.search_runs([exp.experiment_id], f"tags.`synthgov.run_id` = '{run_id}'")
    return next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)


def _summary_of(ws: Path, flow_run) -> dict:
    """The synthgov summary of the run a Prefect flow run made (by its MLflow tag)."""
    for path in (ws / "runs").glob("*/summary.json"):
        summary = json.loads(path.read_text())
        run = _parent_run(ws, summary["run_id"])
        if run.data.tags.get("synthgov.prefect_flow_run_id") == str(flow_run.id):
            return summary
    raise AssertionError(f"no synthgov run for flow run {flow_run.id}")


def test_new_sources_and_the_nightly_operate_end_to_end(operated, adult, params):
    from prefect.deployments import run_deployment

    ws, ids, watcher = operated
    on_new, nightly = ids["on-new-source"], ids["nightly"]
    new = small(adult[1], 2400, seed=5)
    new.to_csv(ws / "expected.csv", index=False)
    expected_hash = content_hash(conform(read_table(ws / "expected.csv"), params.schema_, "x")[0])

    # A new file: the watcher announces it, the trigger starts a run, the run promotes
    dropped, dropped_wall = time.monotonic(), time.time()
    _drop(ws, new, "new.csv")
    announced = _watch_until(watcher, 1)
    flow_run = _wait(lambda: next(iter(_runs(on_new)), None), 300, "the triggered flow run")
    started = _wait(lambda: _runs(on_new)[0].start_time, 300, "the run to start")
    done = _wait(lambda: (r := _runs(on_new)[0]).state.is_final() and r, 600, "the run to end")
    finished = time.monotonic()
    assert done.state.is_completed(), done.state.message
    summary = _summary_of(ws, flow_run)
    assert summary["promoted"] is True and summary["source_hash"] == expected_hash
    tags = _parent_run(ws, summary["run_id"]).data.tags
    assert tags["synthgov.source_hash"] == expected_hash
    assert tags["synthgov.trigger"].startswith("event synthgov.source.arrived ")
    assert tags["synthgov.prefect_deployment"] == "on-new-source"
    assert Path(announced[0]["path"]).name.startswith(announced[0]["sha256"])
    print(f"\nlatency: file dropped -> flow run started {started.timestamp() - dropped_wall:.1f} s; "
          f"-> run completed and promoted {finished - dropped:.1f} s")

    # The same content again: handled, and nothing is triggered
    _drop(ws, new, "again.csv")
    _wait(lambda: watcher.poll() == [] and not (ws / "incoming" / "again.csv").exists(), 30, "the duplicate")
    time.sleep(8)
    assert len(_runs(on_new)) == 1

    # The scheduler lists the nightly's upcoming runs
    upcoming = _wait(lambda: [r for r in _runs(nightly) if r.state.is_scheduled()], 60, "scheduled nightly runs")
    assert upcoming[0].expected_start_time.hour == 2

    # A nightly on the unchanged source: a fresh table from the same model, epsilon 0, promoted
    ledger_before = (ws / "ledger" / "privacy_ledger.json").read_text()
    nightly_run = run_deployment("synthgov-pipeline/nightly", timeout=600)
    assert nightly_run.state.is_completed(), nightly_run.state.message
    nightly_summary = _summary_of(ws, nightly_run)
    assert nightly_summary["promoted"] and nightly_summary["epsilon_this_run"] == 0.0
    assert nightly_summary["model_reused_from"] == summary["release_id"]
    assert _parent_run(ws, nightly_summary["run_id"]).data.metrics["epsilon"] == 0.0
    assert (ws / "ledger" / "privacy_ledger.json").read_text() == ledger_before

    # Two files at once: two runs, one after the other, both complete
    _drop(ws, small(adult[1], 2400, seed=6), "b.csv")
    _drop(ws, small(adult[1], 2400, seed=7), "c.csv")
    _watch_until(watcher, 2)
    pair = _wait(lambda: (rs := _runs(on_new)[1:]) and len(rs) == 2 and all(r.state.is_final() for r in rs) and rs,
                 900, "the two runs")
    assert all(r.state.is_completed() for r in pair), [r.state.message for r in pair]
    first, second = sorted(pair, key=lambda r: r.start_time)
    assert first.end_time <= second.start_time
