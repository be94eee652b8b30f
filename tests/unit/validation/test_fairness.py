"""The vectorised fairness gaps equal fairlearn's metrics at their point."""

from __future__ import annotations

import numpy as np
import pytest


def test_vectorised_fairness_gap_matches_fairlearn():
    # Setup: two models' predictions over three large groups (every rate over >= k rows)
    import pandas as pd
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    from synthgov.validation.fairness import gap_bootstrap

    rng = np.random.default_rng(0)
    s = pd.Series(rng.choice(["a", "b", "c"], size=3000))
    y = rng.integers(0, 2, 3000)
    pred_s, pred_r = rng.random(3000) < 0.4, rng.random(3000) < (0.2 + 0.3 * (s == "a").to_numpy())
    # Run
    gaps = gap_bootstrap(y, pred_s, pred_r, s, k=20, rounds=50, seed=0)
    # Assert: the point gaps are fairlearn's differences
    dp = (demographic_parity_difference(y, pred_s, sensitive_features=s)
          - demographic_parity_difference(y, pred_r, sensitive_features=s))
    eo = (equalized_odds_difference(y, pred_s, sensitive_features=s)
          - equalized_odds_difference(y, pred_r, sensitive_features=s))
    assert gaps["dp_difference_gap"]["point"] == pytest.approx(dp)
    assert gaps["eo_difference_gap"]["point"] == pytest.approx(eo)
    assert gaps["dp_difference_gap"]["lower"] < dp < gaps["dp_difference_gap"]["upper"]
    # each model's own metrics and their intervals: fairlearn's ratio and the per-group ECE
    from fairlearn.metrics import demographic_parity_ratio

    from synthgov.validation.fairness import expected_calibration_error

    tstr = gaps["tstr"]
    assert tstr["demographic_parity_ratio"]["point"] == pytest.approx(
        demographic_parity_ratio(y, pred_s, sensitive_features=s))
    for g in ("a", "b", "c"):
        ece = tstr["ece_by_group"][g]
        assert ece["point"] == pytest.approx(expected_calibration_error(y[s == g], pred_s[s == g].astype(float)))
        assert ece["lower"] <= ece["point"] <= ece["upper"]
