"""synthgov.parallel: the task runner chosen by name, and the fan-out outside Dask."""

from __future__ import annotations

import pytest

from synthgov.errors import ParamsError
from synthgov.parallel import fan_out, on_dask, task_runner


def test_default_runner_is_the_flows_own():
    assert task_runner("default") is None


def test_dask_runner_is_a_local_cluster_of_single_threaded_processes():
    runner = task_runner("dask", workers=2)
    assert type(runner).__name__ == "DaskTaskRunner"
    assert runner.cluster_kwargs["n_workers"] == 2 and runner.cluster_kwargs["threads_per_worker"] == 1
    assert task_runner("dask", address="tcp://127.0.0.1:8786").address == "tcp://127.0.0.1:8786"


@pytest.mark.parametrize("name, address, message", [("spark", None, "unknown"),
                                                    ("default", "tcp://127.0.0.1:8786", "needs --task-runner dask")])
def test_bad_runner_choices_say_what_to_do(name, address, message):
    with pytest.raises(ParamsError, match=message):
        task_runner(name, address)


def test_fan_out_outside_dask_calls_each_part_in_order():
    calls = []

    def part(name, value):
        calls.append(name)
        return value * 2

    assert not on_dask()
    assert fan_out({"a": (part, ("a", 1)), "b": (part, ("b", 2))}) == {"a": 2, "b": 4}
    assert calls == ["a", "b"]
