"""Drift of a new source against the k-suppressed profile the last release kept."""

from __future__ import annotations

import numpy as np

from synthgov.audit import audit
from synthgov.audit.drift import source_profile
from tests.conftest import small


def test_drift_against_the_last_release_flags_the_shifted_column(params, adult):
    old = source_profile(small(adult[0], 5000, seed=1), params)
    shifted = small(adult[0], 5000, seed=2)
    shifted["hours_per_week"] = np.clip(shifted["hours_per_week"] + 15, 1, 99)
    report, checks = audit(shifted, params, last_profile=old)
    assert report["drift"]["drifted"] == ["hours_per_week"]
    assert not {c.name: c for c in checks}["audit_drift"].passed
