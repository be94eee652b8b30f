"""Beyond one machine: MLflow on a real PostgreSQL server (a throwaway cluster of Debian's
postgresql package, started with initdb/pg_ctl on a free port), artifacts on a separate root,
and the heavy checks on a real Dask LocalCluster, giving the same numbers as without it."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, small
from tests.integration.test_pipeline import LOOSE_GATES

pytestmark = pytest.mark.integration

SYNTHGOV = str(Path(sys.executable).parent / "synthgov")


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if found is None:  # .ci/run installs it: a missing server is a broken setup, not a reason to skip
        pytest.fail(f"{name} not found: install PostgreSQL's server (apt-get install postgresql)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port> with an empty `mlflow` database;
    yields its URI without a password (trust authentication), stops and removes it afterwards."""
    import psycopg2

    folder = Path(tempfile.mkdtemp(prefix="synthgov-pg-"))  # not under pytest's root-only tmp
    owner = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: its own account runs it
        shutil.chown(folder, "postgres")
        owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run(owner + [_pg_bin("initdb"), "-D", str(data), "-U", "synthgov", "-A", "trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run(owner + [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
                            "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="synthgov", dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE mlflow")
        conn.close()
        yield f"postgresql://synthgov@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(owner + [_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _one_thread(env: dict[str, str]) -> dict[str, str]:
    """One math thread per process, as Dask's workers have: BLAS results depend on the count."""
    return {**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _set(path: Path, **changes) -> None:
    content = yaml.safe_load(path.read_text())
    content.update(changes)
    path.write_text(yaml.safe_dump(content))


def test_pipeline_on_postgresql_with_dask(postgres, api_env, tmp_path, adult):
    """A whole run with MLflow on PostgreSQL, artifacts elsewhere, checks on a Dask LocalCluster
    and the other stages each in a child process of its own (operations.isolate_stages, as a large
    source gets): promoted, every record in the database, nothing in the workspace's default store."""
    from mlflow import MlflowClient

    ws, params = tmp_path / "ws", tmp_path / "params"
    (ws / "data").mkdir(parents=True)
    shutil.copytree(REPO / "params", params)
    shutil.copytree(REPO / "checks", ws / "checks", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    small(adult[0], 1500).to_csv(ws / "data" / "source.csv", index=False)
    small(adult[1], 800).to_csv(ws / "data" / "holdout.csv", index=False)
    _set(params / "data.yaml", source="data/source.csv", holdout="data/holdout.csv", format="auto")
    _set(params / "train.yaml", epochs=3, sample_rate=0.2)
    _set(params / "privacy.yaml", epsilon=4.0)
    _set(params / "gates.yaml", **LOOSE_GATES)
    (params / "operations.yaml").write_text("isolate_stages: always\n")
    artifacts = tmp_path / "artifact-store"
    proc = subprocess.run([SYNTHGOV, "run", "--workspace", str(ws), "--params-dir", str(params),
                           "--tracking-uri", postgres, "--artifact-root", str(artifacts), "--task-runner", "dask",
                           "--summary-json", str(ws / "summary.json")],
                          env=_one_thread(api_env), capture_output=True, text=True, timeout=900)
    summary = json.loads((ws / "summary.json").read_text())
    assert proc.returncode == 0, (summary.get("outcome"), summary.get("failed_gates"), proc.stderr[-3000:])
    assert summary["promoted"] is True
    assert "fanned out on Dask: fidelity, utility" in proc.stderr
    assert "fanned out on Dask: leakage, membership, risks" in proc.stderr
    # the isolated stages' log lines came back through the flow's loggers
    assert "each stage runs in a child process of its own" in proc.stderr
    assert "ingest: 1500 training rows" in proc.stderr and "train: dp-autoregressive, epsilon" in proc.stderr
    # the records are in PostgreSQL, the artifacts under the separate root, nothing in the workspace
    assert not (ws / "mlflow.db").exists() and not (ws / "mlartifacts").exists()
    client = MlflowClient(tracking_uri=postgres)
    exp = client.get_experiment_by_name("synthgov")
    assert exp.artifact_location == artifacts.resolve().as_uri()
    parent = client.search_runs([exp.experiment_id], f"tags.`synthgov.run_id` = '{summary['run_id']}' "
                                                     "and tags.`synthgov.promoted` = 'true'")
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    stages = client.search_runs([exp.experiment_id], f"tags.`mlflow.parentRunId` = '{parent[0].info.run_id}'")
    assert {r.data.tags["synthgov.stage"]: r.info.status for r in stages if r.data.tags.get("synthgov.stage")
            in ("ingest", "train", "validate", "attack")} == {s: "FINISHED" for s in ("ingest", "train", "validate", "attack")}
    assert parent[0].data.metrics["gate.tstr_ratio.passed"] == 1.0
    assert sorted(p.name for p in artifacts.rglob("validation.json")) == ["validation.json"]
    assert list(artifacts.rglob("params.json"))
    version = client.get_model_version_by_alias("synthgov-release", "current")
    assert version.tags["release_id"] == summary["release_id"]
    # the release commands read the same store
    listing = subprocess.run([SYNTHGOV, "releases", "--workspace", str(ws), "--params-dir", str(params),
                              "--tracking-uri", postgres, "--json"], env=api_env, capture_output=True, text=True)
    assert listing.returncode == 0 and summary["release_id"] in listing.stdout


def test_unreachable_store_is_named_without_its_password(api_env, tmp_path, params_dir):
    """A store that cannot be reached stops the run at its start: exit 2 (storage), the store named,
    the password hidden, nothing that looks like a release."""
    ws = tmp_path / "ws"
    ws.mkdir()
    uri = f"postgresql://synthgov:hunter2@127.0.0.1:{_free_port()}/mlflow"
    proc = subprocess.run([SYNTHGOV, "run", "--workspace", str(ws), "--params-dir", str(params_dir),
                           "--tracking-uri", uri, "--summary-json", str(ws / "summary.json")],
                          env=api_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "postgresql://synthgov:***@127.0.0.1" in proc.stderr and "cannot be reached" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout + (ws / "summary.json").read_text()
    assert json.loads((ws / "summary.json").read_text())["outcome"] == "storage"
    assert not (ws / "releases").exists() or not any((ws / "releases").iterdir())


def test_dask_gives_the_same_numbers_bit_for_bit(api_env, tmp_path, adult):
    """`synthgov evaluate` of one candidate with and without Dask: identical reports, byte for byte."""
    train, test = adult
    files = {"train": small(train, 2000, seed=1), "candidate": small(train, 2000, seed=2),
             "holdout": small(test, 1500, seed=3)}
    for name, df in files.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    reports = {}
    for runner in ("default", "dask"):
        ws = tmp_path / runner
        ws.mkdir()
        proc = subprocess.run([SYNTHGOV, "evaluate", "--train", str(tmp_path / "train.csv"),
                               "--holdout", str(tmp_path / "holdout.csv"), "--synthetic", str(tmp_path / "candidate.csv"),
                               "--target", "income", "--protected", "sex,race,age", "--params-dir", str(REPO / "params"),
                               "--workspace", str(ws), "--task-runner", runner, "--summary-json", str(ws / "summary.json")],
                              env=_one_thread(api_env), capture_output=True, text=True, timeout=900)
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
        assert ("fanned out on Dask" in proc.stderr) == (runner == "dask")
        run = Path(json.loads((ws / "summary.json").read_text())["run_folder"])
        reports[runner] = {f: (run / f).read_bytes() for f in ("validate/validation.json", "attack/attack.json")}
        reports[runner]["gates"] = json.dumps(json.loads((ws / "summary.json").read_text())["gates"]).encode()
    for name in reports["default"]:
        assert reports["dask"][name] == reports["default"][name], name
    assert b"singling_out" in reports["dask"]["attack/attack.json"]
