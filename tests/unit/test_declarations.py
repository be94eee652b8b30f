"""prefect.yaml and dvc.yaml are valid and describe the same stages as the flow."""

from __future__ import annotations

import yaml

from synthgov.tasks.stages import STAGES
from tests.conftest import REPO


def test_prefect_yaml_deployments_are_valid():
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.events import DeploymentEventTrigger
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {"nightly", "on-new-source"}
    for d in deployments.values():
        flow = load_flow_from_entrypoint(str(REPO / d["entrypoint"]))
        assert flow.name == "synthgov-pipeline"
        assert set(d["parameters"]) <= set(flow.parameters.properties)
    cron = CronSchedule(**{k: v for k, v in deployments["nightly"]["schedules"][0].items() if k != "active"})
    assert cron.cron == "0 2 * * *"
    trigger = DeploymentEventTrigger(**deployments["on-new-source"]["triggers"][0])
    assert trigger.expect == {"synthgov.source.arrived"}
    assert set(trigger.parameters) <= set(flow.parameters.properties)


def test_dvc_yaml_has_the_flow_stages_in_order():
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())
    assert list(spec["stages"]) == STAGES
    for name, stage in spec["stages"].items():
        assert stage["cmd"] == f"synthgov stage {name}"
