"""A stage run in a child process of its own: its result, its logs and its errors come back."""

from __future__ import annotations

import logging
import os
import pickle

import prefect  # noqa: F401  (a stage's child imports Prefect, which configures logging on import)
import pytest

from synthgov.errors import AuditFailedError, GateFailedError
from synthgov.isolation import StageProcessError, isolating, run_isolated


def _logs_and_returns_its_pid(message: str) -> int:
    logging.getLogger("synthgov").info("child says %s", message)
    logging.getLogger("synthgov").debug("below the parent's level")
    return os.getpid()


def _fails_the_audit() -> None:
    from synthgov.checks import CheckResult

    raise AuditFailedError([CheckResult.evaluate("audit_contract", 0.5, 1.0, goal="maximize", severity="block",
                                                 stage="audit")])


def _dies() -> None:
    os._exit(9)  # as the kernel's OOM killer leaves it: no result, no exception


def _writes_its_pid_and_waits(path: str) -> None:
    import time
    from pathlib import Path

    Path(path).write_text(str(os.getpid()))
    time.sleep(120)


def test_a_stage_dies_with_its_flow(tmp_path):
    """A flow process killed outright (SIGKILL: no cleanup) takes its running stage with it."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    pid_file = tmp_path / "child.pid"
    flow = subprocess.Popen([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1]); from synthgov.isolation import run_isolated; "
        "from tests.unit.test_isolation import _writes_its_pid_and_waits as f; run_isolated('probe', f, sys.argv[2])"),
        str(REPO), str(pid_file)])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and flow.poll() is None, "the stage never started"
        time.sleep(0.1)
    child = int(pid_file.read_text())
    os.kill(flow.pid, signal.SIGKILL)
    flow.wait()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{child}") and "zombie" not in _state(child):
        assert time.monotonic() < deadline, "the stage outlived its flow"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/status").read().lower()
    except OSError:
        return "zombie"  # gone between the two reads


def test_a_stage_in_a_child_returns_its_result_and_logs_through_the_parent(caplog):
    caplog.set_level(logging.INFO, logger="synthgov")
    pid = run_isolated("probe", _logs_and_returns_its_pid, "hello")
    assert pid != os.getpid()
    said = [r for r in caplog.records if r.getMessage() == "child says hello"]
    assert len(said) == 1 and said[0].process == pid  # the child's record, handled here
    assert not [r for r in caplog.records if "below the parent's level" in r.getMessage()]


def test_a_child_raises_its_error_here_and_a_dead_child_is_named():
    with pytest.raises(AuditFailedError) as err:
        run_isolated("audit", _fails_the_audit)
    assert err.value.failed[0].name == "audit_contract" and "nothing was trained" in str(err.value)
    with pytest.raises(StageProcessError, match="stage attack: its process died without a result"):
        run_isolated("attack", _dies)


def test_gate_errors_survive_pickling():
    from synthgov.checks import CheckResult

    check = CheckResult.evaluate("tstr_ratio", 0.5, 0.9, goal="maximize", severity="block", stage="validate")
    for error in (GateFailedError([check], quarantined="q/1"), AuditFailedError([check])):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error) and again.failed[0].name == "tstr_ratio"


def test_isolation_is_decided_by_the_source_size(params, tmp_path):
    source = tmp_path / "data" / "source.csv"
    source.parent.mkdir()
    source.write_bytes(b"x" * 2048)
    ops = params.operations

    def with_(**changes):
        return params.model_copy(update={"data": params.data.model_copy(update={"source": "data/source.csv"}),
                                         "operations": ops.model_copy(update=changes)})

    assert not isolating(tmp_path, with_(isolate_source_mib=1.0))
    assert isolating(tmp_path, with_(isolate_source_mib=0.001))
    assert isolating(tmp_path, with_(isolate_stages="always", isolate_source_mib=1.0))
    assert not isolating(tmp_path, with_(isolate_stages="never", isolate_source_mib=0.001))
    assert not isolating(tmp_path / "elsewhere", with_(isolate_source_mib=0.0))  # no source yet: ingest says so
