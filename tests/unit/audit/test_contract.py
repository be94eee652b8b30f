"""The data contract: generated from the params, committed, refused when stale, failed by planted
defects; and the drafted schema that leaks only labels and rounded bounds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthgov.audit import audit
from synthgov.audit.contract import CONTRACT_PATH, contract_from_params, load_contract, propose_contract
from synthgov.errors import ParamsError
from tests.conftest import REPO, small
from tests.unit.audit.defects import _email


def _by_name(checks):
    return {c.name: c for c in checks}


def test_type_change_fails_the_contract(params, adult):
    report, checks = audit(small(adult[0], 500), params, type_errors={"age": 500})
    contract = _by_name(checks)["audit_contract"]
    assert not contract.passed and contract.severity == "block"
    assert {"expectation": "expect_column_values_to_be_numeric", "column": "age", "success": False,
            "unexpected_count": 500} in contract.breakdown["failed_expectations"]


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


def test_a_derived_column_that_disagrees_with_its_label_fails_the_contract(params, adult):
    from synthgov.audit.contract import validate_contract

    df = small(adult[0], 500).copy()
    wrong = df["education"] == "Bachelors"
    df.loc[wrong, "education_num"] = 9.0  # HS-grad's code
    records = validate_contract(df, contract_from_params(params), k=5)
    pair = [r for r in records if r["expectation"] == "expect_column_pair_values_to_be_in_set"]
    assert pair == [{"expectation": "expect_column_pair_values_to_be_in_set", "column": "education_num",
                     "success": False, "element_count": 500, "unexpected_count": int(wrong.sum()),
                     "unexpected_percent": pytest.approx(100 * wrong.mean()), "missing_count": 0}]
    assert all(r["success"] for r in validate_contract(small(adult[0], 500), contract_from_params(params), k=5)
               if r["expectation"] == "expect_column_pair_values_to_be_in_set")
