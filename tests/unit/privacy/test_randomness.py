"""DP randomness is secret in a release run: two runs on the same rows differ, nothing stored can
replay them, and a test-mode run (seeded) is refused by the privacy gate. Real Opacus DP-SGD."""

from __future__ import annotations

import io
import json

import pytest

from synthgov.params import load_params
from synthgov.privacy.randomness import dp_randomness, fresh_seed
from synthgov.release.gate import privacy_check
from synthgov.synthesizers.dpar import DPAutoregressive
from tests.conftest import REPO, seeded, small


@pytest.fixture(scope="module")
def fast_params():
    return load_params(REPO / "params", {"train.epochs": 1, "train.sample_rate": 0.2})


def _weights(model) -> bytes:
    buf = io.BytesIO()
    import torch

    torch.save(model.net.state_dict(), buf)
    return buf.getvalue()


def test_two_release_runs_differ_and_store_no_seed(fast_params, adult, tmp_path):
    # Setup
    rows = small(adult[0], 600)
    # Run: two release-mode fits on the same rows, same params
    a, b = DPAutoregressive(), DPAutoregressive()
    report = a.fit(rows, fast_params, dp_randomness(False, 0))
    b.fit(rows, fast_params, dp_randomness(False, 0))
    # Assert: different weights (the noise and the Poisson masks are fresh secrets)
    assert _weights(a) != _weights(b)
    assert report["test_mode"] is False and "secret" in report["randomness"]
    # and nothing of the randomness is written: no seed in the report or the saved model
    a.save(tmp_path / "model")
    text = json.dumps(report) + (tmp_path / "model" / "meta.json").read_text()
    assert "seed" not in text
    assert fresh_seed(False, 0) != fresh_seed(False, 0) and fresh_seed(True, 7) == 7


def test_test_mode_is_labelled_and_refused_by_the_privacy_gate(fast_params, adult):
    report = DPAutoregressive().fit(small(adult[0], 600), fast_params, seeded())
    assert report["test_mode"] is True and "TEST MODE" in report["randomness"]
    check = privacy_check(report, fast_params)
    assert not check.passed and check.severity == "block" and "test mode" in check.breakdown["refused"]
    # whatever gates.yaml says: a warn-only privacy gate still refuses a test-mode run
    lenient = fast_params.model_copy(update={"gates": fast_params.gates.model_copy(update={"gates": {
        **fast_params.gates.gates, "privacy_epsilon": fast_params.gates.gates["privacy_epsilon"].model_copy(
            update={"severity": "warn"})}})})
    assert privacy_check(report, lenient).blocking_failure
