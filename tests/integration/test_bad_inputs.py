"""Bad input, as an operator would feed it, over `run`, `evaluate` and `audit`: every case ends
with its documented exit code and a message that names the problem, and leaves the releases,
CURRENT, the privacy ledger and the successful MLflow runs of the workspace exactly as they were.

One real promoted release is made first (Prefect harness, MLflow on SQLite, real Opacus); each
case runs on a copy of that workspace."""

from __future__ import annotations

import errno
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthgov.cli import main
from tests.conftest import REPO, small
from tests.integration.test_pipeline import LOOSE_GATES

pytestmark = pytest.mark.integration


def _write_yaml(path: Path, **changes) -> None:
    content = yaml.safe_load(path.read_text()) if path.exists() else {}
    content.update(changes)
    path.write_text(yaml.safe_dump(content))


@pytest.fixture(scope="module")
def promoted(prefect_harness, adult, tmp_path_factory) -> Path:
    """A plain workspace (params, contract, 1,500 real rows) holding one promoted release."""
    ws = tmp_path_factory.mktemp("bad-inputs") / "ws"
    (ws / "data").mkdir(parents=True)
    shutil.copytree(REPO / "params", ws / "params")
    shutil.copytree(REPO / "checks", ws / "checks")
    small(adult[0], 1500).to_csv(ws / "data" / "source.csv", index=False)
    small(adult[1], 800).to_csv(ws / "data" / "holdout.csv", index=False)
    _write_yaml(ws / "params" / "data.yaml", source="data/source.csv", holdout="data/holdout.csv", format="auto")
    _write_yaml(ws / "params" / "train.yaml", epochs=2, sample_rate=0.25)
    _write_yaml(ws / "params" / "privacy.yaml", epsilon=4.0)
    _write_yaml(ws / "params" / "gates.yaml", **LOOSE_GATES)
    _write_yaml(ws / "params" / "operations.yaml", on_busy="refuse")
    code = main(["run", "--params-dir", str(ws / "params"), "--workspace", str(ws)])
    assert code == 0
    return ws


def _state(ws: Path) -> dict:
    """What no bad input may change: every release file, CURRENT, the ledger, the good MLflow runs."""
    from mlflow import MlflowClient

    files = {str(p.relative_to(ws)): hashlib.sha256(p.read_bytes()).hexdigest()
             for folder in ("releases", "review", "ledger") for p in sorted((ws / folder).rglob("*"))
             if p.is_file() and not p.name.endswith(".lock")}
    client = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}")
    exp = client.get_experiment_by_name("synthgov")
    finished = len([r for r in client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'",
                                                  max_results=1000) if "mlflow.parentRunId" not in r.data.tags])
    return {"files": files, "finished_runs": finished}


def _csv(ws: Path, df: pd.DataFrame, name: str = "bad.csv") -> str:
    path = ws / "data" / name
    df.to_csv(path, index=False)
    return str(path)


def _source(ws: Path) -> pd.DataFrame:
    return pd.read_csv(ws / "data" / "source.csv", dtype=str)


def _run(ws: Path, *extra: str) -> list[str]:
    return ["run", "--params-dir", str(ws / "params"), "--workspace", str(ws),
            "--summary-json", str(ws / "summary.json"), *extra]


def _evaluate(ws: Path, synthetic: str, train: str | None = None) -> list[str]:
    return ["evaluate", "--train", train or str(ws / "data" / "source.csv"), "--holdout",
            str(ws / "data" / "holdout.csv"), "--synthetic", synthetic, "--params-dir", str(ws / "params"),
            "--workspace", str(ws), "--summary-json", str(ws / "summary.json")]


def _audit(ws: Path, source: str, *extra: str) -> list[str]:
    return ["audit", "--source", source, "--params-dir", str(ws / "params"), "--workspace", str(ws), *extra]


def _put(path: Path, content: str | bytes) -> None:
    """Write a file (returns None, so that a case can chain `_put(...) or _run(...)`)."""
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)


def _with(df: pd.DataFrame, **cols) -> pd.DataFrame:
    return df.assign(**cols)


