"""The MLflow model registry as a reviewer's view of the releases, never their source of truth.

Every promoted release is a version of the registered model `synthgov-release`, tagged with what a
reviewer asks first (ε, δ, the neighbouring relation, the source hash, the code commit, the
release path, the gate summary, the approver) and described by its dataset card. The alias
`current` mirrors releases/CURRENT: anyone who can edit the registry can move an alias, so every
run (and every retirement or expiry) compares the two, puts the alias back where CURRENT says and
reports the mismatch. A retired or expired version is tagged with its status.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("synthgov")
REGISTERED_NAME = "synthgov-release"
ALIAS = "current"


def _client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _ensure_model(client) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(REGISTERED_NAME)
    except MlflowException:
        try:
            client.create_registered_model(
                REGISTERED_NAME, description="Promoted synthgov releases. The alias 'current' mirrors "
                "releases/CURRENT in the workspace, which decides; each version's description is its dataset card.")
        except MlflowException:  # created meanwhile by a concurrent run
            pass


def register(uri: str, parent_run_id: str, release_id: str, artifact_path: str, tags: dict[str, str],
             description: str) -> str:
    """A new version for a promoted release, tagged and described; the alias `current` moves to it."""
    client = _client(uri)
    _ensure_model(client)
    run = client.get_run(parent_run_id)
    version = client.create_model_version(
        REGISTERED_NAME, source=f"{run.info.artifact_uri}/{artifact_path}", run_id=parent_run_id,
        tags={"release_id": release_id, **{k: str(v)[:5000] for k, v in tags.items()}},
        description=description[:60000])
    client.set_registered_model_alias(REGISTERED_NAME, ALIAS, version.version)
    return version.version


def _versions(client) -> list[Any]:
    from mlflow.exceptions import MlflowException

    try:
        return client.search_model_versions(f"name = '{REGISTERED_NAME}'", max_results=10000)
    except MlflowException:
        return []


def version_of(uri: str, release_id: str) -> str | None:
    for v in _versions(_client(uri)):
        if v.tags.get("release_id") == release_id:
            return v.version
    return None


def aliased_release(uri: str) -> str | None:
    """The release id the alias `current` points at, or None."""
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        return client.get_model_version_by_alias(REGISTERED_NAME, ALIAS).tags.get("release_id")
    except MlflowException:
        return None


def sync_alias(uri: str, current: str | None, report: bool = True) -> str | None:
    """Make the alias `current` name the version of releases/CURRENT (or no version). Returns a
    description of the mismatch it repaired, or None when they agreed. `report=False` when the
    caller has just moved CURRENT itself (a retirement): the alias follows without a warning."""
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    aliased = aliased_release(uri)
    if aliased == current:
        return None
    target = version_of(uri, current) if current else None
    if current and target is None:
        return None  # a release from before this store (or another store): nothing to point at
    if target is None:
        try:
            client.delete_registered_model_alias(REGISTERED_NAME, ALIAS)
        except MlflowException:
            return None
    else:
        client.set_registered_model_alias(REGISTERED_NAME, ALIAS, target)
    message = (f"the MLflow alias '{ALIAS}' of {REGISTERED_NAME} named release {aliased}, but releases/CURRENT "
               f"names {current or 'none'}: the alias was moved back (releases/CURRENT decides)")
    if report:
        log.warning(message)
    return message


def mark(uri: str, release_id: str, status: str, **facts: str) -> None:
    """Tag a release's version with its lifecycle status (retired, expired) and the facts."""
    version = version_of(uri, release_id)
    if version is None:
        return
    client = _client(uri)
    client.set_model_version_tag(REGISTERED_NAME, version, "synthgov.status", status)
    for k, v in facts.items():
        client.set_model_version_tag(REGISTERED_NAME, version, f"synthgov.{k}", str(v)[:5000])
