"""The encoder is a function of the declared schema: the DP path reads no private statistic."""

import numpy as np

from synthgov.synthesizers.encoding import TabularEncoder
from synthgov.synthesizers.dpar import DPAutoregressive


def test_encoder_ignores_extremes_and_rare_categories(params, adult):
    # Setup: the same source, but with extreme values and a rare category changed
    train = adult[0].head(2000).copy()
    changed = train.copy()
    changed.loc[0, "age"] = 90
    changed.loc[1, "capital_gain"] = 99999
    changed.loc[2, "native_country"] = "Holand-Netherlands"
    columns = DPAutoregressive.column_order(params)
    # Run
    a, b = TabularEncoder(params.schema_, columns), TabularEncoder(params.schema_, columns)
    a.encode(train), b.encode(changed)
    # Assert: the fitted encoder is a function of the declared schema only
    assert a.state() == b.state()


def test_encode_decode_keeps_categories_and_bins(params, adult):
    train = adult[0].head(500)
    enc = TabularEncoder(params.schema_, list(params.schema_))
    codes = enc.encode(train)
    back = enc.decode(codes, np.random.default_rng(0))
    assert (back["sex"] == train["sex"]).all()
    assert back["age"].between(17, 90).all()
    assert np.array_equal(enc.encode(back), codes)


def test_a_declared_point_has_its_own_code_and_is_released_exactly():
    """A zero-inflated amount: the zeros keep their mass at 0 (a bin would smear them over its width)."""
    import pandas as pd
    import pytest

    from synthgov.params import ColumnSchema

    spec = {"amount": ColumnSchema(type="numeric", lower=0, upper=8, bins=4, points=[0.0])}
    enc = TabularEncoder(spec, ["amount"])
    values = pd.DataFrame({"amount": [0.0, 0.0, 0.5, 3.0, 8.0, 9.5]})
    codes = enc.encode(values)[:, 0]
    assert enc.cards == [5] and codes.tolist() == [0, 0, 1, 2, 4, 4]  # the point first, then 4 bins
    back = enc.decode(np.array([[0]] * 50 + [[1]] * 50), np.random.default_rng(0))["amount"]
    assert (back[:50] == 0.0).all() and back[50:].between(0, 2).all() and (back[50:] > 0).all()
    without = TabularEncoder({"amount": spec["amount"].model_copy(update={"points": []})}, ["amount"])
    assert (without.decode(np.zeros((50, 1), dtype=int), np.random.default_rng(0))["amount"] > 0).all()
    with pytest.raises(ValueError, match="'points' must be distinct values within"):
        ColumnSchema(type="numeric", lower=1, upper=8, points=[0.0])


def test_an_integer_bin_never_decodes_to_a_point_inside_it():
    """hours_per_week's bin [45, 50) holds the point 45: a row of that bin is 46-49, never 45 (a
    point has its own code; decoding a bin to it would move rows onto the point)."""
    from synthgov.params import ColumnSchema

    spec = ColumnSchema(type="numeric", lower=1, upper=99, integer=True, bins=[1, 40, 45, 50, 100],
                        points=[45, 47, 40])
    enc = TabularEncoder({"h": spec}, ["h"])
    codes = np.full((4000, 1), 3 + 2)  # the bin [45, 50): after the 3 points' codes, the third bin
    out = enc.decode(codes, np.random.default_rng(0))["h"]
    assert set(out) == {46.0, 48.0, 49.0}
    assert np.array_equal(enc.encode(out.to_frame()), codes)
