"""The audit core on real Adult rows: what it reports, and the defects planted in it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthgov.audit import audit
from synthgov.contract import CONTRACT_PATH, contract_from_params, load_contract, propose_contract
from synthgov.drift import source_profile
from synthgov.errors import ParamsError
from tests.conftest import REPO, small


@pytest.fixture(scope="module")
def adult_audit(params, adult):
    return audit(adult[0], params)


def _by_name(checks):
    return {c.name: c for c in checks}


def test_audit_on_adult_reports_shares_and_flags_sex(adult_audit):
    report, checks = adult_audit
    by_name = _by_name(checks)
    sex, race = report["bias"]["sex"], report["bias"]["race"]
    # shares and base rates of sex and race
    assert sex["groups"]["Female"]["share"] == pytest.approx(10771 / 32561)
    assert sex["groups"]["Male"]["base_rate"] > 2 * sex["groups"]["Female"]["base_rate"]
    assert race["groups"]["White"]["share"] > 0.8 and race["groups"]["Black"]["base_rate"] < 0.2
    # disparate impact well under 0.8, flagged; a clear dependence of outcome on sex
    assert sex["disparate_impact"] < 0.5 and sex["disparate_impact_flag"]
    assert sex["statistical_parity_difference"] > 0.15 and sex["chi_squared"]["p_value"] < 1e-6
    assert not by_name["audit_disparate_impact"].passed and by_name["audit_disparate_impact"].severity == "warn"
    # the declared intersection is audited as groups of its own
    assert "White & Female" in report["bias"]["race x sex"]["groups"]
    # unchanged Adult meets its contract and has no identifiers
    assert by_name["audit_contract"].passed
    assert report["identifiers"] == [] and by_name["audit_identifiers"].passed
    # relationship (Husband / Wife) is a proxy for sex
    top = [f["column"] for f in report["proxies"]["sex"]["top_features"]]
    assert "relationship" in top[:3] and report["proxies"]["sex"]["roc_auc"] > 0.85
    assert report["label_quality"]["suspected_errors"] > 0
    # against the declared reference population (US census 1990)
    assert sex["groups"]["Female"]["reference_gap_flag"] is True  # 33 % against 51 %
    assert race["groups"]["White"]["reference_gap_flag"] is False  # 85 % against 80 %
    # no raw values leave Great Expectations
    assert "partial_unexpected_list" not in json.dumps(report["contract"])


def _record_number(df):
    return df.assign(record_id=np.arange(100000, 100000 + len(df)))


def _email(df):
    return df.assign(contact=[f"person{i}@example.org" for i in range(len(df))])


def _drop(df):
    return df.drop(columns=["education"])


def _women_rare(df):
    women = df.index[df["sex"] == "Female"]
    return df.drop(index=women[10:]).reset_index(drop=True)


def _independent(df):
    rng = np.random.default_rng(0)
    return df.assign(income=rng.permutation(df["income"].to_numpy()))


@pytest.mark.parametrize("defect, gate, severity, column", [
    # an added unique record-number column: an identifier, excluded from training
    (_record_number, "audit_identifiers", "warn", "record_id"),
    # an email column: an identifier, excluded from training
    (_email, "audit_identifiers", "warn", "contact"),
    # a dropped column breaks the contract
    (_drop, "audit_contract", "block", "education"),
    # a group shrunk under k rows
    (_women_rare, "audit_min_group_size", "warn", None),
])
def test_planted_defect_is_detected_with_its_verdict(params, adult, defect, gate, severity, column):
    # Setup
    df = defect(small(adult[0], 3000))
    # Run
    report, checks = audit(df, params)
    check = _by_name(checks)[gate]
    # Assert
    assert not check.passed and check.severity == severity
    if gate == "audit_identifiers":
        assert check.breakdown["excluded"] == [column]
        assert _by_name(checks)["audit_identifiers_trained"].passed  # undeclared: never trained
        assert column not in json.dumps(report["contract"])
    if gate == "audit_contract":
        assert column in {e["column"] for e in check.breakdown["failed_expectations"]}
    if gate == "audit_min_group_size":
        assert report["bias"]["sex"]["groups"]["Female"]["under_k"] is True


def test_type_change_fails_the_contract(params, adult):
    report, checks = audit(small(adult[0], 500), params, type_errors={"age": 500})
    contract = _by_name(checks)["audit_contract"]
    assert not contract.passed and contract.severity == "block"
    assert {"expectation": "expect_column_values_to_be_numeric", "column": "age", "success": False,
            "unexpected_count": 500} in contract.breakdown["failed_expectations"]


def test_outcome_made_independent_of_the_attribute_clears_the_flag(params, adult):
    report, checks = audit(_independent(small(adult[0], 5000)), params)
    sex = report["bias"]["sex"]
    assert sex["chi_squared"]["p_value"] > 0.01 and sex["statistical_parity_difference"] < 0.05
    assert sex["disparate_impact"] > 0.8 and not sex["disparate_impact_flag"]


def test_declared_identifier_blocks_until_excluded(params, adult):
    df = small(adult[0], 2000)
    df["fnlwgt"] = np.arange(len(df), dtype=float) * 10 + 20000  # a record number in a declared column
    report, checks = audit(df, params)
    assert not _by_name(checks)["audit_identifiers_trained"].passed
    assert _by_name(checks)["audit_identifiers_trained"].severity == "block"


def test_drift_against_the_last_release_flags_the_shifted_column(params, adult):
    old = source_profile(small(adult[0], 5000, seed=1), params)
    shifted = small(adult[0], 5000, seed=2)
    shifted["hours_per_week"] = np.clip(shifted["hours_per_week"] + 15, 1, 99)
    report, checks = audit(shifted, params, last_profile=old)
    assert report["drift"]["drifted"] == ["hours_per_week"]
    assert not _by_name(checks)["audit_drift"].passed


def test_committed_contract_matches_the_params(params):
    assert load_contract(REPO, params) == contract_from_params(params)
    assert (REPO / CONTRACT_PATH).is_file()


def test_stale_contract_names_the_fix(params, tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / CONTRACT_PATH).write_text(json.dumps({"made_from": "something else"}))
    with pytest.raises(ParamsError, match="synthgov audit --write-contract"):
        load_contract(tmp_path, params)


def test_proposed_contract_holds_only_labels_and_rounded_bounds(params, adult):
    df = _email(small(adult[0], 3000))
    draft = propose_contract(df, k=params.data.min_group_size)
    text = json.dumps(draft)
    assert draft["schema"]["age"]["type"] == "numeric" and draft["schema"]["sex"]["categories"] == ["Female", "Male"]
    assert draft["schema"]["contact"]["categories"] == []  # every email is under k rows
    assert "@" not in text
    # bounds are rounded outward to two significant digits, never a raw extreme
    lower, upper = draft["schema"]["fnlwgt"]["lower"], draft["schema"]["fnlwgt"]["upper"]
    assert lower <= df["fnlwgt"].min() and upper >= df["fnlwgt"].max()
    assert lower not in set(df["fnlwgt"]) or lower % 1000 == 0
    assert str(int(df["fnlwgt"].max())) not in text


@pytest.mark.parametrize("defect, column", [
    # a category outside the declared list
    (lambda df: df.assign(race=df["race"].where(df.index > 5, "Martian")), "race"),
    # a value outside the public bounds
    (lambda df: df.assign(age=df["age"].where(df.index > 5, 150.0)), "age"),
    # missing values in a non-nullable column
    (lambda df: df.assign(sex=df["sex"].where(df.index > 5, np.nan)), "sex"),
])
def test_audit_contract_fails_on_planted_defect(params, adult, defect, column):
    report, checks = audit(defect(small(adult[0], 2000)), params)
    contract = {c.name: c for c in checks}["audit_contract"]
    assert not contract.passed and contract.severity == "block"
    failed = {e["column"] for e in contract.breakdown["failed_expectations"]}
    assert failed == {column}


def test_small_groups_are_suppressed(params, adult):
    report, checks = audit(small(adult[0], 300), params)
    other = report["bias"]["race"]["groups"]["Other"]
    assert {k: other[k] for k in ("count", "share", "base_rate", "under_k")} == {
        "count": None, "share": None, "base_rate": None, "under_k": True}


def _cli(tmp_path, df, *extra):
    from synthgov.cli import main

    source = tmp_path / "source.csv"
    df.to_csv(source, index=False)
    code = main(["audit", "--source", str(source), "--params-dir", str(REPO / "params"),
                 "--workspace", str(tmp_path), "--summary-json", str(tmp_path / "summary.json"), *extra])
    return code


def test_audit_cli_excludes_an_email_column_and_passes(params, adult, tmp_path):
    code = _cli(tmp_path, _email(small(adult[0], 3000)))
    report = json.loads((tmp_path / "audit-report" / "audit.json").read_text())
    assert code == 0
    assert [f["column"] for f in report["identifiers"]] == ["contact"]
    assert not report["identifiers"][0]["trained"]
    assert "@" not in (tmp_path / "audit-report" / "audit.html").read_text()


def test_audit_cli_fails_a_dropped_column_with_exit_1(params, adult, tmp_path):
    code = _cli(tmp_path, _drop(small(adult[0], 3000)))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert code == 1
    assert {"name": "audit_contract", "passed": False, "severity": "block"}.items() <= \
        {k: v for k, v in next(f for f in summary["findings"] if f["name"] == "audit_contract").items()}.items()


def test_audit_cli_proposes_a_contract(params, adult, tmp_path):
    code = _cli(tmp_path, small(adult[0], 3000), "--propose-contract", str(tmp_path / "draft.json"))
    draft = json.loads((tmp_path / "draft.json").read_text())
    assert code == 0 and draft["draft"] is True and draft["schema"]["income"]["categories"] == ["<=50K", ">50K"]
