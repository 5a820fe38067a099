"""The incremental exponentially weighted moments equal the weighted moments computed directly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.stats import EwMoments, decay_per_step

values = st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=1, max_size=300)
decays = st.floats(min_value=0.5, max_value=1.0)


def direct(xs: list[float], decay: float) -> tuple[float, float]:
    weights = decay ** np.arange(len(xs) - 1, -1, -1, dtype=float)
    x = np.asarray(xs)
    mean = float((weights * x).sum() / weights.sum())
    var = float((weights * (x - mean) ** 2).sum() / weights.sum())
    return mean, var


@settings(max_examples=200, deadline=None)
@given(values, decays)
def test_matches_the_directly_weighted_mean_and_variance(xs: list[float], decay: float) -> None:
    moments = EwMoments(decay)
    for x in xs:
        moments.update(x)
    mean, var = direct(xs, decay)
    assert moments.mean == pytest.approx(mean, rel=1e-9, abs=1e-9)
    assert moments.std() ** 2 == pytest.approx(var, rel=1e-7, abs=1e-7)
    assert moments.count == len(xs)


def test_decay_one_is_the_plain_mean_and_population_variance() -> None:
    moments = EwMoments(1.0)
    for x in (1.0, 2.0, 3.0, 4.0):
        moments.update(x)
    assert moments.mean == 2.5
    assert moments.std() == pytest.approx(math.sqrt(1.25))


def test_zscore_is_none_without_spread_and_scores_against_the_past() -> None:
    moments = EwMoments(0.9)
    assert moments.zscore(1.0) is None
    moments.update(5.0)
    assert moments.zscore(6.0) is None  # one sample: no spread yet
    moments.update(7.0)
    z = moments.zscore(10.0)
    assert z is not None
    assert z == pytest.approx((10.0 - moments.mean) / moments.std())


def test_half_life_decay() -> None:
    assert decay_per_step(300, 300) == 0.5
    assert decay_per_step(300, 600) == pytest.approx(math.sqrt(0.5))
    with pytest.raises(ValueError):
        decay_per_step(0, 10)


@given(values, decays)
def test_state_round_trips_exactly_through_json(xs: list[float], decay: float) -> None:
    moments = EwMoments(decay)
    for x in xs:
        moments.update(x)
    restored = EwMoments.from_state(decay, json.loads(json.dumps(moments.to_state())))
    assert restored == moments
    restored.update(1.5)
    moments.update(1.5)
    assert restored == moments