def _fail_write(monkeypatch, target: str, err: int) -> None:
    """Make the first atomic Parquet write (ingest's snapshot) fail as a full or read-only disk would."""
    import synthgov.tasks.stages as stages

    def broken(df, path):
        raise OSError(err, {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system"}[err],
                      str(path))

    monkeypatch.setattr(stages, target, broken)


def _changing_file(monkeypatch, ws: Path) -> None:
    """The source grows while it is read (a writer still at work)."""
    import synthgov.ingest.readers as readers

    real = readers.pd.read_csv

    def read_while_appending(path, *args, **kwargs):
        out = real(path, *args, **kwargs)
        with open(path, "a") as fh:
            fh.write(",".join(["1"] * 15) + "\n")
        return out

    monkeypatch.setattr(readers.pd, "read_csv", read_while_appending)


def _busy(ws: Path) -> None:
    """Another run of the same source holds its lock (a process of ours stands in for it)."""
    from synthgov import locks, runs

    _busy.fd = locks.acquire(locks.lock_path(ws, runs.source_key(str(ws / "data" / "source.csv"))), wait=0)


# Each case: how to build the command on a copy of the workspace, the exit code, and a regex the
# error output must match. A setup may take (ws) or (ws, monkeypatch).
CASES = [
    # --- the source file itself
    ("missing source file", lambda ws: _run(ws, "--source", str(ws / "nope.csv")), 2, r"source file not found"),
    ("source is a folder", lambda ws: _run(ws, "--source", str(ws / "data")), 2, r"source file not found"),
    ("empty file", lambda ws: _put(ws / "data" / "e.csv", "") or _run(ws, "--source", str(ws / "data" / "e.csv")),
     2, r"the file is empty"),
    ("header-only CSV", lambda ws: _run(ws, "--source", _csv(ws, _source(ws).head(0))), 2, r"no data rows"),
    ("one data row", lambda ws: _run(ws, "--source", _csv(ws, _source(ws).head(1))), 2, r"fewer than two classes"),
    ("one class", lambda ws: _run(ws, "--source", _csv(ws, _with(_source(ws), income="<=50K"))), 2,
     r"target 'income' holds fewer than two classes"),
    ("binary garbage named .csv", lambda ws: _put(ws / "data" / "g.csv", bytes(range(256)) * 40)
     or _run(ws, "--source", str(ws / "data" / "g.csv")), 2, r"cannot be read|missing declared column"),
    ("unsupported file type", lambda ws: _put(ws / "data" / "s.xlsx", b"PK\x03\x04")
     or _run(ws, "--source", str(ws / "data" / "s.xlsx")), 2, r"unsupported file type '.xlsx'"),
    ("corrupted gzip", lambda ws: _put(ws / "data" / "s.csv.gz", b"\x1f\x8b\x08garbage")
     or _run(ws, "--source", str(ws / "data" / "s.csv.gz")), 2, r"cannot be read"),
    ("ragged rows", lambda ws: _put(ws / "data" / "r.csv", "a,b\n1,2\n3,4,5,6\n")
     or _run(ws, "--source", str(ws / "data" / "r.csv")), 2, r"cannot be read"),
    ("invalid UTF-8", lambda ws: _put(ws / "data" / "l.csv", b"age,name\n30,\xff\xfe\xfa\n")
     or _run(ws, "--source", str(ws / "data" / "l.csv")), 2, r"cannot be read"),
    ("duplicate column names", lambda ws: _put(ws / "data" / "d.csv", 
        (ws / "data" / "source.csv").read_text().replace("age,", "sex,", 1))
     or _run(ws, "--source", str(ws / "data" / "d.csv")), 2, r"\['sex'\] appear more than once"),
    ("unnamed column", lambda ws: _run(ws, "--source", _csv(ws, _source(ws).rename(columns={"fnlwgt": ""}))), 2,
     r"have no name"),
    ("missing declared column", lambda ws: _run(ws, "--source", _csv(ws, _source(ws).drop(columns=["education"]))),
     2, r"missing declared column\(s\) \['education'\]"),
    ("unicode column name", lambda ws: _run(ws, "--source", _csv(ws, _source(ws).rename(columns={"age": "âge"}))), 2,
     r"missing declared column\(s\) \['age'\]"),
    ("space inside a column name", lambda ws: _run(ws, "--source", _csv(ws, _source(ws).rename(
        columns={"hours_per_week": "hours per week"}))), 2, r"missing declared column\(s\) \['hours_per_week'\]"),
    ("file modified while read", lambda ws, mp: _changing_file(mp, ws) or _run(ws), 2, r"changed while it was read"),
    # --- values the declared schema does not hold: the audit's contract blocks, nothing trains
    ("three classes in the target", lambda ws: _run(ws, "--source", _csv(ws, _with(
        _source(ws), income=np.where(np.arange(1500) % 3 == 0, "maybe", _source(ws)["income"])))), 1,
     r"column 'income': expect_column_values_to_be_in_set"),
    ("infinite values", lambda ws: _run(ws, "--source", _csv(ws, _with(
        _source(ws), age=np.where(np.arange(1500) < 30, "inf", _source(ws)["age"])))), 1,
     r"column 'age': expect_column_values_to_be_numeric"),
    ("text in a numeric column", lambda ws: _run(ws, "--source", _csv(ws, _with(
        _source(ws), age=np.where(np.arange(1500) < 30, "forty", _source(ws)["age"])))), 1,
     r"column 'age': expect_column_values_to_be_numeric"),
    ("all-NaN non-nullable column", lambda ws: _run(ws, "--source", _csv(ws, _with(_source(ws), fnlwgt=np.nan))), 1,
     r"column 'fnlwgt': expect_column_values_to_not_be_null"),
    ("all-NaN nullable column", lambda ws: _run(ws, "--source", _csv(ws, _with(_source(ws), occupation=np.nan))), 1,
     r"column 'occupation': expect_column_values_to_not_be_null"),
    ("too few rows", lambda ws: _run(ws, "--source", _csv(ws, _source(ws).head(60))), 1,
     r"the table: expect_table_row_count_to_be_between"),
    # --- the holdout
    ("missing holdout", lambda ws: _run(ws, "--holdout", str(ws / "nope.csv")), 2, r"source file not found"),
    ("header-only holdout", lambda ws: _run(ws, "--holdout", _csv(ws, _source(ws).head(0), "h0.csv")), 2,
     r"the holdout has no rows|no data rows"),
    ("holdout missing a column", lambda ws: _run(ws, "--holdout", _csv(ws, _source(ws).drop(columns=["race"]),
                                                                         "h1.csv")), 2,
     r"missing declared column\(s\) \['race'\]"),
    # --- flags
    ("--rows 10**10", lambda ws: _run(ws, "--rows", str(10**10)), 2, r"generate.rows|less than or equal to 100000000"),
    ("--rows 0", lambda ws: _run(ws, "--rows", "0"), 2, r"greater than or equal to 1"),
    ("--rows -5", lambda ws: _run(ws, "--rows", "-5"), 2, r"greater than or equal to 1"),
    ("--epsilon inf", lambda ws: _run(ws, "--epsilon", "inf"), 2, r"--epsilon inf: give a finite epsilon"),
    ("--epsilon nan", lambda ws: _run(ws, "--epsilon", "nan"), 2, r"--epsilon nan: give a finite epsilon"),
    ("--epsilon 0", lambda ws: _run(ws, "--epsilon", "0"), 2, r"--epsilon 0.0: give a finite epsilon"),
    ("--epsilon -1", lambda ws: _run(ws, "--epsilon", "-1"), 2, r"give a finite epsilon > 0"),
    ("--target not a column", lambda ws: _run(ws, "--target", "salary"), 2, r"data.target 'salary' is not a column"),
    ("--protected not a column", lambda ws: _run(ws, "--protected", "sex,religion"), 2,
     r"data.protected \(or --protected\) names \['religion'\]"),
    ("--positive-label not declared", lambda ws: _run(ws, "--positive-label", "rich"), 2,
     r"data.positive_label 'rich' must be one of the declared"),
    # --- params
    ("params folder missing", lambda ws: ["run", "--params-dir", str(ws / "nope"), "--workspace", str(ws)], 2,
     r"params file is missing"),
    ("invalid YAML", lambda ws: _put(ws / "params" / "privacy.yaml", "epsilon: [1\n") or _run(ws), 2,
     r"privacy.yaml: not valid YAML"),
    ("unknown params key", lambda ws: _write_yaml(ws / "params" / "train.yaml", epoch=3) or _run(ws), 2,
     r"train.yaml: key 'epoch': Extra inputs are not permitted"),
    ("wrong params type", lambda ws: _write_yaml(ws / "params" / "train.yaml", epochs="many") or _run(ws), 2,
     r"train.yaml: key 'epochs'"),
    ("budget exhausted", lambda ws: _write_yaml(ws / "params" / "privacy.yaml", budget_epsilon=5.0) or _run(ws), 2,
     r"over the budget of epsilon = 5"),
    # --- the workspace
    ("workspace is a file", lambda ws: _put(ws / "file", "x") or
     ["run", "--params-dir", str(ws / "params"), "--workspace", str(ws / "file")], 2, r"the workspace is not a folder"),
    ("workspace busy", lambda ws: _busy(ws) or _run(ws), 2, r"another run of .*source.csv is in progress"),
    ("read-only workspace", lambda ws, mp: _fail_write(mp, "write_parquet_atomic", errno.EROFS) or _run(ws), 2,
     r"Read-only file system"),
    ("full disk", lambda ws, mp: _fail_write(mp, "write_parquet_atomic", errno.ENOSPC) or _run(ws), 2,
     r"No space left on device"),
    # --- evaluate
    ("evaluate: synthetic file missing", lambda ws: _evaluate(ws, str(ws / "nope.csv")), 2, r"source file not found"),
    ("evaluate: synthetic missing a column", lambda ws: _evaluate(ws, _csv(ws, _source(ws).drop(columns=["sex"]))), 2,
     r"missing declared column\(s\) \['sex'\]"),
    ("evaluate: header-only synthetic", lambda ws: _evaluate(ws, _csv(ws, _source(ws).head(0))), 2, r"no data rows"),
    ("evaluate: one-class training file", lambda ws: _evaluate(ws, str(ws / "data" / "source.csv"),
                                                              _csv(ws, _with(_source(ws), income=">50K"), "t.csv")), 2,
     r"fewer than two classes"),
    # --- audit
    ("audit: missing source", lambda ws: _audit(ws, str(ws / "nope.csv")), 2, r"source file not found"),
    ("audit: header-only source", lambda ws: _audit(ws, _csv(ws, _source(ws).head(0))), 2, r"no data rows"),
    ("audit: --protected not a column", lambda ws: _audit(ws, str(ws / "data" / "source.csv"), "--protected", "zip"), 2,
     r"names \['zip'\]"),
    ("audit: 300 columns", lambda ws: _audit(ws, _csv(ws, pd.concat([_source(ws), pd.DataFrame(
        np.random.default_rng(0).random((1500, 300)), columns=[f"x{i}" for i in range(300)])], axis=1))), 0,
     r"audit_identifiers: score 300"),
    ("audit: an email column", lambda ws: _audit(ws, _csv(ws, _with(
        _source(ws), contact=[f"p{i}@example.org" for i in range(1500)]))), 0, r"audit_identifiers: score 1 "),
]


@pytest.mark.parametrize("name, build, code, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(promoted, tmp_path, monkeypatch, capsys, name, build,
                                                           code, message):
    # Setup: a copy of the promoted workspace, and the bad input
    ws = tmp_path / "ws"
    shutil.copytree(promoted, ws, ignore=shutil.ignore_patterns("*.lock"))
    before = _state(ws)
    argv = build(ws, monkeypatch) if build.__code__.co_argcount == 2 else build(ws)
    capsys.readouterr()
    # Run
    try:
        got = main(argv)
    finally:
        from synthgov import locks

        locks.release(getattr(_busy, "fd", None))
        _busy.fd = None
    out = capsys.readouterr()
    # Assert: the documented exit code, one clear message, and nothing changed
    assert got == code, out.err[-3000:]
    assert re.search(message, out.err + out.out), out.err[-3000:]
    assert "Traceback" not in out.err
    assert _state(ws) == before
    if argv[0] in ("run", "evaluate") and "--summary-json" in argv and code:
        summary = json.loads((ws / "summary.json").read_text())
        assert summary["promoted"] is False and summary["exit_code"] == code and summary["error"]
    # no private value in the message: no row of the source is quoted
    assert "Private" not in out.err and "Husband" not in out.err
