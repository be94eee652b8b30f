"""The DCR share's interval resamples the two reference tables as well as the synthetic rows."""

from __future__ import annotations

import numpy as np

from synthgov.attacks.leakage import _share_interval, leakage


def test_rows_that_share_one_nearest_real_row_flip_together():
    # 200 synthetic rows at 0.4: a training row at 0 is nearer than the holdout row at 1, so the
    # share is 1, and a bootstrap of the synthetic rows alone calls it certain. But whether that
    # one real row fell on the training side is chance: a resample that leaves it out (about 1 in 3)
    # sends every one of the 200 rows to the holdout.
    syn = np.full((200, 1), 0.4)
    train = np.array([[0.0], [5.0], [6.0], [7.0]])
    holdout = np.array([[1.0], [5.5], [6.5], [7.5]])
    report, _ = leakage(syn, train, holdout, near_quantile=0.01, seed=0)
    share = report["dcr_share"]
    synthetic_rows_only = _share_interval(np.ones(200), seed=0)
    assert share["point"] == 1.0 and synthetic_rows_only["lower"] == 1.0
    assert share["lower"] == 0.0 and share["upper"] == 1.0


def test_independent_rows_keep_the_synthetic_rows_spread():
    # many real rows, synthetic rows independent of both sides: about 0.5, and an interval about
    # as wide as the synthetic rows' binomial spread (each row has its own nearest real rows)
    rng = np.random.default_rng(1)
    train, holdout, syn = (rng.normal(size=(n, 3)) for n in (2000, 2000, 1000))
    share = leakage(syn, train, holdout, near_quantile=0.01, seed=0)[0]["dcr_share"]
    assert 0.44 < share["point"] < 0.56
    assert share["lower"] < 0.5 < share["upper"]
    assert 0.04 < share["upper"] - share["lower"] < 0.12  # binomial alone: 3.92 * 0.016 = 0.062
