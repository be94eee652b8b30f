"""The stage tasks on a small real workspace (their .fn, as dvc repro runs them): the attack's
members are the rows the model trained on, and the canary audit's trainings are charged."""

from __future__ import annotations

import json

import pandas as pd

from synthgov.params import load_params
from synthgov.privacy.ledger import PrivacyLedger
from synthgov.tasks.stages import attack_stage, generate_stage, ingest_stage, train_stage
from tests.conftest import REPO, small


def test_members_are_trained_rows_and_the_canary_is_charged_to_the_ledger(tmp_path, adult):
    # Setup: 900 source rows, training capped at 300 (a uniform sample), a small canary audit
    (tmp_path / "data").mkdir()
    small(adult[0], 900).to_csv(tmp_path / "data" / "s.csv", index=False)
    small(adult[1], 1200).to_csv(tmp_path / "data" / "h.csv", index=False)
    params = load_params(REPO / "params", {
        "data.source": "data/s.csv", "data.holdout": "data/h.csv", "data.format": "auto",
        "train.epochs": 1, "train.sample_rate": 0.25, "train.max_rows": 300, "attack.canary_pairs": 10,
        "attack.n_attacks": 100, "privacy.budget_epsilon": 3.0})
    ws = str(tmp_path)
    # Run
    ingest_stage.fn(ws, params)
    training = train_stage.fn(ws, params)
    generate_stage.fn(ws, params)
    report = attack_stage.fn(ws, params)
    # Assert: 300 rows trained, and the attack's members are those 300 (not the 900 of the source)
    trained = pd.read_parquet(tmp_path / "artifacts" / "train" / "trained_rows.parquet")["row"]
    assert training["rows_trained"] == 300 and len(trained) == 300 and trained.is_unique
    assert report["members"] == 300
    # the canary's two trainings are in the ledger beside the release's own
    entries = PrivacyLedger(tmp_path).entries()
    assert sorted(e["purpose"] for e in entries) == ["canary-audited", "canary-reference", "training"]
    assert all(e["status"] == "spent" for e in entries)
    assert sum(e["epsilon"] for e in entries) == sum(t["epsilon"] for t in report["canary"]["trainings"]) + \
        training["epsilon"]
    assert json.loads((tmp_path / "artifacts" / "attack" / "attack.json").read_text())["canary"]["pairs"] == 10
