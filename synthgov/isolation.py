"""Run a stage of a flow in a fresh child process, so that its memory goes back to the system.

A flow run executes its stages in one process, and the process keeps much of each stage's peak
after the stage ends (freed pages stay in the C allocator's arenas and Python's pools). On a large
table the run's peak then outgrows its largest stage's: the flow at 100 times Adult (3.3M rows)
peaked at 4.8 GB where no stage alone went over 3.2 GB. With operations.isolate_stages (`auto`: a
source file of at least operations.isolate_source_mib; `always`; `never`) the flow runs each stage
from ingest to attack in a spawned child that exits when the stage ends, at the cost of the
child's imports (a few seconds a stage, which is why a small table stays in the flow's process).

The child logs through the flow's loggers (its records are forwarded and handled in the task's
own thread, so Prefect files them under the task run); its exception, or its death (killed for
memory), is raised in the flow; and it dies with the flow (interrupted, cancelled or killed).
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import queue
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable

from synthgov.errors import SynthgovError
from synthgov.workspace import Workspace


class StageProcessError(SynthgovError):
    """A stage's child process died without a result (killed, most often for memory)."""


def isolating(workspace: str | Path, params) -> bool:
    """Whether this run's stages run in child processes (operations.isolate_stages)."""
    ops = params.operations
    if ops.isolate_stages != "auto":
        return ops.isolate_stages == "always"
    source = Workspace(workspace).path(params.data.source)
    try:
        return source.stat().st_size >= ops.isolate_source_mib * 2**20
    except OSError:  # not there (yet): ingest names it in its own error
        return False


_RECORDS: "multiprocessing.Queue | None" = None  # in a child: where its log records go


def _child_init(records: "multiprocessing.Queue") -> None:
    global _RECORDS
    _RECORDS = records
    if sys.platform == "linux":  # the stage dies with the flow: a killed run leaves no stage behind
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    """In the child, once `fn`'s modules are imported (Prefect configures logging on import):
    every record of INFO and above goes to the parent, which applies its own handlers and levels."""
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(_RECORDS)]
    root.setLevel(logging.INFO)  # what the flow shows; libraries' debug chatter stays in the child
    ours = logging.getLogger("synthgov")
    ours.handlers[:], ours.propagate, ours.level = [], True, logging.NOTSET
    return fn(*args, **kwargs)


def _forward(record: logging.LogRecord) -> None:
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


def run_isolated(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in a spawned child process; its result, or its exception raised here.

    `fn` must be importable by name (a module-level function) and its arguments and result
    picklable. `name` (the stage) goes into the error when the child dies without a result.
    """
    ctx = multiprocessing.get_context("spawn")
    records = ctx.Queue()
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_child_init, initargs=(records,)) as pool:
        future = pool.submit(_call, fn, args, kwargs)
        try:
            while True:  # forward the child's log records from this (the task's) thread
                try:
                    _forward(records.get(timeout=0.2))
                except queue.Empty:
                    if future.done():
                        break
        except BaseException:  # interrupted or cancelled: the stage must not outlive the run
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            raise
        while True:  # what was still in flight when the result came
            try:
                _forward(records.get_nowait())
            except queue.Empty:
                break
        try:
            return future.result()
        except BrokenProcessPool:
            raise StageProcessError(
                f"stage {name}: its process died without a result (killed, most often for memory); "
                "nothing of it was kept. Give the machine more memory, or lower validate.max_rows, "
                "train.max_batch or attack.subsample") from None
        finally:
            records.close()
