"""The threat model, replayed end to end: an adversary who knows the code, the params and every row
but one retrains both neighbouring worlds and compares them with the release.

In test mode (DP randomness seeded from params) one world reproduces the release byte for byte:
the adversary learns whether the row was in the data, whatever the claimed epsilon. That is why a
test-mode run is never promoted. In release mode (secret randomness) neither world reproduces it.
Real Opacus DP-SGD on real Adult rows."""

from __future__ import annotations

import io

import pytest

from synthgov.params import load_params
from synthgov.privacy.randomness import dp_randomness, fresh_seed
from synthgov.synthesizers.dpar import DPAutoregressive
from tests.conftest import REPO, small


def _release(rows, params, test_mode: bool) -> bytes:
    """What the pipeline publishes: a table sampled from a model trained on `rows`."""
    model = DPAutoregressive()
    model.fit(rows, params, dp_randomness(test_mode, params.train.seed))
    buf = io.BytesIO()
    model.sample(300, fresh_seed(test_mode, params.generate.seed)).to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def worlds(adult):
    data = small(adult[0], 400, seed=3)
    return data, data.iloc[1:].reset_index(drop=True)  # add-remove neighbours: one row less


@pytest.mark.parametrize("test_mode, replayable", [
    # seeded randomness: the adversary's replay of the true world matches the release exactly
    (True, True),
    # secret randomness: no replay matches, the adversary is left with the DP guarantee
    (False, False),
])
def test_adversary_replays_the_neighbouring_worlds(worlds, test_mode, replayable):
    # Setup: the public params; the real data D holds the target row, D' does not
    params = load_params(REPO / "params", {"train.epochs": 1, "train.sample_rate": 0.25,
                                           "privacy.test_mode": test_mode})
    with_row, without_row = worlds
    published = _release(with_row, params, test_mode)
    # Run: the adversary retrains both worlds with everything public (params, code, seeds in params)
    replay_with = _release(with_row, params, True)
    replay_without = _release(without_row, params, True)
    # Assert
    assert (published == replay_with) is replayable
    assert published != replay_without
