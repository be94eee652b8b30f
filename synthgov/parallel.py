"""Where the heavy checks run: in the flow's process (the default), or fanned out on Dask.

`--task-runner dask` runs a flow with prefect-dask's DaskTaskRunner: a LocalCluster of one process
per core by default, or an existing scheduler (`--dask-address tcp://host:8786`; its workers must
see the workspace's folder and the tracking store). The validate and attack stages then run at
the same time on Dask workers, and inside them `fan_out` spreads their independent parts
(fidelity and utility; the subgroup utility and every protected attribute's fairness bootstrap;
leakage, membership inference and the re-identification risks) over the cluster. Every part
draws from its own seeded generator and gets the same inputs, so a run gives the same numbers,
bit for bit, with and without Dask, for the same count of math threads per process (Dask's
workers use one; BLAS sums depend on the count).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from typing import Any, Callable

RUNNERS = ("default", "dask")


def task_runner(name: str = "default", address: str | None = None, workers: int | None = None):
    """The Prefect task runner for `name` (None: the flow's own), with a clear error if Dask's
    extra is missing."""
    from synthgov.errors import ParamsError

    if name == "default":
        if address:
            raise ParamsError("--dask-address needs --task-runner dask")
        return None
    if name != "dask":
        raise ParamsError(f"--task-runner {name!r}: unknown; use one of {', '.join(RUNNERS)}")
    try:
        from prefect_dask import DaskTaskRunner
    except ModuleNotFoundError:
        raise ParamsError("--task-runner dask needs prefect-dask: install synthgov with its 'scale' extra "
                          "(pip install -c constraints.txt -e '.[scale]')") from None
    if address:
        return DaskTaskRunner(address=address)
    n = workers or min(os.cpu_count() or 1, 4)
    # one single-threaded process per core: the parts are CPU-bound numpy/scikit-learn code
    return DaskTaskRunner(cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


def on_dask() -> bool:
    """Whether this code runs in a task on a Dask worker."""
    if "distributed" not in sys.modules:  # never imported: not a worker (and no import cost)
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def worker_logging() -> None:
    """On a Dask worker, synthgov's log lines go to the worker's stderr as they do in the CLI."""
    root = logging.getLogger("synthgov")
    if not on_dask() or any(getattr(h, "_synthgov", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler._synthgov = True
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def fan_out(calls: dict[str, tuple[Callable[..., Any], tuple]]) -> dict[str, Any]:
    """Call every `fn(*args)` in `calls`; on a Dask worker as cluster tasks at once (the calling
    task leaves its worker slot while it waits), elsewhere one after the other. Same results."""
    if len(calls) < 2 or not on_dask():
        return {name: fn(*args) for name, (fn, args) in calls.items()}
    from distributed import worker_client

    logging.getLogger("synthgov").info("fanned out on Dask: %s", ", ".join(calls))
    tag = uuid.uuid4().hex[:8]
    with worker_client() as client:
        futures = {name: client.submit(fn, *args, key=f"synthgov-{name}-{tag}", pure=False)
                   for name, (fn, args) in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def flow_fans_out() -> bool:
    """Whether the running flow's task runner is Dask's (then stages are submitted to it)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and type(ctx.task_runner).__name__ == "DaskTaskRunner"


def settle(submitted: list[tuple[str, Any]], done: Callable[[str], None] | None = None) -> None:
    """Wait for every submitted stage (name, Prefect future); call `done(name)` for each that
    completed, then raise the first failure, if any (the other stages have finished by then)."""
    failure = None
    for name, future in submitted:
        future.wait()
        try:
            future.result()
        except BaseException as exc:
            failure = failure or exc
            continue
        if done is not None:
            done(name)
    if failure is not None:
        raise failure
