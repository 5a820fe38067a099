"""Circuit breakers as pure state machines (persisted as JSON, every transition journaled).

* **Trading breaker**: trips on the day's realized loss (% of the equity at the start of the UTC
  day), on the number of closed trades per day, or on consecutive losing trades. While open the
  account is REDUCING: exits only. A daily-loss or trade-count trip lasts until the next UTC day;
  a losing-streak trip lasts ``breaker_cooldown_s`` or until the next UTC day, whichever is first.
* **Exchange-error breaker**: ``exchange_error_threshold`` consecutive broker errors open it
  (REDUCING + alert), and so does a reconnect storm on the exchange's streams (``exchange_tripped``);
  after ``exchange_error_cooldown_s`` it is half-open, the executor sends one
  cheap probe call, and the probe's outcome closes or re-opens it.

Every function takes the state and ``now`` and returns a new state plus the transitions that
happened, which the caller journals and alerts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.settings import RiskSettings
from core.types import ClosedTrade
from safety.controls import Controls

_STATE = ConfigDict(frozen=True, extra="forbid")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class TripReason(StrEnum):
    DAILY_LOSS = "daily_loss"
    TRADES_PER_DAY = "trades_per_day"
    CONSECUTIVE_LOSSES = "consecutive_losses"
    EXCHANGE_ERRORS = "exchange_errors"
    PROBE_FAILED = "probe_failed"
    STREAM_STORM = "stream_storm"


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """One transition, for the journal and the alert: ``opened``, ``half_open`` or ``closed``."""

    breaker: str
    transition: BreakerState
    reason: str
    at: datetime

    def payload(self) -> dict[str, Any]:
        return {"breaker": self.breaker, "transition": self.transition.value, "reason": self.reason}


class TradingBreaker(BaseModel):
    """The day's trading counters and the breaker they drive."""

    model_config = _STATE

    day: date
    day_start_equity: Decimal
    realized_pnl: Decimal = Decimal(0)
    """Net P&L of trades closed today."""
    trades: int = 0
    agent_orders: int = 0
    """Orders the agent asked for today (entries, take-profit changes), capped by ``max_orders_per_day``.
    Protective stops and exits are not counted: they are never blocked."""
    consecutive_losses: int = 0
    state: BreakerState = BreakerState.CLOSED
    reason: TripReason | None = None
    opened_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state is not BreakerState.CLOSED


class ExchangeBreaker(BaseModel):
    model_config = _STATE

    state: BreakerState = BreakerState.CLOSED
    consecutive_errors: int = 0
    opened_at: AwareDatetime | None = None
    last_error: str | None = None


class BreakerBoard(BaseModel):
    """Everything that can stop entries, in one persisted document."""

    model_config = _STATE

    trading: TradingBreaker
    exchange: ExchangeBreaker = ExchangeBreaker()
    controls: Controls = Controls()
    persistence_ok: bool = True
    """False after a failed state save until a retry succeeds: REDUCING meanwhile."""
    reconciled_at: AwareDatetime | None = None
    """When reconciliation with the exchange last succeeded in this run; ``None`` blocks entries."""
    last_exit_at: dict[str, AwareDatetime] = {}
    """Per symbol, when its last position closed (the re-entry cooldown starts there)."""
    banned_until: AwareDatetime | None = None
    """Binance banned the IP (418) until then: nothing is sent to the exchange before it (a request during a ban
    prolongs it, from 2 minutes up to 3 days); cleared by the first answer after it."""

    def banned(self, now: datetime) -> bool:
        return self.banned_until is not None and now < self.banned_until

    @classmethod
    def fresh(cls, equity: Decimal, now: datetime) -> BreakerBoard:
        return cls(trading=TradingBreaker(day=now.date(), day_start_equity=equity))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakerBoard:
        return cls.model_validate(data)


# ------------------------------------------------------------------ trading breaker


def _next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)


def trading_on_clock(
    breaker: TradingBreaker, equity: Decimal, now: datetime
) -> tuple[TradingBreaker, tuple[BreakerEvent, ...]]:
    """Roll the day over at UTC midnight (counters reset) and close an expired trip."""
    events: list[BreakerEvent] = []
    if now.date() != breaker.day:
        if breaker.is_open:
            events.append(BreakerEvent("trading", BreakerState.CLOSED, "new UTC day", now))
        streak = 0 if breaker.is_open else breaker.consecutive_losses
        return TradingBreaker(day=now.date(), day_start_equity=equity, consecutive_losses=streak), tuple(events)
    if breaker.is_open and breaker.closes_at is not None and now >= breaker.closes_at:
        events.append(BreakerEvent("trading", BreakerState.CLOSED, "cooldown elapsed", now))
        closed = breaker.model_copy(
            update={
                "state": BreakerState.CLOSED,
                "reason": None,
                "opened_at": None,
                "closes_at": None,
                "consecutive_losses": 0,
            }
        )
        return closed, tuple(events)
    return breaker, ()


def trading_on_agent_order(breaker: TradingBreaker) -> TradingBreaker:
    return breaker.model_copy(update={"agent_orders": breaker.agent_orders + 1})


