"""The one way the safety layer reaches the exchange: broker calls, order memory and the exchange breaker.

Every call feeds the exchange-error breaker (an ``OrderRejected`` is an answer: the exchange is up).
Every order seen is remembered and the freshest view kept: a terminal state wins over a live one, so
a stale read can never resurrect a filled stop, and a terminal order is never asked for again.

With several runners on one account (``safety.leases``), every order-side write (``create_order``, ``cancel``;
a stop adjustment is both) first passes the symbol's fence: a runner whose fencing token is no longer the
symbol's current one is refused (``RejectCode.STALE_FENCE``, journaled, alerted) and nothing reaches the broker.

During an IP ban (Binance's 418, recorded on the board with its end) no call reaches the broker: each raises
``IpBanned`` at once. The first ban of a given end is journaled and alerted once; the first answer after it
clears it.

Two kinds of calls. The guard's (``positions_of``, ``fetch_order``, ``cancel``) end the work on one
position for this pass when they fail: the failure is recorded in the pass report and raised as
:class:`StopPosition`. The plain ones (``create_order`` and the reads of reconciliation) raise the
broker's own error for the caller to sort.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from core.errors import OperationalError, OrderRejected, RejectCode, TemporaryError
from core.ids import ClientOrderId, Symbol, fenced_prefix
from core.ports import Broker
from core.settings import RiskSettings
from core.types import Balance, ExchangePosition, Fill, Order, OrderIntent
from exchange.errors import IpBanned
from safety import breakers as brk
from safety.alerts import AlertKind
from safety.book import SafetyBook
from safety.keeper import StateKeeper
from safety.leases import WriteFence

T = TypeVar("T")

DEFAULT_BAN = timedelta(minutes=2)
"""A ban whose end the exchange did not name: Binance's shortest."""
BROKER_ERRORS = (TemporaryError, OperationalError)
"""Broker failures that say nothing about the order (``OrderRejected`` is an answer, handled apart)."""


class StopPosition(Exception):
    """Stop working on this position for this pass: an error was recorded (and counted by the breaker)."""


def _rank(order: Order) -> tuple[bool, datetime, Decimal]:
    return order.status.is_terminal, order.updated_at, order.filled_quantity


