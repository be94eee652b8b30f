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


def test_chance_spread_widens_the_gaps_and_scales_with_the_rows():
    """The training samples' chance spread: zero for identical models, the root mean square of
    the pairs' gap differences times sqrt(m / n), added to each side of the bootstrap interval."""
    import pandas as pd

    from synthgov.validation.fairness import chance_spread, gap_bootstrap

    rng = np.random.default_rng(1)
    s = pd.Series(rng.choice(["a", "b"], size=2000))
    y = rng.integers(0, 2, 2000)
    base = rng.random(2000)
    assert chance_spread(y, [(base, base)], s, k=20, scale=0.5) == {"dp": 0.0, "eo": 0.0}
    pairs = [(base, np.clip(base + rng.normal(0, 0.2, 2000), 0, 1)) for _ in range(3)]
    full, half = chance_spread(y, pairs, s, k=20, scale=1.0), chance_spread(y, pairs, s, k=20, scale=0.25)
    assert full["dp"] > 0 and half["dp"] == pytest.approx(full["dp"] / 2)
    p_s, p_r = rng.random(2000), rng.random(2000)
    plain = gap_bootstrap(y, p_s, p_r, s, k=20, rounds=50, seed=0)
    wide = gap_bootstrap(y, p_s, p_r, s, k=20, rounds=50, seed=0, spread=full)
    for gap in ("dp_difference_gap", "eo_difference_gap"):
        a, b = wide[gap], plain[gap]
        assert a["point"] == b["point"] and a["lower"] < b["lower"] and a["upper"] > b["upper"]
    assert wide["tstr"] == plain["tstr"]  # each model's own metrics are the holdout's bootstrap alone
