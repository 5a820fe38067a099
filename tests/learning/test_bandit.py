"""Thompson selection on simulated Bernoulli bandits with known win rates (seeded).

Every signal is an arm; a round asks ``compute_weights`` for Thompson samples, trades the arm with
the highest sample, draws a win with that arm's true rate and records the closed trade. Figures are
printed: run ``pytest tests/learning/test_bandit.py -s`` (or ``-rA``) to see them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from core.settings import LearnerSettings
from core.types import Signal
from learning.state import LearnerState, apply_trade
from learning.weights import compute_weights
from tests.learning.trades import closed_trade

WIN_RATES: dict[Signal, float] = dict(zip(Signal, [0.30, 0.38, 0.42, 0.45, 0.35, 0.48, 0.40, 0.50, 0.62], strict=True))
BEST = max(WIN_RATES, key=WIN_RATES.__getitem__)
ROUNDS = 3000
SEEDS = (0, 1, 2, 3, 4)
CHECKPOINTS = (300, 750, 1500, 2250, 3000)


def play(
    rates_at: Sequence[Mapping[Signal, float]], settings: LearnerSettings, seed: int, arms: Sequence[Signal]
) -> list[Signal]:
    """Run len(rates_at) rounds; round t uses the true win rates ``rates_at[t]``. Returns the arm picked each round."""
    choice_rng = np.random.default_rng(seed)
    outcome_rng = np.random.default_rng(10_000 + seed)
    state = LearnerState()
    picks: list[Signal] = []
    for t, rates in enumerate(rates_at):
        weights = compute_weights(state, None, settings, choice_rng)
        arm = max((weights.get(signal) for signal in arms), key=lambda w: w.sample).signal
        win = bool(outcome_rng.random() < rates[arm])
        state = apply_trade(state, closed_trade(f"round-{t}", arm, win=win), settings).state
        picks.append(arm)
    return picks


def test_thompson_regret_is_sublinear_and_it_settles_on_the_best_signal() -> None:
    best_rate = WIN_RATES[BEST]
    uniform_regret_per_round = best_rate - float(np.mean(list(WIN_RATES.values())))
    print(f"\nBernoulli bandit: {len(WIN_RATES)} signals, best {BEST.value} p={best_rate}, {ROUNDS} rounds")
    print(
        f"uniform random selection would lose {uniform_regret_per_round:.3f} per round "
        f"({ROUNDS * uniform_regret_per_round:.0f} over the run)"
    )
    for seed in SEEDS:
        picks = play([WIN_RATES] * ROUNDS, LearnerSettings(), seed, list(Signal))
        regret = np.cumsum([best_rate - WIN_RATES[arm] for arm in picks])
        first_half = regret[ROUNDS // 2 - 1]
        second_half = regret[-1] - first_half
        tail = picks[int(0.8 * ROUNDS) :]
        best_share = sum(arm is BEST for arm in tail) / len(tail)
        per_round = [regret[c - 1] / c for c in CHECKPOINTS]
        at_checkpoints = "  ".join(
            f"R({c})={regret[c - 1]:.1f} ({r:.4f}/round)" for c, r in zip(CHECKPOINTS, per_round, strict=True)
        )
        print(
            f"seed {seed}: {at_checkpoints}\n"
            f"        regret 1st half {first_half:.1f}, 2nd half {second_half:.1f}; "
            f"best-signal share in last 20 %: {best_share:.1%}"
        )
        assert second_half < 0.5 * first_half
        assert all(later < earlier for earlier, later in itertools.pairwise(per_round))
        assert regret[-1] < 0.25 * ROUNDS * uniform_regret_per_round
        assert best_share >= 0.90


def test_discount_follows_a_market_that_changes() -> None:
    """The best signal changes at round 400; a discounted learner switches to the new one sooner."""
    old, new, steady = Signal.MOMENTUM, Signal.BREAKOUT, Signal.MEAN_REVERSION
    before = {old: 0.65, new: 0.40, steady: 0.45}
    after = {old: 0.30, new: 0.65, steady: 0.45}
    change_at, rounds, window = 400, 1200, 300
    schedule = [before] * change_at + [after] * (rounds - change_at)
    print(f"\nbest signal switches at round {change_at}; share of the new best in the next {window} rounds:")
    for seed in (0, 1, 2):
        shares = {}
        for discount in (1.0, 0.97):
            picks = play(schedule, LearnerSettings(discount=discount), seed, [old, new, steady])
            shares[discount] = sum(arm is new for arm in picks[change_at : change_at + window]) / window
        print(f"seed {seed}: discount 1.0 -> {shares[1.0]:.1%}, discount 0.97 -> {shares[0.97]:.1%}")
        assert shares[0.97] > shares[1.0] + 0.15
