"""The rules backend: deterministic scoring, and entries/exits through the same tools and veto."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.rules import IN_POSITION_CHECK_S, RulesBackend, normalize_weights, score_signals, stop_distance_pct
from core.canonical import canonical_json
from core.settings import LLMSettings, RiskSettings
from tests.agent.conftest import MakeDesk
from tests.engine_desk import RecordingDesk
from tests.tools.helpers import make_request, make_snapshot
from tools.context import ListJournal


def rules(desk: RecordingDesk, journal: ListJournal) -> RulesBackend:
    return RulesBackend(llm=LLMSettings(), risk=RiskSettings(), desk=desk, journal=journal, seed=7)


async def test_enters_long_through_the_tools_with_a_stop_inside_the_bounds(desk: RecordingDesk) -> None:
    journal = ListJournal()
    record = await rules(desk, journal).decide(make_request())
    names = [c.name for c in record.tool_calls]
    assert names == ["get_portfolio", "get_learner_weights", "place_order", "schedule_next_check"]
    order = record.tool_calls[2]
    assert not order.is_error and order.arguments["signals"][0] in ("trend_follow", "momentum")
    assert 0.3 <= (50_000 - order.arguments["stop_loss_price"]) / 500 <= 8.0
    assert record.backend == "rules" and record.next_check_seconds == IN_POSITION_CHECK_S and "BTC/USDT" in desk.positions


async def test_equal_weights_ignore_the_learner(desk: RecordingDesk) -> None:
    """The ablation baseline: every signal weighs 0.5, the learner is not asked."""
    agent = RulesBackend(llm=LLMSettings(rules_weights="equal"), risk=RiskSettings(), desk=desk,
                         journal=ListJournal(), seed=7)
    snap = {**make_snapshot(), "learner_weights": {"trend_follow": {"sample": 0.01}, "momentum": {"sample": 0.99}}}
    record = await agent.decide(make_request(snap))
    assert [c.name for c in record.tool_calls] == ["get_portfolio", "place_order", "schedule_next_check"]
    assert "trend_follow=+0.80x0.50" in record.reasoning and "momentum=+0.60x0.50" in record.reasoning


async def test_same_snapshot_same_seed_same_record(make_desk: MakeDesk) -> None:
    snap = {**make_snapshot(), "learner_weights": {"trend_follow": {"alpha": 3, "beta": 2},
                                                    "momentum": {"alpha": 1, "beta": 4}}}
    first = await rules(await make_desk("a"), ListJournal()).decide(make_request(snap))
    second = await rules(await make_desk("b"), ListJournal()).decide(make_request(snap))
    assert canonical_json(first.model_dump(mode="json")) == canonical_json(second.model_dump(mode="json"))
    assert [c.name for c in first.tool_calls][1] == "place_order"  # weights came from the snapshot


async def test_exits_when_signals_turn_against_the_position(desk: RecordingDesk) -> None:
    snap = {**make_snapshot(), "signals": {"trend_follow": -0.9, "momentum": -0.7}}
    await desk.hold_long(stop="49000")
    record = await rules(desk, ListJournal()).decide(make_request(snap))
    assert "close_position" in [c.name for c in record.tool_calls] and desk.positions == {}


async def test_short_signal_on_spot_stands_aside(desk: RecordingDesk) -> None:
    snap = {**make_snapshot(), "signals": {"trend_follow": -0.9}}
    record = await rules(desk, ListJournal()).decide(make_request(snap))
    assert "place_order" not in [c.name for c in record.tool_calls] and "spot" in record.reasoning


def test_accepts_the_learners_weights_json() -> None:
    learner_json = {"scope": "global", "signals": [
        {"signal": "trend_follow", "alpha": 5.0, "beta": 2.0, "mean": 0.71, "sample": 0.9},
        {"signal": "momentum", "alpha": 1.0, "beta": 1.0, "mean": 0.5, "sample": 0.1}]}
    weights = normalize_weights(learner_json)
    score = score_signals({"trend_follow": 1.0, "momentum": -1.0}, weights, random.Random(1))
    assert score.value == pytest.approx((0.9 - 0.1) / 1.0)
    assert normalize_weights({"trend_follow": {"mean": 0.6}}) == {"trend_follow": {"mean": 0.6}}
    assert normalize_weights(None) == {}


@given(st.dictionaries(st.sampled_from(["trend_follow", "momentum", "breakout", "bogus"]),
                       st.floats(-5, 5, allow_nan=False), max_size=4), st.integers(0, 10_000))
def test_score_is_bounded_and_seeded(votes: dict[str, float], seed: int) -> None:
    weights = {"trend_follow": {"alpha": 2, "beta": 3}, "momentum": {"mean": 0.9}}
    a = score_signals(votes, weights, random.Random(seed))
    b = score_signals(votes, weights, random.Random(seed))
    assert a == b and -1 <= a.value <= 1
    assert all(s.value != "bogus" for s, _, _ in a.contributions)


@given(st.floats(0, 50, allow_nan=False))
def test_stop_distance_stays_inside_the_veto_bounds(atr_pct: float) -> None:
    risk = RiskSettings()
    assert risk.stop_min_distance_pct < stop_distance_pct(atr_pct, risk) < risk.stop_max_distance_pct