def trading_on_trade_closed(
    breaker: TradingBreaker, trade: ClosedTrade, limits: RiskSettings, now: datetime
) -> tuple[TradingBreaker, tuple[BreakerEvent, ...]]:
    """Count a closed trade and trip the breaker when a daily limit is reached."""
    streak = 0 if trade.is_win else breaker.consecutive_losses + 1
    counted = breaker.model_copy(
        update={
            "realized_pnl": breaker.realized_pnl + trade.net_pnl,
            "trades": breaker.trades + 1,
            "consecutive_losses": streak,
        }
    )
    if counted.is_open:
        return counted, ()
    trip = _trip_reason(counted, limits)
    if trip is None:
        return counted, ()
    closes_at = _next_midnight(now)
    if trip is TripReason.CONSECUTIVE_LOSSES:
        closes_at = min(closes_at, now + timedelta(seconds=limits.breaker_cooldown_s))
    opened = counted.model_copy(
        update={"state": BreakerState.OPEN, "reason": trip, "opened_at": now, "closes_at": closes_at}
    )
    return opened, (BreakerEvent("trading", BreakerState.OPEN, _describe(trip, counted, limits), now),)


def _trip_reason(breaker: TradingBreaker, limits: RiskSettings) -> TripReason | None:
    if breaker.day_start_equity > 0:
        loss_pct = -breaker.realized_pnl / breaker.day_start_equity * 100
        if loss_pct >= Decimal(repr(limits.daily_loss_limit_pct)):
            return TripReason.DAILY_LOSS
    if breaker.trades >= limits.max_trades_per_day:
        return TripReason.TRADES_PER_DAY
    if breaker.consecutive_losses >= limits.max_consecutive_losses:
        return TripReason.CONSECUTIVE_LOSSES
    return None


def _describe(trip: TripReason, breaker: TradingBreaker, limits: RiskSettings) -> str:
    match trip:
        case TripReason.DAILY_LOSS:
            return (
                f"daily loss {breaker.realized_pnl} on start equity {breaker.day_start_equity} reached "
                f"the {limits.daily_loss_limit_pct}% limit"
            )
        case TripReason.TRADES_PER_DAY:
            return f"{breaker.trades} trades today reached the limit of {limits.max_trades_per_day}"
        case TripReason.CONSECUTIVE_LOSSES:
            return (
                f"{breaker.consecutive_losses} consecutive losses reached the limit of {limits.max_consecutive_losses}"
            )
        case _:
            return trip.value


# ------------------------------------------------------------------ exchange-error breaker


def exchange_on_error(
    breaker: ExchangeBreaker, error: str, limits: RiskSettings, now: datetime
) -> tuple[ExchangeBreaker, tuple[BreakerEvent, ...]]:
    """Count a broker error; open at the threshold, re-open at once when the half-open probe fails."""
    errors = breaker.consecutive_errors + 1
    if breaker.state is BreakerState.HALF_OPEN:
        reopened = ExchangeBreaker(state=BreakerState.OPEN, consecutive_errors=errors, opened_at=now, last_error=error)
        return reopened, (BreakerEvent("exchange", BreakerState.OPEN, f"{TripReason.PROBE_FAILED}: {error}", now),)
    if breaker.state is BreakerState.CLOSED and errors >= limits.exchange_error_threshold:
        opened = ExchangeBreaker(state=BreakerState.OPEN, consecutive_errors=errors, opened_at=now, last_error=error)
        why = f"{TripReason.EXCHANGE_ERRORS}: {errors} consecutive errors, last: {error}"
        return opened, (BreakerEvent("exchange", BreakerState.OPEN, why, now),)
    return breaker.model_copy(update={"consecutive_errors": errors, "last_error": error}), ()


def exchange_tripped(
    breaker: ExchangeBreaker, reason: str, now: datetime
) -> tuple[ExchangeBreaker, tuple[BreakerEvent, ...]]:
    """Trouble with the exchange seen outside a call (a reconnect storm on its streams): open now, whatever
    the count; an open breaker stays as it is (its cooldown runs from the first trip), a half-open one re-opens."""
    if breaker.state is BreakerState.OPEN:
        return breaker, ()
    opened = ExchangeBreaker(state=BreakerState.OPEN, consecutive_errors=breaker.consecutive_errors,
                             opened_at=now, last_error=reason)
    return opened, (BreakerEvent("exchange", BreakerState.OPEN, f"{TripReason.STREAM_STORM}: {reason}", now),)


def exchange_on_success(breaker: ExchangeBreaker, now: datetime) -> tuple[ExchangeBreaker, tuple[BreakerEvent, ...]]:
    """A successful call resets the count; in half-open it is the probe that closes the breaker.

    While fully open, successes of protective calls do not close it: only the probe after the
    cooldown does, so a flapping exchange cannot re-enable entries between two errors.
    """
    match breaker.state:
        case BreakerState.CLOSED:
            return (breaker if breaker.consecutive_errors == 0 else ExchangeBreaker()), ()
        case BreakerState.HALF_OPEN:
            return ExchangeBreaker(), (BreakerEvent("exchange", BreakerState.CLOSED, "probe succeeded", now),)
        case BreakerState.OPEN:
            return breaker, ()


def exchange_on_clock(
    breaker: ExchangeBreaker, limits: RiskSettings, now: datetime
) -> tuple[ExchangeBreaker, tuple[BreakerEvent, ...]]:
    """Open -> half-open once the cooldown has passed (the caller then sends one probe)."""
    if breaker.state is not BreakerState.OPEN or breaker.opened_at is None:
        return breaker, ()
    if now < breaker.opened_at + timedelta(seconds=limits.exchange_error_cooldown_s):
        return breaker, ()
    half = breaker.model_copy(update={"state": BreakerState.HALF_OPEN})
    return half, (BreakerEvent("exchange", BreakerState.HALF_OPEN, "cooldown elapsed; probing", now),)
