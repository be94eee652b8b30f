"""Fixtures of the integration tests that start real child processes."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def api_env(prefect_harness) -> dict[str, str]:
    """The environment of a child process: the test's Prefect server, telemetry off."""
    import prefect.settings

    return {**os.environ, "PREFECT_API_URL": prefect.settings.PREFECT_API_URL.value(), "PYTHONUNBUFFERED": "1"}
