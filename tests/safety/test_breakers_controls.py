"""Breaker state machines and operator controls: transitions, persistence round trips."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.ids import PositionId
from core.ports import CommandStatus, OperatorCommand
from core.settings import RiskSettings
from core.types import ClosedTrade, ExitReason, PositionSide
from safety.breakers import (
    BreakerBoard,
    BreakerState,
    ExchangeBreaker,
    TradingBreaker,
    TripReason,
    exchange_on_clock,
    exchange_on_error,
    exchange_on_success,
    trading_on_agent_order,
    trading_on_clock,
    trading_on_trade_closed,
)
from safety.controls import Controls, apply_command
from tests.safety.builders import SPOT, T0

RISK = RiskSettings()


def trade(net: str, at_minutes: int = 0) -> ClosedTrade:
    pnl = Decimal(net)
    return ClosedTrade(
        position_id=PositionId("p1"),
        symbol=SPOT,
        side=PositionSide.LONG,
        quantity=Decimal(1),
        entry_price=Decimal(100),
        exit_price=Decimal(100) + pnl,
        opened_at=T0,
        closed_at=T0 + timedelta(minutes=at_minutes),
        gross_pnl=pnl,
        fees=Decimal(0),
        exit_reason=ExitReason.STOP_LOSS,
        signals=(),
    )


def fresh() -> TradingBreaker:
    return TradingBreaker(day=T0.date(), day_start_equity=Decimal(10000))


def test_daily_loss_trips_until_next_utc_day() -> None:
    b, events = trading_on_trade_closed(fresh(), trade("-250"), RISK, T0)
    assert not b.is_open and not events
    b, events = trading_on_trade_closed(b, trade("-150"), RISK, T0)
    assert b.is_open and b.reason is TripReason.DAILY_LOSS
    assert events[0].transition is BreakerState.OPEN and "4.0%" in events[0].reason
    assert b.closes_at is not None and b.closes_at.date() == T0.date() + timedelta(days=1)
    same_day, none = trading_on_clock(b, Decimal(9600), T0 + timedelta(hours=11))
    assert same_day.is_open and not none
    next_day, closed = trading_on_clock(b, Decimal(9600), T0 + timedelta(hours=12))
    assert not next_day.is_open and closed[0].transition is BreakerState.CLOSED
    assert next_day.day_start_equity == Decimal(9600) and next_day.trades == 0


def test_trade_count_trips() -> None:
    b = fresh()
    for _ in range(RISK.max_trades_per_day - 1):
        b, _ = trading_on_trade_closed(b, trade("1"), RISK, T0)
    assert not b.is_open
    b, events = trading_on_trade_closed(b, trade("1"), RISK, T0)
    assert b.reason is TripReason.TRADES_PER_DAY and events


def test_losing_streak_trips_for_the_cooldown_then_resets() -> None:
    b = fresh()
    for net in ("-1", "-1", "5", "-1", "-1", "-1"):
        b, _ = trading_on_trade_closed(b, trade(net), RISK, T0)
    assert not b.is_open and b.consecutive_losses == 3
    b, _ = trading_on_trade_closed(b, trade("-1"), RISK, T0)
    assert b.reason is TripReason.CONSECUTIVE_LOSSES
    assert b.closes_at == T0 + timedelta(seconds=RISK.breaker_cooldown_s)
    b, events = trading_on_clock(b, Decimal(10000), T0 + timedelta(seconds=RISK.breaker_cooldown_s))
    assert not b.is_open and b.consecutive_losses == 0 and events


def test_streak_cooldown_never_outlasts_the_day() -> None:
    late = T0.replace(hour=23)
    b = fresh()
    for _ in range(RISK.max_consecutive_losses):
        b, _ = trading_on_trade_closed(b, trade("-1"), RISK, late)
    assert b.closes_at == late.replace(hour=0) + timedelta(days=1)


def test_agent_orders_are_counted_and_reset_daily() -> None:
    b = trading_on_agent_order(trading_on_agent_order(fresh()))
    assert b.agent_orders == 2
    b, _ = trading_on_clock(b, Decimal(1), T0 + timedelta(days=1))
    assert b.agent_orders == 0


def test_exchange_breaker_opens_half_opens_and_closes() -> None:
    b = ExchangeBreaker()
    for i in range(RISK.exchange_error_threshold - 1):
        b, events = exchange_on_error(b, f"timeout {i}", RISK, T0)
        assert b.state is BreakerState.CLOSED and not events
    b, events = exchange_on_error(b, "timeout", RISK, T0)
    assert b.state is BreakerState.OPEN and events[0].transition is BreakerState.OPEN
    b, _ = exchange_on_success(b, T0)
    assert b.state is BreakerState.OPEN, "only the probe after the cooldown closes it"
    b, events = exchange_on_clock(b, RISK, T0 + timedelta(seconds=RISK.exchange_error_cooldown_s - 1))
    assert b.state is BreakerState.OPEN and not events
    b, events = exchange_on_clock(b, RISK, T0 + timedelta(seconds=RISK.exchange_error_cooldown_s))
    assert b.state is BreakerState.HALF_OPEN
    b, events = exchange_on_success(b, T0)
    assert b == ExchangeBreaker() and events[0].transition is BreakerState.CLOSED


def test_failed_probe_reopens_at_once() -> None:
    b = ExchangeBreaker(state=BreakerState.HALF_OPEN, consecutive_errors=5, opened_at=T0)
    later = T0 + timedelta(minutes=10)
    b, events = exchange_on_error(b, "still down", RISK, later)
    assert b.state is BreakerState.OPEN and b.opened_at == later and "probe_failed" in events[0].reason


def test_success_resets_the_error_count() -> None:
    b, _ = exchange_on_error(ExchangeBreaker(), "x", RISK, T0)
    b, _ = exchange_on_success(b, T0)
    assert b.consecutive_errors == 0


def test_board_round_trips_through_json() -> None:
    board = BreakerBoard.fresh(Decimal("1234.5"), T0).model_copy(
        update={"controls": Controls(halted=True, halt_reason="x", halted_at=T0), "reconciled_at": T0}
    )
    again = BreakerBoard.from_dict(board.to_dict())
    assert again == board


def command(kind: str, key: str = "k1", **args: object) -> OperatorCommand:
    return OperatorCommand(idempotency_key=key, kind=kind, args=dict(args), submitted_at=T0)


def test_halt_and_resume() -> None:
    out = apply_command(Controls(), command("halt", reason="news", flatten=True), T0)
    assert out.status is CommandStatus.APPLIED and out.controls.halted and out.flatten
    again = apply_command(out.controls, command("halt", reason="other"), T0 + timedelta(minutes=1))
    assert again.controls == out.controls and again.result["already"]
    resumed = apply_command(out.controls, command("resume"), T0)
    assert resumed.controls == Controls() and resumed.result["was_halted"]


def test_a_halt_without_a_reason_still_halts_and_unknown_kinds_fail() -> None:
    halted = apply_command(Controls(), command("halt"), T0)
    assert halted.status is CommandStatus.APPLIED and halted.controls.halted
    assert halted.controls.halt_reason == "no readable reason given"
    bad = apply_command(Controls(), command("explode", reason="x"), T0)
    assert bad.status is CommandStatus.FAILED and "explode" in bad.result["error"]
    assert bad.controls == Controls()


def test_sleep_extends_but_never_shortens() -> None:
    out = apply_command(Controls(), command("sleep", minutes=30, reason="fomc"), T0)
    assert out.controls.sleeping(T0 + timedelta(minutes=29)) and not out.controls.sleeping(T0 + timedelta(minutes=30))
    shorter = apply_command(out.controls, command("sleep", minutes=10, reason="x"), T0)
    assert shorter.controls.sleep_until == out.controls.sleep_until
    for minutes in (0, -5, "10", True, 9_999_999_999, 30 * 24 * 60 + 1):
        assert (
            apply_command(Controls(), command("sleep", minutes=minutes, reason="x"), T0).status
            is CommandStatus.FAILED
        )
