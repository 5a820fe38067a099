"""The account-wide book of several runners, the pure half: what an entry reserves and what a refusal means.

Each runner's veto stays what it is (pure, over its own book). With several runners on one account the
portfolio-level limits (total exposure, daily loss, trades and orders per day, the trading breaker) must hold
for the *account*, so the last word is a reservation in the shared book (``store.shared_book``, one Lua
script) right before the entry is sent: it checks and counts in one atomic step, so two runners approving at
the same instant cannot both pass a cap only one fits under. The reservation is released when the entry is not
sent (or rejected), settled to the filled notional on the fill, and closed with the trade's P&L.

Amounts go to the script as integer micro-units of the quote asset: notionals rounded *up* (a cap is never
passed by rounding), losses rounded up too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from core.settings import RiskSettings, RunMode
from core.types import ClosedTrade
from safety.verdicts import VetoCode, Vetoed
from safety.views import Portfolio
from store.shared_book import BookState, Reserved

MICRO = Decimal("0.000001")
HUNDRED = Decimal(100)

_REFUSALS: dict[str, tuple[VetoCode, str]] = {
    "exposure_cap": (VetoCode.EXPOSURE_CAP, "the account's total exposure (all runners) would pass its cap"),
    "daily_order_cap": (VetoCode.DAILY_ORDER_CAP, "the account's orders today (all runners) are at the cap"),
    "trades_cap": (VetoCode.TRADING_BREAKER_OPEN, "the account's trades today (all runners) are at the cap"),
    "daily_loss": (VetoCode.TRADING_BREAKER_OPEN, "the account's loss today (all runners) is at the limit"),
    "trading_breaker_open": (VetoCode.TRADING_BREAKER_OPEN, "the account-wide trading breaker is open"),
}


def micro(amount: Decimal, *, up: bool) -> int:
    """``amount`` in integer micro-units, rounded up (``up``) or down."""
    return int((amount / MICRO).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR))


def day_of(now: datetime) -> str:
    """The trading day the daily counters belong to (UTC, like the single-runner breakers)."""
    return now.strftime("%Y%m%d")


@dataclass(frozen=True, slots=True)
class AccountCaps:
    exposure_cap: int
    orders_per_day: int
    trades_per_day: int
    daily_loss_limit: int


def caps_for(risk: RiskSettings, mode: RunMode, equity: Decimal) -> AccountCaps:
    """The account's limits in micro-units, from the limits in force in ``mode`` and the account's equity."""
    effective = risk.effective_for(mode)
    return AccountCaps(
        exposure_cap=micro(equity * Decimal(str(effective.max_total_exposure_pct)) / HUNDRED, up=False),
        orders_per_day=effective.max_orders_per_day,
        trades_per_day=effective.max_trades_per_day,
        daily_loss_limit=micro(equity * Decimal(str(effective.daily_loss_limit_pct)) / HUNDRED, up=False),
    )


def refusal(answer: Reserved) -> Vetoed | None:
    """The veto an answer of the shared book means (``None``: reserved)."""
    if answer.ok:
        return None
    code, message = _REFUSALS.get(answer.code, (VetoCode.EXPOSURE_CAP, f"the shared book refused: {answer.code}"))
    return Vetoed(code, f"{message} ({answer.code} {answer.detail})")


def account_refusal(state: BookState, caps: AccountCaps, now: datetime) -> Vetoed | None:
    """What the account-wide book (every runner) says about *any* entry now: the trading breaker, the day's loss,
    trades and orders, as the reservation will check them (the entry's own size is the exposure cap's, judged by
    the veto on :func:`other_exposure`). The veto asks it first, so the agent hears the account's reason."""
    if state.breaker:
        return Vetoed(VetoCode.TRADING_BREAKER_OPEN, f"the account-wide trading breaker is open ({state.breaker})")
    if state.day != day_of(now):
        return None  # a new day: the counts start again
    if -state.pnl >= caps.daily_loss_limit:
        return Vetoed(VetoCode.TRADING_BREAKER_OPEN, _REFUSALS["daily_loss"][1])
    if state.trades >= caps.trades_per_day:
        return Vetoed(VetoCode.TRADING_BREAKER_OPEN, _REFUSALS["trades_cap"][1])
    if state.orders >= caps.orders_per_day:
        return Vetoed(VetoCode.DAILY_ORDER_CAP, _REFUSALS["daily_order_cap"][1])
    return None


def other_exposure(state: BookState, own: Decimal) -> Decimal:
    """The notional the other runners hold: the account's exposure less this runner's own (never below 0)."""
    return max(Decimal(state.exposure) * MICRO - own, Decimal(0))


def with_others(own: Portfolio, state: BookState) -> Portfolio:
    """This runner's portfolio with the other runners' exposure counted towards its total exposure."""
    return dataclasses.replace(own, other_runners_exposure=other_exposure(state, own.own_notional()))


def entry_portfolio(shared: SharedPortfolio, own: Portfolio, caps: AccountCaps, now: datetime) -> Portfolio | Vetoed:
    """What an entry's veto judges with several runners: the account's refusal, else the portfolio with the other
    runners' exposure (one read of the account-wide book)."""
    state = shared.state()
    return account_refusal(state, caps, now) or with_others(own, state)


class SharedBookStore(Protocol):
    """``store.shared_book.RedisSharedBook``."""

    def reserve(
        self,
        reservation: str,
        runner: str,
        notional: int,
        *,
        exposure_cap: int,
        day: str,
        orders_per_day: int,
        trades_per_day: int,
        daily_loss_limit: int,
    ) -> Reserved: ...

    def release(self, reservation: str) -> bool: ...

    def filled(self, reservation: str, notional: int) -> bool: ...

    def closed(self, reservation: str, pnl: int, *, day: str, daily_loss_limit: int) -> bool: ...

    def state(self) -> BookState: ...


@dataclass
class SharedPortfolio:
    """One runner's side of the shared book (``SafetyConfig.shared``)."""

    store: SharedBookStore
    runner: str

    def reserve(self, reservation: str, notional: Decimal, caps: AccountCaps, now: datetime) -> Vetoed | None:
        answer = self.store.reserve(
            reservation,
            self.runner,
            micro(notional, up=True),
            exposure_cap=caps.exposure_cap,
            day=day_of(now),
            orders_per_day=caps.orders_per_day,
            trades_per_day=caps.trades_per_day,
            daily_loss_limit=caps.daily_loss_limit,
        )
        return refusal(answer)

    def state(self) -> BookState:
        """The account-wide figures now (one read of Redis)."""
        return self.store.state()

    def release(self, reservation: str) -> None:
        self.store.release(reservation)

    def filled(self, reservation: str, notional: Decimal) -> None:
        self.store.filled(reservation, micro(notional, up=True))

    def closed_all(self, trades: list[ClosedTrade], caps: AccountCaps) -> list[ClosedTrade]:
        for trade in trades:
            self.closed(trade, caps)
        return trades

    def closed(self, trade: ClosedTrade, caps: AccountCaps) -> None:
        amount = micro(trade.net_pnl, up=False)  # a loss rounds towards more loss, a gain towards less
        self.store.closed(
            str(trade.position_id), amount, day=day_of(trade.closed_at), daily_loss_limit=caps.daily_loss_limit
        )
