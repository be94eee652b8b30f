"""`synthgov init` then `synthgov run` on tables that are not Adult: four public tables from
statsmodels and generated messy files. Each ends in a verdict (exit 0 promoted, or 1 quarantined)
with a summary, never exit 2 or a traceback; identifiers are excluded; no drafted file holds a
category or a bound copied from the rows. Real runs (Prefect, MLflow, Opacus) on up to 1,500 rows
with a light schedule: the mechanics on odd data, not the quality (benchmarks/tables.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthgov.cli import main
from synthgov.privacy.bounds import EDGES
from tests.integration import public_tables as pt
from tests.integration.test_faults import FAST

pytestmark = pytest.mark.integration

LIGHT = {name: changes for name, changes in FAST.items() if name not in ("privacy.yaml", "gates.yaml")}


def _init(tmp_path: Path, table: pt.Table, source: Path, *extra: str) -> subprocess.CompletedProcess:
    """The command a user types, in a fresh process."""
    args = [sys.executable, "-m", "synthgov.cli", "init", str(tmp_path / "ws"), "--source", str(source),
            "--target", table.target, "--protected", ",".join(table.protected), *table.init_flags, *extra]
    if table.positive_label:
        args += ["--positive-label", table.positive_label]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def _lighten(ws: Path) -> None:
    for name, changes in LIGHT.items():
        path = ws / "params" / name
        content = yaml.safe_load(path.read_text())
        content.update(changes)
        path.write_text(yaml.safe_dump(content))


def _private_labels(df: pd.DataFrame, target: str) -> set[str]:
    """The category labels of the rows' text columns (the target's are declared by the person)."""
    labels = set()
    for col in df.columns:
        values = df[col].dropna()
        if col != target and pd.to_numeric(values, errors="coerce").isna().any():
            labels |= {str(v) for v in values.unique()}
    return labels


def _assert_nothing_copied(ws: Path, df: pd.DataFrame, table: pt.Table) -> None:
    labels = _private_labels(df, table.target)
    schema = yaml.safe_load((ws / "params" / "schema.yaml").read_text())
    grid = set(EDGES.tolist()) | {float(np.floor(e)) for e in EDGES} | {float(np.ceil(e)) for e in EDGES}
    for col, spec in schema.items():
        if col != table.target:
            assert "categories" not in spec, f"{col}: categories drafted from the rows"
        if spec["type"] == "numeric":
            assert spec["bounds"] == "dp" and {spec["lower"], spec["upper"]} <= grid, (col, spec)
            assert spec.get("points", []) in ([], [0.0]), (col, spec)  # 0 (public) or nothing
    drafted = "\n".join(p.read_text() for p in [*(ws / "params").glob("*.yaml"), ws / "checks" / "source_contract.json"])
    words = set(drafted.replace(",", " ").replace("'", " ").replace('"', " ").split())
    copied = sorted(label for label in labels if len(label) > 2 and label in words and label not in df.columns)
    assert not copied, f"labels of the rows in the drafted files: {copied[:5]}"
    data = yaml.safe_load((ws / "params" / "data.yaml").read_text())
    for col, bins in data["protected_bins"].items():  # audit bins inside the DP bounds, not the rows' range
        assert (bins[0], bins[-1]) == (schema[col]["lower"], schema[col]["upper"])


def _run_and_check(ws: Path, table: pt.Table) -> dict:
    code = main(["run", "--workspace", str(ws), "--summary-json", str(ws / "summary.json")])
    summary = json.loads((ws / "summary.json").read_text())
    assert code in (0, 1), summary.get("error")
    assert summary["exit_code"] == code and summary["outcome"] in ("promoted", "gate failed")
    if code == 0:
        release = ws / "releases" / summary["release_id"]
        synthetic = pd.read_parquet(release / "synthetic.parquet")
    else:
        candidates = list((ws / "quarantine").glob("*/synthetic.parquet"))
        synthetic = pd.read_parquet(candidates[0]) if candidates else None
        assert candidates or summary["failed_gates"][0].startswith("audit_"), summary["failed_gates"]
    for col in table.identifiers:  # never trained, never released
        assert synthetic is None or col not in synthetic.columns
    assert summary["epsilon"] <= 1.0 + 1e-9
    return summary


@pytest.mark.parametrize("name", sorted(pt.PUBLIC))
def test_init_then_run_on_a_public_table(name, prefect_harness, tmp_path):
    build, table = pt.PUBLIC[name]
    df = build()
    df = df.sample(n=min(len(df), 1500), random_state=0).reset_index(drop=True)
    source = pt.write(df, tmp_path / f"{name}.csv")
    done = _init(tmp_path, table, source)
    assert done.returncode == 0, done.stderr
    ws = tmp_path / "ws"
    data = yaml.safe_load((ws / "params" / "data.yaml").read_text())
    assert set(table.identifiers) <= set(data["exclude"]), data["exclude"]
    assert "review params/schema.yaml" in done.stdout and "record number" in done.stdout
    assert subprocess.run(["git", "log", "--oneline"], cwd=ws, capture_output=True, text=True).stdout.strip()
    assert (ws / "data" / "source.csv.dvc").is_file()
    _assert_nothing_copied(ws, df, table)
    _lighten(ws)
    summary = _run_and_check(ws, table)
    assert summary["source_hash"]


def test_a_headerless_uci_export_with_label_variants(prefect_harness, tmp_path):
    from synthgov.ingest.readers import adult_paths, read_adult

    source = pt.write(pt.uci_export(read_adult(adult_paths()[0])), tmp_path / "export.csv")
    done = _init(tmp_path, pt.UCI_EXPORT, source)
    assert done.returncode == 0, done.stderr
    ws = tmp_path / "ws"
    data = yaml.safe_load((ws / "params" / "data.yaml").read_text())
    assert data["header"] is False and data["positive_label"] == [">50K", ">50K."]
    _lighten(ws)
    summary = _run_and_check(ws, pt.UCI_EXPORT)
    # both spellings of the positive class count as positive: the snapshot holds only the two labels
    run = ws / "runs" / summary["run_id"]
    labels = set(pd.read_parquet(run / "ingest" / "train.parquet")["c14"].dropna())
    assert labels == {">50K", "Other"}


def test_a_small_cohort_with_nans_a_rare_group_and_a_float_target(prefect_harness, tmp_path):
    df = pt.cohort()
    source = pt.write(df, tmp_path / "cohort.csv")
    done = _init(tmp_path, pt.COHORT, source)
    assert done.returncode == 0, done.stderr
    ws = tmp_path / "ws"
    data = yaml.safe_load((ws / "params" / "data.yaml").read_text())
    assert {"record_no", "email"} <= set(data["exclude"])
    assert yaml.safe_load((ws / "params" / "schema.yaml").read_text())["outcome"]["categories"] == ["0", "1"]
    assert "p0@clinic.example" not in done.stdout + done.stderr
    _assert_nothing_copied(ws, df.drop(columns=["email"]), pt.COHORT)
    _lighten(ws)
    _run_and_check(ws, pt.COHORT)


def test_a_three_class_target_needs_a_declared_positive_class(tmp_path):
    source = pt.write(pt.cohort(), tmp_path / "cohort.csv")
    refused = _init(tmp_path, pt.COHORT_GRADE.__class__(**{**pt.COHORT_GRADE.__dict__, "positive_label": None}),
                    source)
    assert refused.returncode == 2
    assert "'grade'" in refused.stderr and "--positive-label" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "ws" / "params").exists()  # a refused init leaves no half workspace
    done = _init(tmp_path, pt.COHORT_GRADE, source)
    assert done.returncode == 0, done.stderr
    schema = yaml.safe_load((tmp_path / "ws" / "params" / "schema.yaml").read_text())
    assert schema["grade"]["categories"] == ["A", "Other"] and schema["grade"]["other"] is True


def test_audit_of_a_bare_table_flags_identifiers_without_params(tmp_path):
    source = pt.write(pt.cohort(), tmp_path / "cohort.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-m", "synthgov.cli", "audit", "--source", str(source), "--target", "outcome",
                           "--protected", "group,age"], cwd=empty, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    assert "record_no" in done.stdout and "email" in done.stdout
    assert "p0@clinic.example" not in done.stdout + done.stderr
    assert (empty / "audit-report" / "audit.json").is_file() and not (empty / "params").exists()
    report = (empty / "audit-report" / "audit.json").read_text()
    assert "p0@clinic.example" not in report