@dataclass
class ExchangeGateway:
    broker: Broker
    book: SafetyBook
    """Where the exchange breaker's state lives (persisted) and cancels are journaled."""
    keeper: StateKeeper
    risk: RiskSettings
    fence: WriteFence | None = None
    """Several runners on one account: the symbol leases every order-side write is checked against."""
    _known: dict[ClientOrderId, Order] = field(default_factory=dict)
    _sweep_positions: list[ExchangePosition] | None = None
    _sweeping: bool = False

    # ------------------------------------------------------------------ order memory

    def remember(self, order: Order) -> Order:
        """Keep the freshest view: terminal beats live, then the later update, then the bigger fill."""
        known = self._known.get(order.client_order_id)
        if known is not None and _rank(known) > _rank(order):
            return known
        self._known[order.client_order_id] = order
        return order

    def known(self, cid: ClientOrderId | None) -> Order | None:
        return self._known.get(cid) if cid is not None else None

    def forget(self, cids: Iterable[ClientOrderId]) -> None:
        """Orders of a finalized position: nothing will ask about them again."""
        for cid in cids:
            self._known.pop(cid, None)

    # ------------------------------------------------------------------ the guard's calls

    async def positions_of(self, symbol: Symbol, now: datetime) -> list[ExchangePosition]:
        """``symbol``'s positions. In a sweep, one read of every position serves each position guarded until an
        order-side write of ours (which may change them): ``positionRisk`` costs 5 weight whatever it lists, and a
        sweep over six positions read it six times."""
        if not self._sweeping:
            return await self._guarded(now, self.broker.fetch_positions([symbol]))
        if self._sweep_positions is None:
            self._sweep_positions = await self._guarded(now, self.broker.fetch_positions(None))
        return [p for p in self._sweep_positions if p.symbol == symbol]

    def sweep(self, on: bool) -> None:
        """A guard sweep begins (``True``) or ends: positions are read once per sweep, again after each write."""
        self._sweeping, self._sweep_positions = on, None

    async def fetch_order(self, cid: ClientOrderId, symbol: Symbol, now: datetime) -> Order | None:
        """The freshest view of one order; ``None`` when the exchange does not know it."""
        known = self._known.get(cid)
        if known is not None and known.status.is_terminal:
            return known  # final: no need to ask again
        try:
            order = await self._guarded(now, self.broker.fetch_order(cid, symbol))
        except OrderRejected as exc:
            if exc.code == RejectCode.ORDER_NOT_FOUND:
                return known
            self.keeper.problem(f"fetch {cid}: {exc}")
            raise StopPosition from exc
        return self.remember(order)

    async def cancel(self, cid: ClientOrderId, symbol: Symbol, why: str, now: datetime) -> Order | None:
        """Cancel and remember the exchange's final answer (a fill that raced the cancel included);
        ``None`` when the exchange does not know the order."""
        try:
            await self._fenced(symbol, "cancel", now)
            self._sweep_positions = None
            order = await self._call(now, self.broker.cancel_order(cid, symbol))
        except OrderRejected as exc:
            self.book.journal("guard.cancel_rejected", now, {"order_id": cid, "code": exc.code, "why": why})
            if exc.code == RejectCode.ORDER_NOT_FOUND:
                return None
            self.keeper.problem(f"cancel {cid}: {exc}")
            raise StopPosition from exc
        except BROKER_ERRORS as exc:
            self.keeper.problem(f"cancel {cid}: {exc}")
            raise StopPosition from exc
        order = self.remember(order)
        self.book.journal("guard.cancel", now, {"order_id": cid, "status": order.status.value, "why": why})
        return order

    # ------------------------------------------------------------------ plain calls

    async def create_order(self, intent: OrderIntent, now: datetime) -> Order:
        """Send an order (the broker is idempotent by client id); remembered when the exchange took it."""
        await self._fenced(intent.symbol, "create", now)
        self._sweep_positions = None
        return self.remember(await self._call(now, self.broker.create_order(intent)))

    def client_prefix(self, prefix: str, symbol: Symbol) -> str:
        """The client-id prefix of an order on ``symbol``: with leases, the run prefix with the token this runner
        holds the symbol under (``tw.17``), so the exchange's ledger shows which lease sent each order."""
        token = self.fence.token(symbol) if self.fence is not None else None
        return prefix if token is None else fenced_prefix(prefix, token)

    async def _fenced(self, symbol: Symbol, action: str, now: datetime) -> None:
        """The fence right before an order-side write: a stale token refuses it (journaled, alerted, raised)."""
        if self.fence is None:
            return
        answer = self.fence.check_write(symbol)
        if answer.ok:
            return
        message = (
            f"{action} on {symbol} refused: this runner no longer holds the symbol's lease (current token "
            f"{answer.current_token}, held by {answer.holder or 'nobody'}); it stops trading {symbol}"
        )
        self.book.journal(
            "safety.fence_refused",
            now,
            {"symbol": symbol, "action": action, "current_token": answer.current_token, "holder": answer.holder},
        )
        await self.keeper.alert(AlertKind.LEASE_LOST, message, now, key=f"{symbol}:{answer.current_token}")
        raise OrderRejected(RejectCode.STALE_FENCE, message)

    async def open_orders(self, now: datetime) -> list[Order]:
        """Every open order on the account (both order books on futures), remembered."""
        return [self.remember(order) for order in await self._call(now, self.broker.fetch_open_orders(None))]

    async def balance(self, now: datetime) -> Mapping[str, Balance]:
        return await self._call(now, self.broker.fetch_balance())

    async def all_positions(self, now: datetime) -> list[ExchangePosition]:
        return await self._call(now, self.broker.fetch_positions(None))

    async def trades(self, symbol: Symbol, since: datetime, now: datetime) -> list[Fill]:
        return await self._call(now, self.broker.fetch_my_trades(symbol, since))

    async def _call(self, now: datetime, awaitable: Awaitable[T]) -> T:
        """A broker call that feeds the exchange-error breaker; every error is re-raised. During a ban nothing
        is sent."""
        board = self.book.board
        if board.banned(now):
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never started: nothing was sent
            until = board.banned_until.isoformat() if board.banned_until else "?"
            raise IpBanned(f"Binance banned this IP until {until}; not sent", until=board.banned_until)
        try:
            result = await awaitable
        except IpBanned as exc:
            await self._banned(exc, now)  # a ban is no sign of an exchange outage: the breaker is not fed
            raise
        except OrderRejected:
            await self._health(now, None)  # the exchange answered
            raise
        except BROKER_ERRORS as exc:
            await self._health(now, f"{type(exc).__name__}: {exc}")
            raise
        await self._health(now, None)
        return result

    def banned(self, now: datetime) -> bool:
        return self.book.board.banned(now)

    async def _banned(self, exc: IpBanned, now: datetime) -> None:
        """Record the ban and its end (Binance's, else its shortest); one alert per ban."""
        until = exc.until or now + DEFAULT_BAN
        board = self.book.board
        if board.banned_until is not None and board.banned_until >= until:
            return
        self.book.put_board(board.model_copy(update={"banned_until": until}))
        self.book.journal("safety.ip_banned", now, {"until": until.isoformat(), "error": str(exc)})
        await self.keeper.alert(
            AlertKind.IP_BAN,
            f"Binance banned this IP until {until.isoformat()}: nothing is sent before then (no entries, no guard "
            "orders; the exchange still runs the stops it holds)",
            now,
            key=until.isoformat(),
        )

    async def _guarded(self, now: datetime, awaitable: Awaitable[T]) -> T:
        """A call whose failure ends this position's work for the pass (recorded, counted)."""
        try:
            return await self._call(now, awaitable)
        except BROKER_ERRORS as exc:
            self.keeper.problem(f"{type(exc).__name__}: {exc}")
            raise StopPosition from exc

    # ------------------------------------------------------------------ the exchange breaker

    async def on_clock(self, now: datetime) -> None:
        """Open -> half-open after the cooldown, and then the one cheap probe whose outcome decides."""
        board = self.book.board
        exchange, events = brk.exchange_on_clock(board.exchange, self.risk, now)
        if exchange is not board.exchange:
            self.book.put_board(board.model_copy(update={"exchange": exchange}))
        await self.keeper.announce(events, now)
        if exchange.state is brk.BreakerState.HALF_OPEN:
            try:
                await self.balance(now)  # the probe
            except BROKER_ERRORS as exc:
                self.keeper.problem(f"probe: {exc}")

    async def trip(self, reason: str, now: datetime) -> None:
        """Open the exchange breaker for trouble no call saw (a reconnect storm on the exchange's streams)."""
        board = self.book.board
        exchange, events = brk.exchange_tripped(board.exchange, reason, now)
        if exchange is not board.exchange:
            self.book.put_board(board.model_copy(update={"exchange": exchange}))
        await self.keeper.announce(events, now)
        await self.keeper.save(now)

    async def _health(self, now: datetime, error: str | None) -> None:
        board = self.book.board
        if error is None and board.banned_until is not None:  # the first answer after a ban
            self.book.journal("safety.ip_ban_over", now, {"until": board.banned_until.isoformat()})
            board = board.model_copy(update={"banned_until": None})
            self.book.put_board(board)
        if error is None:
            exchange, events = brk.exchange_on_success(board.exchange, now)
        else:
            exchange, events = brk.exchange_on_error(board.exchange, error, self.risk, now)
        if exchange is not board.exchange:
            self.book.put_board(board.model_copy(update={"exchange": exchange}))
        await self.keeper.announce(events, now)
