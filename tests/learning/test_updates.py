"""Posterior updates on hand-made cases, checked against closed forms and scipy.stats.beta."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from scipy import stats

from core.settings import LearnerSettings
from core.types import ClosedTrade, Signal
from learning.state import LearnerState, RecordOutcome, apply_trade, trade_reward, trade_weight
from learning.weights import _posteriors, posteriors
from tests.learning.trades import closed_trade

MOM, BRK, TREND = Signal.MOMENTUM, Signal.BREAKOUT, Signal.TREND_FOLLOW


def run(trades: list[ClosedTrade], settings: LearnerSettings) -> LearnerState:
    state = LearnerState()
    for trade in trades:
        state = apply_trade(state, trade, settings).state
    return state


def posterior_of(state: LearnerState, signal: Signal, settings: LearnerSettings, regime: str | None = None):
    return next(p for p in posteriors(state, regime, settings) if p.signal is signal)


def test_three_wins_one_loss_match_scipy_beta() -> None:
    settings = LearnerSettings(prior_alpha=2.0, prior_beta=5.0)
    trades = [closed_trade(f"p{i}", MOM, win=w) for i, w in enumerate([True, False, True, True])]
    post = posterior_of(run(trades, settings), MOM, settings)
    reference = stats.beta(2.0 + 3, 5.0 + 1)
    assert (post.alpha, post.beta) == (5.0, 6.0)
    assert post.mean == pytest.approx(reference.mean(), rel=1e-12)
    assert post.ci_low == pytest.approx(reference.ppf(0.025), rel=1e-12)
    assert post.ci_high == pytest.approx(reference.ppf(0.975), rel=1e-12)
    assert reference.cdf(post.ci_high) - reference.cdf(post.ci_low) == pytest.approx(0.95, abs=1e-12)
    assert (post.trades, post.wins, post.losses) == (4, 3, 1)


def test_uncited_signals_stay_at_the_prior() -> None:
    settings = LearnerSettings()
    state = run([closed_trade("p1", MOM, BRK, win=False)], settings)
    trend = posterior_of(state, TREND, settings)
    assert (trend.alpha, trend.beta, trend.trades) == (1.0, 1.0, 0)
    assert trend.ci_low == pytest.approx(0.025) and trend.ci_high == pytest.approx(0.975)
    for signal in (MOM, BRK):
        post = posterior_of(state, signal, settings)
        assert (post.alpha, post.beta, post.trades, post.losses) == (1.0, 2.0, 1, 1)


def test_win_is_net_of_fees() -> None:
    settings = LearnerSettings()
    fee_eaten = closed_trade("p1", MOM, gross_pnl=Decimal("0.30"), fees=Decimal("0.40"))
    break_even = closed_trade("p2", MOM, gross_pnl=Decimal("0.40"), fees=Decimal("0.40"))
    net_positive = closed_trade("p3", MOM, gross_pnl=Decimal("0.41"), fees=Decimal("0.40"))
    post = posterior_of(run([fee_eaten, break_even, net_positive], settings), MOM, settings)
    assert (post.wins, post.losses) == (1, 2)
    assert (post.alpha, post.beta) == (2.0, 3.0)


def test_a_signal_cited_twice_counts_once() -> None:
    settings = LearnerSettings()
    post = posterior_of(run([closed_trade("p1", MOM, MOM)], settings), MOM, settings)
    assert (post.alpha, post.trades) == (2.0, 1)


def test_trade_without_signals_is_ledgered_but_changes_no_posterior() -> None:
    settings = LearnerSettings(discount=0.5)
    before = run([closed_trade("p1", MOM, regime="low_vol")], settings)
    step = apply_trade(before, closed_trade("p2", regime="low_vol"), settings)
    assert step.result.outcome is RecordOutcome.RECORDED
    assert step.result.signals == ()
    assert step.state.is_recorded("p2") and step.state.last_seq == 2
    assert step.state.global_scope == before.global_scope
    assert step.state.regimes == before.regimes
    assert step.state.global_scope.trades == 1


@pytest.mark.parametrize(
    ("r_multiple", "expected_weight"),
    [(2.5, 2.5), (-0.5, 0.5), (-7.0, 3.0), (3.0, 3.0), (float("inf"), 3.0), (0.0, 0.0), (None, 1.0)],
)
def test_r_weight_is_abs_r_clamped_at_the_cap(r_multiple: float | None, expected_weight: float) -> None:
    settings = LearnerSettings(weight_by_r=True, r_weight_cap=3.0)
    assert trade_weight(closed_trade("p", MOM, r_multiple=r_multiple), settings) == expected_weight


def test_r_weighting_off_ignores_r() -> None:
    assert trade_weight(closed_trade("p", MOM, r_multiple=2.5), LearnerSettings()) == 1.0


def test_nan_r_multiple_is_refused_when_weighting_by_r() -> None:
    with pytest.raises(ValueError, match="NaN"):
        trade_weight(closed_trade("p", MOM, r_multiple=float("nan")), LearnerSettings(weight_by_r=True))


def test_r_weighted_posterior() -> None:
    settings = LearnerSettings(weight_by_r=True, r_weight_cap=3.0, reward="win_loss")
    trades = [
        closed_trade("p1", MOM, win=True, r_multiple=2.5),
        closed_trade("p2", MOM, win=False, r_multiple=-1.0),
        closed_trade("p3", MOM, win=False, r_multiple=-6.0),
        closed_trade("p4", MOM, win=True, r_multiple=None),
    ]
    post = posterior_of(run(trades, settings), MOM, settings)
    assert (post.alpha, post.beta) == (1.0 + 2.5 + 1.0, 1.0 + 1.0 + 3.0)
    assert (post.trades, post.wins, post.losses) == (4, 2, 2)
    assert post.mean == pytest.approx(stats.beta(4.5, 5.0).mean())


def test_discount_decays_old_evidence_before_adding() -> None:
    settings = LearnerSettings(discount=0.5)
    trades = [closed_trade("p1", MOM, win=True), closed_trade("p2", MOM, win=True), closed_trade("p3", MOM, win=False)]
    post = posterior_of(run(trades, settings), MOM, settings)
    # win: a=1; win: a=0.5*1+1=1.5; loss: a=0.75, b=0+1 -> Beta(1.75, 2.0) with the Beta(1, 1) prior.
    assert (post.alpha, post.beta) == (1.0 + 0.75, 1.0 + 1.0)
    assert (post.trades, post.wins) == (3, 2)


def test_discount_ages_every_signal_of_the_scope_on_each_trade() -> None:
    settings = LearnerSettings(discount=0.9)
    trades = [closed_trade("p0", BRK, win=True)] + [closed_trade(f"p{i}", MOM, win=False) for i in range(1, 11)]
    state = run(trades, settings)
    breakout = posterior_of(state, BRK, settings)
    momentum = posterior_of(state, MOM, settings)
    assert breakout.alpha == pytest.approx(1.0 + 0.9**10, rel=1e-12)
    assert breakout.trades == 1
    assert momentum.beta == pytest.approx(1.0 + sum(0.9**k for k in range(10)), rel=1e-12)


def test_discount_and_r_weight_combine() -> None:
    settings = LearnerSettings(discount=0.8, weight_by_r=True, r_weight_cap=2.0, reward="win_loss")
    trades = [closed_trade("p1", MOM, win=True, r_multiple=1.5), closed_trade("p2", MOM, win=True, r_multiple=4.0)]
    post = posterior_of(run(trades, settings), MOM, settings)
    assert post.alpha == pytest.approx(1.0 + 0.8 * 1.5 + 2.0, rel=1e-12)


def test_regime_trades_update_global_and_their_own_regime_only() -> None:
    settings = LearnerSettings(discount=0.5)
    trades = [
        closed_trade("p1", MOM, win=True, regime="low_vol"),
        closed_trade("p2", MOM, win=False, regime="high_vol"),
        closed_trade("p3", MOM, win=True, regime="low_vol|risk_on"),
        closed_trade("p4", MOM, win=True),
    ]
    state = run(trades, settings)
    assert sorted(state.regimes) == ["high_vol", "low_vol", "low_vol|risk_on"]
    low = posterior_of(state, MOM, settings, "low_vol")
    high = posterior_of(state, MOM, settings, "high_vol")
    glob = posterior_of(state, MOM, settings)
    # Regime scopes only age on their own trades; global ages on all four.
    assert (low.alpha, low.beta, low.trades) == (2.0, 1.0, 1)
    assert (high.alpha, high.beta, high.trades) == (1.0, 2.0, 1)
    assert glob.alpha == pytest.approx(1.0 + 0.5**3 + 0.5 + 1.0)
    assert glob.beta == pytest.approx(1.0 + 0.5**2)
    assert state.global_scope.trades == 4


def test_bad_regime_label_is_refused() -> None:
    with pytest.raises(ValueError, match="regime label"):
        apply_trade(LearnerState(), closed_trade("p1", MOM, regime=" low_vol"), LearnerSettings())


def test_priors_are_read_at_query_time_not_stored() -> None:
    state = run([closed_trade("p1", MOM, win=True)], LearnerSettings())
    post = posterior_of(state, MOM, LearnerSettings(prior_alpha=3.0, prior_beta=4.0))
    assert (post.alpha, post.beta) == (4.0, 4.0)


def test_posteriors_are_finite_and_ordered_by_signal() -> None:
    settings = LearnerSettings(prior_alpha=0.5, prior_beta=0.5)
    posts = posteriors(LearnerState(), None, settings)
    assert [p.signal for p in posts] == list(Signal)
    for post in posts:
        assert np.isfinite([post.alpha, post.beta, post.mean, post.ci_low, post.ci_high]).all()
        assert 0.0 <= post.ci_low < post.mean < post.ci_high <= 1.0


@pytest.mark.parametrize(
    ("r_multiple", "scale", "reward"),
    [(-1.0, 1.0, 0.0), (-3.0, 1.0, 0.0), (0.0, 1.0, 0.5), (0.5, 1.0, 0.75), (1.0, 1.0, 1.0), (4.0, 1.0, 1.0),
     (-1.0, 2.0, 0.25), (2.0, 2.0, 1.0)],
)
def test_the_reward_maps_r_linearly_into_zero_to_one(r_multiple: float, scale: float, reward: float) -> None:
    settings = LearnerSettings(reward="r_multiple", r_reward_scale=scale)
    assert trade_reward(closed_trade("p", MOM, win=r_multiple > 0, r_multiple=r_multiple), settings) == reward


def test_without_an_r_multiple_or_in_win_loss_mode_a_trade_is_a_whole_win_or_loss() -> None:
    assert trade_reward(closed_trade("p", MOM, win=True), LearnerSettings(reward="r_multiple")) == 1.0
    assert trade_reward(closed_trade("p", MOM, win=False, r_multiple=0.8), LearnerSettings(reward="win_loss")) == 0.0


def test_r_rewards_tell_a_big_winner_from_a_scratch_where_win_loss_cannot() -> None:
    """Two signals, both win half their trades: momentum's wins are +2R, breakout's are +0.1R scratches."""
    momentum = [closed_trade(f"m{i}", MOM, win=i % 2 == 0, r_multiple=2.0 if i % 2 == 0 else -1.0) for i in range(10)]
    breakout = [closed_trade(f"b{i}", BRK, win=i % 2 == 0, r_multiple=0.1 if i % 2 == 0 else -1.0) for i in range(10)]
    by_r, by_count = LearnerSettings(reward="r_multiple", r_reward_scale=2.0), LearnerSettings(reward="win_loss")
    r_state, count_state = run(momentum + breakout, by_r), run(momentum + breakout, by_count)
    assert posterior_of(count_state, MOM, by_count).mean == posterior_of(count_state, BRK, by_count).mean
    assert posterior_of(r_state, MOM, by_r).mean > 0.5 > posterior_of(r_state, BRK, by_r).mean
    post = posterior_of(r_state, MOM, by_r)
    assert (post.alpha, post.beta) == (1.0 + 5 * 1.0 + 5 * 0.25, 1.0 + 5 * 0.0 + 5 * 0.75)
    assert (post.trades, post.wins) == (10, 5), "the counts stay the facts"
    scratch = posterior_of(r_state, BRK, by_r)
    assert scratch.alpha == pytest.approx(1.0 + 5 * 0.525 + 5 * 0.25)
    assert scratch.beta == pytest.approx(1.0 + 5 * 0.475 + 5 * 0.75)


def test_with_scale_one_a_two_r_winner_is_no_better_than_a_one_r_one() -> None:
    """Why the default scale is 2: at 1, rewards saturate at +-1 R and the learner is back to win/loss."""
    settings = LearnerSettings(reward="r_multiple", r_reward_scale=1.0)
    assert trade_reward(closed_trade("a", MOM, r_multiple=2.0), settings) == trade_reward(
        closed_trade("b", MOM, r_multiple=1.0), settings)


def test_a_ledger_entry_from_before_rewards_replays_as_a_whole_win_or_loss() -> None:
    from learning.state import LedgerEntry, replay

    settings = LearnerSettings(reward="r_multiple", r_reward_scale=2.0)
    state = apply_trade(LearnerState(), closed_trade("p1", MOM, win=True, r_multiple=0.2), settings).state
    entry = state.ledger["p1"]
    assert entry.reward == pytest.approx(0.55)
    old = LedgerEntry.model_validate({k: v for k, v in entry.model_dump(mode="json").items() if k != "reward"})
    assert old.reward is None and old.win_share == 1.0
    assert posterior_of(replay([old]), MOM, settings).alpha == 2.0
    assert posterior_of(replay([entry]), MOM, settings).alpha == pytest.approx(1.55)


def test_the_same_evidence_answers_from_memory_and_a_trade_changes_the_answer() -> None:
    """Every decision asks for the posteriors; they change only when a trade closes (``learning.weights``)."""
    settings = LearnerSettings(prior_alpha=2.0, prior_beta=5.0)
    trades = [closed_trade(f"p{i}", MOM if i % 2 else BRK, win=i % 3 != 0) for i in range(7)]
    state = run(trades[:6], settings)
    first = posteriors(state, None, settings)
    assert posteriors(run(trades[:6], settings), None, settings) is first, "equal evidence: the same models"
    _posteriors.cache_clear()
    assert posteriors(state, None, settings) == first, "what the memory holds is what a fresh computation gives"
    later = posteriors(run(trades, settings), None, settings)
    assert later != first and posterior_of(run(trades, settings), MOM, settings) in later
    other_prior = LearnerSettings(prior_alpha=1.0, prior_beta=1.0)
    assert posteriors(state, None, other_prior) != first
