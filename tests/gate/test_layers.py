"""Each wake layer on plain values: candle close, timer, anomaly, conditions, feed stale, cooldown, priority."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.conditions import PriceAbove
from core.types import PositionSide, WakeKind
from gate.events import GateEventKind
from tests.gate.helpers import BTC, ETH, T0, candle, make_gate, quiet_settings, wiggle


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_first_timer_is_start_up_plus_the_maximum_interval_never_zero() -> None:
    gate = make_gate(quiet_settings(timer_max_s=3600))
    assert gate.next_check_at == T0 + timedelta(seconds=3600)
    assert gate.tick(T0) is None
    assert gate.tick(T0 + timedelta(seconds=3599)) is None
    wake = gate.tick(T0 + timedelta(seconds=3600))
    assert wake is not None
    assert (wake.kind, wake.at, wake.symbol) == (WakeKind.TIMER, T0 + timedelta(seconds=3600), None)
    assert wake.detail == "timer: 3600 s since the startup without another look"
    # every wake re-arms the timer at the maximum interval until the agent schedules
    assert gate.next_check_at == T0 + timedelta(seconds=7200)


def test_agent_schedule_sets_the_timer() -> None:
    gate = make_gate(quiet_settings(timer_min_s=600, timer_max_s=3600))
    gate.schedule(900, [], T0 + minutes(1))
    assert gate.tick(T0 + minutes(15)) is None
    wake = gate.tick(T0 + minutes(16))
    assert wake is not None
    assert wake.detail == "timer: the agent's next check is due (asked 900 s, armed for 900 s)"


def test_candle_close_of_a_higher_timeframe_on_the_boundary_and_across_a_gap() -> None:
    gate = make_gate(quiet_settings(candle_close_timeframes=("1h",)))
    woke = [gate.observe(candle(m, 100.0)) for m in range(0, 60, 5)]  # 00:00 .. 00:55 open; last closes 01:00
    assert [w is not None for w in woke] == [False] * 11 + [True]
    last = woke[-1]
    assert last is not None
    assert (last.kind, last.detail, last.at) == (WakeKind.CANDLE_CLOSE, "candle close: BTC/USDT 1h", T0 + minutes(60))
    gate.observe(candle(60, 100.0))  # closes 01:05
    gate.observe(candle(100, 100.0))  # closes 01:45
    after_gap = gate.observe(candle(125, 100.0))  # 01:50-02:05 missing: the 2h boundary was crossed in the gap
    assert after_gap is not None
    assert after_gap.kind is WakeKind.CANDLE_CLOSE


def test_anomaly_on_a_large_return_against_the_baseline() -> None:
    gate = make_gate()
    assert all(gate.observe(c) is None for c in wiggle(60))
    calm = gate.observe(candle(300, 100.15))  # about 1.5 standard deviations
    assert calm is None
    wake = gate.observe(candle(305, 103.0))
    assert wake is not None
    assert wake.kind is WakeKind.ANOMALY
    assert wake.detail.startswith("anomaly on BTC/USDT 5m: return z +")
    assert "(+2.846%)" in wake.detail


def test_anomaly_on_volume_and_downward_moves() -> None:
    gate = make_gate()
    for c in wiggle(60):
        gate.observe(c)
    loud = gate.observe(candle(300, 100.1, volume=5000.0))
    assert loud is not None
    assert "volume z +" in loud.detail
    assert "return z" not in loud.detail
    drop = gate.observe(candle(305, 97.0))
    assert drop is not None
    assert "return z -" in drop.detail


def test_anomaly_layer_is_quiet_until_the_baseline_has_enough_history() -> None:
    gate = make_gate(quiet_settings(anomaly_min_history=50))
    for c in wiggle(30):
        gate.observe(c)
    assert gate.observe(candle(150, 110.0)) is None  # 31 candles seen: too few to judge
    gate = make_gate(quiet_settings(anomaly_min_history=50))
    gate.warm_up(wiggle(60))  # preloaded history counts
    assert gate.drain_events() == []
    assert gate.observe(candle(300, 110.0)) is not None


def test_feed_stale_fires_once_per_silence() -> None:
    gate = make_gate(quiet_settings(feed_stale_s=300))
    gate.observe(candle(0, 100.0))  # closes at 00:05
    assert gate.tick(T0 + minutes(9)) is None
    wake = gate.tick(T0 + minutes(10))
    assert wake is not None
    assert (wake.kind, wake.detail) == (WakeKind.FEED_STALE, "feed stale: no market data for 300 s")
    assert gate.tick(T0 + minutes(30)) is None  # still the same silence
    gate.observe_price(BTC, 100.0, T0 + minutes(31))
    assert gate.tick(T0 + minutes(35)) is None
    again = gate.tick(T0 + minutes(36))
    assert again is not None
    assert again.kind is WakeKind.FEED_STALE


def test_cooldown_suppresses_only_candle_close_wakes_and_journals_them() -> None:
    gate = make_gate(quiet_settings(candle_close_timeframes=("1h",), cooldown_s=900))
    for c in wiggle(60, start_minute=-300):
        gate.observe(c)
    gate.drain_events()
    anomaly = gate.observe(candle(50, 103.0))  # closes 00:55
    assert anomaly is not None
    assert anomaly.kind is WakeKind.ANOMALY
    assert gate.observe(candle(55, 103.0)) is None  # 01:00 close, 5 min after the last wake
    again = gate.observe(candle(60, 106.5))  # an anomaly passes the cooldown
    assert again is not None
    assert again.kind is WakeKind.ANOMALY
    events = gate.drain_events()
    assert [e.kind for e in events] == [GateEventKind.WAKE, GateEventKind.SUPPRESSED, GateEventKind.WAKE]
    held = events[1]
    assert held.suppressed_by == "cooldown"
    assert held.detail == "cooldown: last wake 300 s ago, cooldown 900 s"
    assert held.reason is not None
    assert held.reason.kind is WakeKind.CANDLE_CLOSE


def test_one_wake_per_event_names_every_layer_by_priority() -> None:
    gate = make_gate(quiet_settings(candle_close_timeframes=("1h",)))
    for c in wiggle(60, start_minute=-300):
        gate.observe(c)
    gate.schedule(600, [PriceAbove(price=102.0, note="breakout")], T0 - minutes(1))
    wake = gate.observe(candle(55, 103.0))  # closes 01:00: condition, anomaly, candle close and timer at once
    assert wake is not None
    assert wake.kind is WakeKind.CONDITION
    parts = wake.detail.split("; ")
    assert parts[0] == "condition: price_above 102 on BTC/USDT (breakout)"
    assert parts[1].startswith("anomaly on BTC/USDT 5m: return z +")
    assert parts[2] == "candle close: BTC/USDT 1h"
    assert parts[3].startswith("timer: the agent's next check is due")
    event = gate.drain_events()[-1]
    assert event.layers == (WakeKind.CONDITION, WakeKind.ANOMALY, WakeKind.CANDLE_CLOSE, WakeKind.TIMER)


def test_price_conditions_fire_once_on_ticks_and_on_the_bar_extremes() -> None:
    gate = make_gate()
    gate.observe_price(BTC, 100.0, T0)
    gate.schedule(600, [{"kind": "price_above", "price": 105}, {"kind": "price_below", "price": 95}], T0)
    assert gate.observe_price(BTC, 104.9, T0 + minutes(1)) is None
    up = gate.observe_price(BTC, 105.0, T0 + minutes(2))
    assert up is not None
    assert (up.kind, up.detail, up.symbol) == (WakeKind.CONDITION, "condition: price_above 105 on BTC/USDT", BTC)
    assert gate.observe_price(BTC, 106.0, T0 + minutes(3)) is None  # once
    down = gate.observe(candle(5, 99.0, low=94.0))  # the bar traded through 95 though it closed at 99
    assert down is not None
    assert down.detail == "condition: price_below 95 on BTC/USDT"
    assert gate.armed_conditions == ()


def test_move_pct_directions() -> None:
    gate = make_gate()
    gate.observe_price(BTC, 100.0, T0)
    gate.schedule(600, [{"kind": "move_pct", "pct": 2, "direction": "down"}, {"kind": "move_pct", "pct": 3}], T0)
    assert gate.observe_price(BTC, 102.5, T0 + minutes(1)) is None
    first = gate.observe_price(BTC, 103.0, T0 + minutes(2))
    assert first is not None
    assert "move_pct either 3% from 100" in first.detail
    second = gate.observe_price(BTC, 98.0, T0 + minutes(3))
    assert second is not None
    assert "move_pct down 2% from 100" in second.detail


@pytest.mark.parametrize(
    ("side", "bad_price", "good_price"), [(PositionSide.LONG, 97.9, 104.0), (PositionSide.SHORT, 102.1, 96.0)]
)
def test_position_pnl_conditions_follow_the_side(side: PositionSide, bad_price: float, good_price: float) -> None:
    gate = make_gate()
    gate.observe_price(BTC, 100.0, T0)
    gate.set_position(BTC, side, 100.0)
    gate.schedule(600, [{"kind": "position_pnl_below", "pct": -2}, {"kind": "position_pnl_above", "pct": 4}], T0)
    loss = gate.observe_price(BTC, bad_price, T0 + minutes(1))
    assert loss is not None
    assert loss.detail == "condition: position_pnl_below -2% on BTC/USDT"
    profit = gate.observe_price(BTC, good_price, T0 + minutes(2))
    assert profit is not None
    assert profit.detail == "condition: position_pnl_above 4% on BTC/USDT"


def test_pnl_conditions_sleep_while_flat() -> None:
    gate = make_gate()
    gate.observe_price(BTC, 100.0, T0)
    gate.set_position(BTC, PositionSide.LONG, 100.0)
    gate.schedule(600, [{"kind": "position_pnl_below", "pct": -2}], T0)
    gate.clear_position(BTC)
    assert gate.observe_price(BTC, 90.0, T0 + minutes(1)) is None
    assert len(gate.armed_conditions) == 1


def test_volume_regime_and_time_conditions() -> None:
    gate = make_gate(symbols=(BTC, ETH))
    for c in wiggle(60):
        gate.observe(c)
    now = T0 + minutes(300)
    gate.observe_regime(BTC, "low_vol", now)
    at = now + timedelta(hours=1)
    gate.schedule(
        600,
        [{"kind": "volume_z_above", "z": 3}, {"kind": "regime_change"}, {"kind": "at_time", "at": at.isoformat()}],
        now,
    )
    assert gate.observe_regime(ETH, "high_vol", now) is None  # another symbol
    assert gate.observe_regime(BTC, "low_vol", now) is None
    regime = gate.observe_regime(BTC, "high_vol", now + minutes(1))
    assert regime is not None
    assert regime.detail == "condition: regime_change from low_vol on BTC/USDT"
    volume = gate.observe(candle(300, 100.1, volume=400.0))
    assert volume is not None
    assert volume.detail.startswith("condition: volume_z_above 3 on BTC/USDT")
    assert gate.tick(at - timedelta(seconds=1)) is None
    timed = gate.tick(at)
    assert timed is not None
    assert (timed.kind, timed.symbol) == (WakeKind.CONDITION, None)


def test_the_gate_refuses_unknown_symbols_and_mixed_timeframes() -> None:
    gate = make_gate()
    with pytest.raises(ValueError, match="does not watch 'ETH/USDT'"):
        gate.observe(candle(0, 1.0, symbol=ETH))
    gate.observe(candle(0, 1.0))
    with pytest.raises(ValueError, match="feed the gate one base timeframe per symbol"):
        gate.observe(candle(5, 1.0, timeframe="1m"))
    with pytest.raises(ValueError, match="naive"):
        gate.tick(T0.replace(tzinfo=None))


def test_time_never_goes_back() -> None:
    gate = make_gate(quiet_settings(timer_max_s=3600))
    gate.tick(T0 + timedelta(seconds=3000))
    late = gate.observe_price(BTC, 100.0, T0)  # an out-of-order event is held at the latest time
    assert late is None
    wake = gate.observe_price(BTC, 100.0, T0 + timedelta(seconds=3600))
    assert wake is not None
    assert wake.at == T0 + timedelta(seconds=3600)
