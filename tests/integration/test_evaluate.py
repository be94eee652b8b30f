"""`synthgov evaluate` on candidates built from the real Adult data (validation and privacy gates)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgov.cli import main
from synthgov.params import load_params
from tests.conftest import REPO
from tests.unit.attacks.test_attack import PRIVACY_GATES, noisy_copy

pytestmark = pytest.mark.integration

VALIDATION_GATES = {"fidelity_column", "fidelity_js", "fidelity_pairs", "quality_column_shapes",
                    "quality_column_pair_trends", "distinguishability", "coverage", "tstr_ratio",
                    "subgroup_f1", "fairness_dp_gap", "fairness_eo_gap"}


@pytest.fixture(scope="module")
def real_files(adult, tmp_path_factory):
    """Real train rows, a real holdout, and a real half the 'tool' never trained on."""
    folder = tmp_path_factory.mktemp("real")
    train, test = adult
    parts = {"train": train.iloc[:12000], "other_half": train.iloc[12000:24000], "holdout": test.iloc[:8000]}
    paths = {}
    for name, df in parts.items():
        paths[name] = folder / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    return paths, parts


def _evaluate(tmp_path: Path, real_files, candidate: pd.DataFrame) -> tuple[int, dict, dict]:
    paths, _ = real_files
    syn = tmp_path / "candidate.csv"
    candidate.to_csv(syn, index=False)
    code = main(["evaluate", "--train", str(paths["train"]), "--holdout", str(paths["holdout"]),
                 "--synthetic", str(syn), "--target", "income", "--protected", "sex,race,age",
                 "--params-dir", str(REPO / "params"), "--workspace", str(tmp_path),
                 "--summary-json", str(tmp_path / "summary.json")])
    summary = json.loads((tmp_path / "summary.json").read_text())
    gates = {g["name"]: g for g in summary["gates"]}
    return code, summary, gates


def test_real_holdout_half_passes_every_validation_gate(prefect_harness, tmp_path, real_files):
    code, summary, gates = _evaluate(tmp_path, real_files, real_files[1]["other_half"])
    assert VALIDATION_GATES <= set(gates)
    assert all(gates[g]["passed"] for g in VALIDATION_GATES), {g: gates[g] for g in VALIDATION_GATES}
    assert code == 0 and summary["gates_passed"] is True
    report = json.loads((Path(summary["run_folder"]) / "validate/validation.json").read_text())
    ratio = report["utility"]["gradient_boosting"]["roc_auc"]["ratio"]
    assert ratio["lower"] <= ratio["point"] <= ratio["upper"]
    assert (Path(summary["run_folder"]) / "validate/validation.html").stat().st_size > 10_000
    # rows the generator never saw: every privacy gate passes, membership inference is chance
    assert all(gates[g]["passed"] for g in PRIVACY_GATES), {g: gates[g] for g in PRIVACY_GATES}
    attack = json.loads((Path(summary["run_folder"]) / "attack/attack.json").read_text())
    assert attack["membership_inference"]["distance"]["roc_auc"]["point"] == pytest.approx(0.5, abs=0.05)
    assert (Path(summary["run_folder"]) / "attack/attack.html").stat().st_size > 10_000


def test_copy_of_training_rows_fails_every_privacy_gate(prefect_harness, tmp_path, real_files):
    code, summary, gates = _evaluate(tmp_path, real_files, real_files[1]["train"])
    assert code == 1
    assert not [g for g in PRIVACY_GATES if gates[g]["passed"]]
    attack = json.loads((Path(summary["run_folder"]) / "attack/attack.json").read_text())
    assert attack["membership_inference"]["distance"]["roc_auc"]["point"] > 0.9


def test_noisy_copy_still_fails_privacy(prefect_harness, tmp_path, real_files):
    candidate = noisy_copy(real_files[1]["train"], load_params(REPO / "params"))
    code, _, gates = _evaluate(tmp_path, real_files, candidate)
    assert code == 1
    assert not gates["dcr_share"]["passed"] and not gates["mia_auc"]["passed"]


def test_one_row_repeated_fails_fidelity(prefect_harness, tmp_path, real_files):
    other = real_files[1]["other_half"]
    code, _, gates = _evaluate(tmp_path, real_files, other.iloc[[7] * len(other)])
    assert code == 1
    for g in ("fidelity_column", "fidelity_js", "quality_column_shapes", "distinguishability", "coverage"):
        assert not gates[g]["passed"], g


def test_shuffled_label_fails_tstr(prefect_harness, tmp_path, real_files):
    other = real_files[1]["other_half"]
    shuffled = other.assign(income=np.random.default_rng(0).permutation(other["income"].to_numpy()))
    code, _, gates = _evaluate(tmp_path, real_files, shuffled)
    assert code == 1
    assert not gates["tstr_ratio"]["passed"] and gates["tstr_ratio"]["score"] < 0.8


def test_label_flipped_for_women_fails_bias_amplification(prefect_harness, tmp_path, real_files):
    other = real_files[1]["other_half"]
    flipped = other.assign(income=other["income"].where(other["sex"] != "Female", "<=50K"))
    code, _, gates = _evaluate(tmp_path, real_files, flipped)
    assert code == 1
    assert not gates["fairness_eo_gap"]["passed"]
    assert gates["fairness_eo_gap"]["score"] > 0.2
