"""Where a run keeps its MLflow records: the store's URI and the artifact root."""

from __future__ import annotations

from pathlib import Path

from synthgov.release.tracking import artifact_root, redact, resolve_uri


def test_the_store_given_wins_then_the_environment_then_sqlite_in_the_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://synthgov@db/mlflow")
    assert resolve_uri(None, tmp_path) == "postgresql://synthgov@db/mlflow"
    assert resolve_uri("postgresql://other@db/m", tmp_path) == "postgresql://other@db/m"


def test_artifact_root_is_a_uri(tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTHGOV_ARTIFACT_ROOT", raising=False)
    assert artifact_root(tmp_path) == (tmp_path / "mlartifacts").resolve().as_uri()
    assert artifact_root(tmp_path, str(tmp_path / "store")) == (tmp_path / "store").resolve().as_uri()
    monkeypatch.setenv("SYNTHGOV_ARTIFACT_ROOT", "s3://bucket/synthgov/")
    assert artifact_root(tmp_path) == "s3://bucket/synthgov"
    assert Path(artifact_root(tmp_path, "rel").removeprefix("file://")).is_absolute()


def test_passwords_never_shown():
    assert redact("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"
