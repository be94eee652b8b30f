"""The audit stage on real Adult rows: what it reports, and the defects planted in it (the
contract and drift have their own modules)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthgov.audit import audit
from tests.conftest import REPO, small
from tests.unit.audit.defects import _drop, _email, _independent, _record_number, _women_rare


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
