"""The agent's schedule: next check clamped, wake conditions validated and refused with clear messages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.conditions import AtTime, MovePct, PriceAbove
from core.types import PositionSide
from gate.events import GateEventKind
from gate.scheduling import InvalidSchedule
from tests.gate.helpers import BTC, ETH, T0, candle, make_gate, quiet_settings

NOW = T0 + timedelta(minutes=10)


def gate_at_price(price: float = 100.0, **kw: object):  # type: ignore[no-untyped-def]
    gate = make_gate(**kw)  # type: ignore[arg-type]
    gate.observe(candle(0, price))
    return gate


def test_next_check_is_clamped_into_the_timer_bounds() -> None:
    gate = make_gate(quiet_settings(timer_min_s=900, timer_max_s=3600))
    raised = gate.schedule(60, [], NOW)
    assert (raised.requested_s, raised.applied_s, raised.notes) == (
        60,
        900,
        ("next check 60 s raised to the minimum 900 s",),
    )
    lowered = gate.schedule(7200, [], NOW)
    assert (lowered.applied_s, lowered.notes) == (3600, ("next check 7200 s lowered to the maximum 3600 s",))
    plan = gate.schedule(1800, [], NOW)
    assert (plan.applied_s, plan.notes) == (1800, ())
    assert gate.next_check_at == NOW + timedelta(seconds=1800)
    unset = gate.schedule(None, [], NOW)
    assert (unset.applied_s, unset.notes) == (3600, ("no next check given: using the longest interval, 3600 s",))


@pytest.mark.parametrize("bad", [0, -5, True, 1.5, "600"])
def test_a_next_check_that_is_not_positive_whole_seconds_is_refused(bad: object) -> None:
    errors = make_gate().check_schedule(bad, [], NOW)  # type: ignore[arg-type]
    assert errors == [f"next_check_seconds: must be a positive whole number of seconds, got {bad!r}"]


def test_malformed_conditions_name_the_field_and_the_problem() -> None:
    gate = gate_at_price()
    errors = gate.check_schedule(
        600,
        [
            {"kind": "price_above", "price": -1},
            {"kind": "price_sideways", "price": 1},
            {"kind": "move_pct"},
            {"kind": "at_time", "at": "2024-01-01T12:00:00"},
            {"kind": "price_below", "price": 90, "colour": "red"},
        ],
        NOW,
    )
    assert errors[0] == "wake_conditions[0].price: Input should be greater than 0 (got -1)"
    assert errors[1].startswith("wake_conditions[1]: Input tag 'price_sideways' found using 'kind' does not match")
    assert errors[2] == "wake_conditions[2].pct: Field required"
    assert errors[3].startswith("wake_conditions[3].at: Input should have timezone info")
    assert errors[4] == "wake_conditions[4].colour: Extra inputs are not permitted (got 'red')"
    assert len(errors) == 5


def test_conditions_that_already_hold_are_refused_with_the_current_value() -> None:
    gate = gate_at_price(100.0)
    errors = gate.check_schedule(
        600, [{"kind": "price_above", "price": 99}, {"kind": "price_below", "price": 100}], NOW
    )
    assert errors == [
        "wake_conditions[0] (price_above): price_above 99 on BTC/USDT is already true now (last price 100); "
        "a condition fires only when it becomes true, so choose a level beyond the current one",
        "wake_conditions[1] (price_below): price_below 100 on BTC/USDT is already true now (last price 100); "
        "a condition fires only when it becomes true, so choose a level beyond the current one",
    ]


def test_arming_problems_say_what_is_missing() -> None:
    gate = make_gate(symbols=(BTC, ETH))
    errors = gate.check_schedule(
        600,
        [
            {"kind": "move_pct", "pct": 2},
            {"kind": "regime_change"},
            {"kind": "position_pnl_below", "pct": -2},
            {"kind": "price_above", "price": 5, "symbol": "DOGE/USDT"},
            {"kind": "at_time", "at": (NOW + timedelta(seconds=30)).isoformat()},
            {"kind": "at_time", "at": (NOW + timedelta(days=8)).isoformat()},
        ],
        NOW,
    )
    assert errors[0] == "wake_conditions[0] (move_pct): no price seen yet for BTC/USDT: give reference_price"
    assert errors[1] == "wake_conditions[1] (regime_change): no regime known yet for BTC/USDT: give from_regime"
    assert errors[2] == (
        "wake_conditions[2] (position_pnl_below): no open position on BTC/USDT: a position P&L condition needs one"
    )
    assert (
        errors[3] == "wake_conditions[3] (price_above): unknown symbol 'DOGE/USDT'; the gate watches BTC/USDT, ETH/USDT"
    )
    assert "too soon: the earliest allowed is 2024-01-01T00:11:00+00:00" in errors[4]
    assert "too far ahead: the latest allowed is 2024-01-08T00:10:00+00:00" in errors[5]


def test_too_many_conditions_are_refused() -> None:
    gate = gate_at_price(settings=quiet_settings(max_conditions=2))
    errors = gate.check_schedule(600, [{"kind": "price_above", "price": 200 + i} for i in range(3)], NOW)
    assert errors == ["wake_conditions: 3 given, at most 2 allowed"]


def test_a_refused_schedule_changes_nothing() -> None:
    gate = gate_at_price()
    gate.schedule(1200, [PriceAbove(price=150)], NOW)
    before = gate.to_state()
    with pytest.raises(InvalidSchedule) as refused:
        gate.schedule(600, [{"kind": "price_above", "price": 160}, {"kind": "price_below", "price": 120}], NOW)
    assert len(refused.value.errors) == 1
    assert gate.to_state() == before


def test_schedule_fills_references_and_replaces_previous_conditions() -> None:
    gate = gate_at_price(100.0)
    gate.observe_regime(BTC, "low_vol", NOW)
    gate.set_position(BTC, PositionSide.LONG, 98.0)
    gate.schedule(600, [PriceAbove(price=150)], NOW)
    plan = gate.schedule(
        600,
        [
            {"kind": "move_pct", "pct": 2},
            {"kind": "regime_change", "note": "trend may end"},
            {"kind": "position_pnl_above", "pct": 5},
        ],
        NOW,
    )
    move, regime, pnl = plan.conditions
    assert isinstance(move, MovePct)
    assert (move.symbol, move.reference_price) == (BTC, 100.0)
    assert regime.describe() == "regime_change from low_vol on BTC/USDT (trend may end)"
    assert pnl.symbol == BTC
    assert gate.armed_conditions == plan.conditions
    events = gate.drain_events()
    assert [e.kind for e in events] == [GateEventKind.SCHEDULED, GateEventKind.SCHEDULED]
    assert events[-1].detail.startswith("next check in 600 s; move_pct either 2% from 100 on BTC/USDT")


def test_model_instances_are_accepted_like_dicts() -> None:
    gate = gate_at_price()
    at = NOW + timedelta(hours=2)
    plan = gate.schedule(600, [AtTime(at=at), {"kind": "at_time", "at": at.isoformat()}], NOW)
    assert plan.conditions[0] == plan.conditions[1]


def test_wake_condition_schema_is_a_closed_union_on_kind() -> None:
    from core.conditions import WAKE_CONDITIONS

    schema = WAKE_CONDITIONS.json_schema()
    mapping = schema["items"]["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(
        [
            "at_time",
            "move_pct",
            "position_pnl_above",
            "position_pnl_below",
            "price_above",
            "price_below",
            "regime_change",
            "volume_z_above",
        ]
    )
