"""synthgov: a governed pipeline for differentially private synthetic tabular data.

Importing the package turns off the telemetry of every tool it drives (Prefect, MLflow, DVC,
Great Expectations), so the product runs offline. A variable already set by the user wins.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "GIT_PYTHON_REFRESH": "quiet",
}

for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)
