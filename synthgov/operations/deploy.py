"""The work pool and the deployments of one workspace, as prefect.yaml declares them.

prefect.yaml (in the workspace) is the one place where the deployments are declared: their names,
the nightly's cron schedule, the new-source event trigger and how it maps the event to flow
parameters, their concurrency limits and the work pool. `deploy` creates the pool (a process
pool) if it is missing and registers every deployment against the running server, with the
workspace's absolute path as the flow's `workspace` parameter and as the worker's working folder.
The flow is addressed by module path (synthgov.flows.pipeline.pipeline), so the worker needs only
the installed package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from synthgov.errors import ParamsError


def read_spec(workspace: Path) -> dict[str, Any]:
    """prefect.yaml of the workspace, checked for what `deploy` needs."""
    path = Path(workspace) / "prefect.yaml"
    if not path.is_file():
        raise ParamsError(f"{path}: missing; copy prefect.yaml from the synthgov repository into the workspace "
                          "(synthgov init writes one)")
    spec = yaml.safe_load(path.read_text()) or {}
    names = [d.get("name") for d in spec.get("deployments", [])]
    if not names or any(not d.get("work_pool", {}).get("name") for d in spec["deployments"]):
        raise ParamsError(f"{path}: every deployment needs a name and a work_pool.name")
    return spec


def ensure_pool(name: str) -> None:
    """Create the process work pool `name` if the server does not have it."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            try:
                client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            except ObjectAlreadyExists:
                pass


def deploy(workspace: Path, pool: str | None = None) -> dict[str, str]:
    """Register every deployment of prefect.yaml for `workspace`; returns name -> deployment id."""
    from prefect.deployments.runner import EntrypointType, RunnerDeployment
    from prefect.events import DeploymentEventTrigger
    from prefect.schedules import Cron

    from synthgov.flows.pipeline import pipeline

    workspace = Path(workspace).resolve()
    spec, ids = read_spec(workspace), {}
    for d in spec["deployments"]:
        pool_name = pool or d["work_pool"]["name"]
        ensure_pool(pool_name)
        schedules = [Cron(s["cron"], timezone=s.get("timezone", "UTC"), active=s.get("active", True))
                     for s in d.get("schedules") or []]
        # a trigger fires only for its own workspace's events (several workspaces may share a server)
        triggers = [DeploymentEventTrigger(**{**t, "match": {**(t.get("match") or {}),
                                                              "synthgov.workspace": str(workspace)}})
                    for t in d.get("triggers") or []]
        deployment = RunnerDeployment.from_flow(
            pipeline, name=d["name"], description=d.get("description"), schedules=schedules or None,
            triggers=triggers, parameters={**(d.get("parameters") or {}), "workspace": str(workspace)},
            concurrency_limit=d.get("concurrency_limit"), tags=["synthgov", *d.get("tags", [])],
            job_variables={"working_dir": str(workspace), **(d["work_pool"].get("job_variables") or {})},
            entrypoint_type=EntrypointType.MODULE_PATH)
        ids[d["name"]] = str(deployment.apply(work_pool_name=pool_name))
    return ids
