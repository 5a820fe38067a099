"""Weights: Thompson samples, summaries, the regime fallback, determinism and JSON."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from scipy import stats

from core.settings import LearnerSettings
from core.types import Signal
from learning.evidence import ScopeState, SignalEvidence
from learning.state import LearnerState, apply_trade
from learning.weights import LearnerWeights, compute_weights, has_enough_data, thompson_samples
from tests.learning.trades import closed_trade

MOM, BRK = Signal.MOMENTUM, Signal.BREAKOUT


def learned(wins: int, losses: int, regime: str | None = None, signal: Signal = MOM) -> LearnerState:
    state = LearnerState()
    settings = LearnerSettings()
    for i in range(wins + losses):
        state = apply_trade(state, closed_trade(f"p{i}", signal, win=i < wins, regime=regime), settings).state
    return state


def test_regime_with_too_few_trades_falls_back_to_global() -> None:
    settings = LearnerSettings(min_trades=5)
    state = learned(3, 1, regime="low_vol")
    state = apply_trade(state, closed_trade("g1", MOM, win=False), settings).state
    weights = compute_weights(state, "low_vol", settings, np.random.default_rng(1))
    assert (weights.scope, weights.fell_back, weights.enough_data, weights.scope_trades) == ("global", True, True, 5)
    assert weights.get(MOM).alpha == 4.0 and weights.get(MOM).beta == 3.0
    assert not has_enough_data(state, "low_vol", settings)
    assert has_enough_data(state, None, settings)


def test_regime_with_enough_trades_uses_its_own_posteriors() -> None:
    settings = LearnerSettings(min_trades=4)
    state = learned(3, 1, regime="low_vol")
    state = apply_trade(state, closed_trade("g1", MOM, win=False), settings).state
    weights = compute_weights(state, "low_vol", settings, np.random.default_rng(1))
    assert (weights.scope, weights.fell_back, weights.scope_trades) == ("low_vol", False, 4)
    assert (weights.get(MOM).alpha, weights.get(MOM).beta) == (4.0, 2.0)


def test_unknown_regime_falls_back_and_global_without_data_says_so() -> None:
    settings = LearnerSettings(min_trades=20)
    weights = compute_weights(learned(2, 2), "some_macro_label", settings, np.random.default_rng(1))
    assert weights.fell_back and weights.scope == "global" and not weights.enough_data
    assert weights.requested_regime == "some_macro_label"


def test_min_trades_zero_always_has_enough() -> None:
    assert has_enough_data(LearnerState(), "low_vol", LearnerSettings(min_trades=0))


def test_same_seed_same_bytes_and_json_round_trip() -> None:
    settings = LearnerSettings()
    state = learned(7, 3, regime="high_vol")
    first = compute_weights(state, "high_vol", settings, np.random.default_rng(42))
    again = compute_weights(state, "high_vol", settings, np.random.default_rng(42))
    other = compute_weights(state, "high_vol", settings, np.random.default_rng(43))
    assert first.model_dump_json() == again.model_dump_json()
    assert first.model_dump_json() != other.model_dump_json()
    assert LearnerWeights.model_validate_json(first.model_dump_json()) == first
    assert [w.signal for w in first.signals] == list(Signal)


def test_thompson_samples_follow_the_posterior() -> None:
    settings = LearnerSettings()
    state = learned(30, 10)
    rng = np.random.default_rng(2024)
    draws = [thompson_samples(state, None, settings, rng)[MOM] for _ in range(3000)]
    result = stats.kstest(draws, stats.beta(31, 11).cdf)
    print(f"\nKS test of 3000 Thompson draws vs Beta(31, 11): D={result.statistic:.4f} p={result.pvalue:.3f}")
    assert result.pvalue > 0.01
    assert np.mean(draws) == pytest.approx(31 / 42, abs=0.005)


def test_score_and_ranking() -> None:
    settings = LearnerSettings()
    state = learned(9, 1, signal=MOM)
    for i in range(10):
        state = apply_trade(state, closed_trade(f"b{i}", BRK, win=i < 2), settings).state
    weights = compute_weights(state, None, settings, np.random.default_rng(0))
    assert weights.ranked(by="mean")[0].signal is MOM
    assert weights.ranked(by="mean")[-1].signal is BRK
    assert weights.score([MOM]) == pytest.approx(10 / 12)
    assert weights.score([MOM, BRK, MOM]) == pytest.approx((10 / 12 + 3 / 12) / 2)
    with pytest.raises(ValueError):
        weights.score([])


@hyp_settings(max_examples=100, deadline=None)
@given(
    wins=st.floats(min_value=0, max_value=500),
    losses=st.floats(min_value=0, max_value=500),
    prior_alpha=st.floats(min_value=0.1, max_value=10),
    prior_beta=st.floats(min_value=0.1, max_value=10),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_summaries_match_scipy_for_any_evidence(
    wins: float, losses: float, prior_alpha: float, prior_beta: float, seed: int
) -> None:
    settings = LearnerSettings(prior_alpha=prior_alpha, prior_beta=prior_beta)
    scope = ScopeState(trades=1, signals={MOM: SignalEvidence(win_evidence=wins, loss_evidence=losses, trades=1)})
    weights = compute_weights(LearnerState(global_scope=scope), None, settings, np.random.default_rng(seed))
    momentum = weights.get(MOM)
    reference = stats.beta(prior_alpha + wins, prior_beta + losses)
    assert momentum.mean == pytest.approx(reference.mean(), rel=1e-9)
    assert momentum.ci_low == pytest.approx(reference.ppf(0.025), rel=1e-9, abs=1e-300)
    assert momentum.ci_high == pytest.approx(reference.ppf(0.975), rel=1e-9)
    assert 0.0 <= momentum.ci_low <= momentum.mean <= momentum.ci_high <= 1.0
    assert all(0.0 <= w.sample <= 1.0 for w in weights.signals)
