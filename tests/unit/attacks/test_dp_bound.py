"""The membership gate's DP bound: a DP release's TPR at 1 % FPR is bounded whatever the sample."""

from __future__ import annotations

import math

from synthgov.attacks import _tpr_check, dp_tpr_bound


def test_the_smaller_of_two_upper_bounds_decides(params):
    dp = {"epsilon": 1.0, "delta": 1e-5, "tpr_at_0.01_fpr_bound": dp_tpr_bound(1.0, 1e-5)}
    # a few hundred non-members: the empirical upper bound cannot fall under 0.03
    small = _tpr_check(params, 0.042, {"distance": 0.042}, dp)
    assert small.passed and small.score == dp["tpr_at_0.01_fpr_bound"]
    assert small.breakdown["decided_by"] == "dp bound" and small.breakdown["empirical_upper"] == 0.042
    # a large sample resolves a smaller rate than the bound
    large = _tpr_check(params, 0.015, {"distance": 0.015}, dp)
    assert large.passed and large.score == 0.015 and large.breakdown["decided_by"] == "sample"
    # no guarantee (test mode, no DP, a file made elsewhere): the sample alone decides
    assert not _tpr_check(params, 0.042, {"distance": 0.042}, None).passed


def test_a_weak_guarantee_does_not_help():
    assert dp_tpr_bound(3.0, 1e-5) > 0.2
    assert dp_tpr_bound(math.inf, 0.0) == 1.0
