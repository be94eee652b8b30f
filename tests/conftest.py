"""Shared fixtures: the real params, a small real Adult sample, and one Prefect test harness."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):  # two workers on two cores: one math thread each
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import synthgov  # noqa: F401  (turns telemetry off before any tool is imported)

REPO = Path(__file__).resolve().parent.parent


# The slowest test files first, so that two workers end together (longest first); xdist's own
# order (--no-loadscope-reorder in pyproject.toml turns it off) starts the files with the most
# tests first, which left the ten-minute SIGKILL test to one worker at the end. The rest keep
# their collection order.
SLOWEST_FIRST = [f"tests/integration/{name}.py" for name in (
    "test_faults", "test_evaluate", "test_operations", "test_scale", "test_bad_inputs", "test_own_tables",
    "test_concurrency", "test_approval", "test_pipeline", "test_browser")] + ["tests/unit/validation/test_validate.py"]


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session", autouse=True)
def _isolated_homes(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    yield


@pytest.fixture(scope="session")
def prefect_harness(_isolated_homes):
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def params():
    from synthgov.params import load_params

    return load_params(REPO / "params")


@pytest.fixture(scope="session")
def adult(params):
    """The full real Adult train and test tables, conformed to the declared schema."""
    from synthgov.ingest.readers import adult_paths, conform, read_adult

    train_path, test_path = adult_paths()
    train, _ = conform(read_adult(train_path), params.schema_, "adult.data")
    test, _ = conform(read_adult(test_path), params.schema_, "adult.test")
    return train, test


@pytest.fixture()
def params_dir(tmp_path) -> Path:
    """A writable copy of the repository's params/."""
    target = tmp_path / "params"
    shutil.copytree(REPO / "params", target)
    return target


def seeded(seed: int = 0):
    """Test-mode DP randomness (seeded: reproducible, not private), for tests of the synthesizer."""
    from synthgov.privacy.randomness import dp_randomness

    return dp_randomness(True, seed)


def small(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    return df.sample(n=n, random_state=seed).reset_index(drop=True)

