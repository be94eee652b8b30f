"""Faults an operator meets: a run killed with SIGKILL at each of the eight stages, then resumed.
Real processes (`python -m synthgov.cli run`) against the Prefect test server, MLflow on SQLite,
real Opacus. (Three runs at once: test_concurrency.py.)

After every kill, CURRENT still names the complete earlier release, byte for byte, and the ledger
is valid and counts the training if it had started; the next run succeeds with no manual cleanup
and closes the killed runs' records (status `killed`, MLflow KILLED); a killed run resumed keeps
the stages it completed."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, small
from tests.integration.test_pipeline import LOOSE_GATES

pytestmark = [pytest.mark.integration, pytest.mark.faults]
STAGES = ["ingest", "audit", "train", "generate", "validate", "attack", "gate", "promote"]
# the smallest settings that still run every stage for real: this tests the mechanics
FAST = {"validate.yaml": {"bootstrap_rounds": 20, "fairness_bootstrap_rounds": 20, "quality_bootstrap_rounds": 2,
                          "importance_repeats": 2, "max_iter": 30},
        "attack.yaml": {"bootstrap_rounds": 20, "subsample": 400, "n_attacks": 100},
        "audit.yaml": {"model_rows": 600}, "train.yaml": {"epochs": 2, "sample_rate": 0.25},
        "privacy.yaml": {"epsilon": 4.0, "budget_epsilon": 1000.0, "budget_delta": 0.1}, "gates.yaml": LOOSE_GATES}


def _workspace(root: Path, adult, sources: int = 1) -> Path:
    ws = root / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copytree(REPO / "params", ws / "params")
    shutil.copytree(REPO / "checks", ws / "checks")
    for i in range(sources):
        small(adult[0], 1500, seed=i).to_csv(ws / "data" / f"source{i}.csv", index=False)
    small(adult[1], 800).to_csv(ws / "data" / "holdout.csv", index=False)
    for name, changes in {"data.yaml": {"source": "data/source0.csv", "holdout": "data/holdout.csv",
                                        "format": "auto"}, **FAST}.items():
        path = ws / "params" / name
        content = yaml.safe_load(path.read_text())
        content.update(changes)
        path.write_text(yaml.safe_dump(content))
    return ws


def _start(ws: Path, env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "synthgov.cli", "run", "--params-dir", str(ws / "params"),
                             "--workspace", str(ws), *extra], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _kill_at(proc: subprocess.Popen, stage: str, timeout: float = 300) -> list[str]:
    """SIGKILL the run the moment it logs that `stage` started; returns what it had logged."""
    seen, deadline = [], time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if f"stage {stage}: started" in line:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return seen
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"the run never reached stage {stage}:\n{''.join(seen[-30:])}")


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sigkill_at_every_stage_leaves_the_release_and_the_ledger_sound(api_env, adult, tmp_path):
    from mlflow import MlflowClient

    from synthgov.privacy.ledger import PrivacyLedger

    # Setup: a workspace with one promoted release
    ws = _workspace(tmp_path, adult)
    first = _start(ws, api_env)
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out[-3000:]
    current, releases = (ws / "releases" / "CURRENT").read_text(), _tree(ws / "releases")
    killed = {}
    # Run: one run per stage, killed with SIGKILL as that stage starts
    for stage in STAGES:
        before = {e["run_id"] for e in PrivacyLedger(ws).entries()}
        _kill_at(_start(ws, api_env), stage)
        run_id = (ws / "runs" / "LATEST").read_text().strip()
        killed[run_id] = stage
        # Assert: the live release is untouched, the ledger is valid JSON, and it counts the
        # killed run's training once the training has started (it reserves before fitting)
        assert (ws / "releases" / "CURRENT").read_text() == current
        assert _tree(ws / "releases") == releases
        entries = PrivacyLedger(ws).entries()
        new = [e for e in entries if e["run_id"] not in before]
        if STAGES.index(stage) > STAGES.index("train"):
            assert [e["run_id"] for e in new] == [run_id], (stage, new)
        elif STAGES.index(stage) < STAGES.index("train"):
            assert new == [], (stage, new)
    # Run: the next run, with no cleanup
    last = _start(ws, api_env, "--summary-json", str(ws / "summary.json"))
    out, _ = last.communicate(timeout=600)
    # Assert: it promotes, and every killed run's records are closed as killed
    assert last.returncode == 0, out[-3000:]
    assert (ws / "releases" / "CURRENT").read_text().strip() == json.loads((ws / "summary.json").read_text())["release_id"]
    client = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}")
    exp = client.get_experiment_by_name("synthgov")
    for run_id, stage in killed.items():
        status = json.loads((ws / "runs" / run_id / "status.json").read_text())
        assert status["state"] == "killed" and status["stage"] == stage, (run_id, status)
        runs = client.search_runs([exp.experiment_id], f"tags.`synthgov.run_id` = '{run_id}'")
        parent = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
        assert len(parent) == 1 and parent[0].info.status == "KILLED" and "synthgov.killed" in parent[0].data.tags
        assert {r.info.status for r in runs} <= {"FINISHED", "KILLED"}  # the stage in progress: KILLED
    assert not PrivacyLedger(ws).open_reservations()
    assert not client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'")
    # Run: resume the run killed as validation started
    victim = next(r for r, s in killed.items() if s == "validate")
    spent = [e for e in PrivacyLedger(ws).entries() if e["run_id"] == victim]
    resumed = _start(ws, api_env, "--resume", victim, "--summary-json", str(ws / "resumed.json"))
    out, _ = resumed.communicate(timeout=600)
    # Assert: it keeps the four completed stages (no second training, no new spend) and promotes
    assert resumed.returncode == 0, out[-3000:]
    for stage in ("ingest", "audit", "train", "generate"):
        assert f"stage {stage}: kept from the earlier attempt of run {victim}" in out
    assert "stage validate: started" in out and "stage train: started" not in out
    assert [e for e in PrivacyLedger(ws).entries() if e["run_id"] == victim] == spent
    summary = json.loads((ws / "resumed.json").read_text())
    assert summary["run_id"] == victim and summary["promoted"]
    assert json.loads((ws / "runs" / victim / "status.json").read_text())["state"] == "finished"
    latest = client.search_runs([exp.experiment_id], f"tags.`synthgov.run_id` = '{victim}' and tags.`synthgov.resumed` = 'true'")
    assert [r.data.tags["synthgov.kept_stages"] for r in latest] == ["ingest,audit,train,generate"]
    # a finished run cannot be resumed again
    again = _start(ws, api_env, "--resume", victim)
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 2 and "only a run that failed or was killed can be resumed" in out
