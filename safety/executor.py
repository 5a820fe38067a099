"""The thin async executor: observe the exchange, ask the pure guard what to do, do it, persist.

``GuardExecutor.tick(prices, now)`` runs on every market event and on a timer. For each open
position it loops *observe -> plan -> perform* until the plan is empty (or a round cap), so every
"verify" in the guard is a real look at the exchange. State is committed after every placed
order. A failed save alerts at once, is journaled as soon as the journal takes it, switches the
account to REDUCING (``persistence_ok=False``, entries vetoed) and is retried at every later
step while the guard keeps protecting from memory.

Observation reads the position first, then the orders (a fill landing in between shows as a
filled order, not as a vanished position), and keeps the freshest view of every order: a
terminal state wins over a live one, so a stale read can never resurrect a filled stop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from core.errors import OperationalError, OrderRejected, OutcomeUnknownError, TemporaryError
from core.ids import ClientOrderId, PositionId, Symbol
from core.money import MarketRules
from core.ports import Broker
from core.settings import RiskSettings
from core.types import ClosedTrade, Order
from safety import breakers as brk
from safety.alerts import AlertKind, AlertSink, make_alert
from safety.book import SafetyBook
from safety.guard import Action, Cancel, Finalize, Place, Update, Warn, plan
from safety.guard_state import LIVE, GuardRecord, Observed
from safety.order_ids import OrderRole, role_of

T = TypeVar("T")

ORDER_NOT_FOUND = "order_not_found"
"""``OrderRejected.code`` both brokers use for an id the exchange does not know (exchange.codes)."""

DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
"""``OrderRejected.code`` for a client id that an open order already carries."""

WOULD_IMMEDIATELY_TRIGGER = "would_immediately_trigger"
"""``OrderRejected.code`` for a stop whose trigger the market has already passed."""

BROKER_ERRORS = (TemporaryError, OperationalError)
"""Broker failures that say nothing about the order (``OrderRejected`` is an answer, handled apart)."""


@dataclass
class TickReport:
    """What one tick did: the engine publishes ``closed`` (``PositionClosed``: every close committed since
    the previous tick, including those of exits requested in between) and logs the rest."""

    closed: list[ClosedTrade] = field(default_factory=list)
    actions: int = 0
    errors: list[str] = field(default_factory=list)
    unprotected: list[PositionId] = field(default_factory=list)
    save_ok: bool = True


class StopPosition(Exception):
    """Stop working on this position for this tick: an error was recorded (and counted by the breaker)."""


def _rank(order: Order) -> tuple[bool, datetime, Decimal]:
    return order.status.is_terminal, order.updated_at, order.filled_quantity


@dataclass
class GuardExecutor:
    broker: Broker
    book: SafetyBook
    alerts: AlertSink
    rules: Mapping[Symbol, MarketRules]
    risk: RiskSettings
    prefix: str
    max_rounds: int = 12
    report: TickReport = field(default_factory=TickReport)
    _known: dict[ClientOrderId, Order] = field(default_factory=dict)
    _closed: list[ClosedTrade] = field(default_factory=list)
    _rejections: int = 0

    # ------------------------------------------------------------------ the tick

    async def tick(self, prices: Mapping[Symbol, Decimal], now: datetime, equity: Decimal | None = None) -> TickReport:
        """One safety pass over every pending entry and open position. ``equity`` (when known) starts a
        new UTC day's loss budget."""
        from safety.entries import settle_entries  # entries drive the executor; imported late, no cycle

        self.report = TickReport()
        await self.save(now)
        await self._breakers_on_clock(now, equity)
        await settle_entries(self, prices, now)
        await self._cleanup(now)
        for pid in sorted(self.book.records):
            if pid in self.book.records:
                await self.guard_position(pid, prices, now)
        await self.save(now)
        self.report.closed = self.drain_closed()
        return self.report

    def drain_closed(self) -> list[ClosedTrade]:
        """Trades whose close was committed since the last drain (``tick`` drains into its report).

        Each position appears here exactly once, after its close is durably recorded: this is the
        ``PositionClosed`` feed for the learner and the journal of the engine.
        """
        drained, self._closed = self._closed, []
        return drained

    async def guard_position(self, pid: PositionId, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
        record = self.book.records[pid]
        price = prices.get(record.symbol)
        if price is None:
            await self.alert(AlertKind.UNPROTECTED_POSITION, f"no price for {record.symbol}; {pid} unchecked", now)
            return
        try:
            await self._rounds(record, price, now)
        except StopPosition as stopped:  # already recorded in the report; protection is checked below
            self.book.journal("guard.interrupted", now, {"position_id": pid, "cause": repr(stopped.__cause__)})
        await self._check_protected(pid, now)

    async def _rounds(self, record: GuardRecord, price: Decimal, now: datetime) -> None:
        observed: Observed | None = None
        self._rejections = 0
        for _ in range(self.max_rounds):
            if observed is None:
                observed = await self._observe(record, price, now)
            actions = plan(record, observed, self.rules[record.symbol], self.risk, prefix=self.prefix, now=now)
            if not actions:
                return
            record, touched = await self._perform(record, actions, now)
            if record.id not in self.book.records:
                return  # finalized
            if touched:
                observed = None
        self.report.errors.append(f"{record.id}: guard did not settle in {self.max_rounds} rounds")

    async def _perform(self, record: GuardRecord, actions: list[Action], now: datetime) -> tuple[GuardRecord, bool]:
        """Perform one plan; returns the record after it and whether the exchange was touched."""
        touched = False
        for action in actions:
            self.report.actions += 1
            match action:
                case Update():
                    record = action.record
                    self.book.put_record(record)
                    self.book.journal("guard.update", now, {"position_id": record.id, "why": action.why})
                case Warn():
                    await self.alert(AlertKind.GUARD_WARNING, action.message, now, key=f"{action.kind}:{record.id}")
                case Place():
                    record = await self._place(action, now)
                    touched = True
                case Cancel():
                    await self.cancel(action.order_id, action.symbol, action.why, now)
                    touched = True
                case Finalize():
                    await self._finalize(action, now)
                    return record, True
        return record, touched

    # ------------------------------------------------------------------ observation

    async def _observe(self, record: GuardRecord, price: Decimal, now: datetime) -> Observed:
        positions = await self.call(now, self.broker.fetch_positions([record.symbol]))
        mine = [p for p in positions if p.symbol == record.symbol]
        ours = sum((p.quantity for p in mine if p.side is record.side), Decimal(0))
        theirs = sum((p.quantity for p in mine if p.side is not record.side), Decimal(0))
        shared = any(
            r.id != record.id and r.symbol == record.symbol and r.side is record.side
            for r in self.book.records.values()
        )
        orders: dict[ClientOrderId, Order] = {}
        unknown: set[ClientOrderId] = set()
        for cid in record.referenced():
            found = await self.fetch_order(cid, record.symbol, now)
            if found is None:
                unknown.add(cid)
            else:
                orders[cid] = found
        return Observed(orders, frozenset(unknown), None if shared else ours, theirs, price)

    async def fetch_order(self, cid: ClientOrderId, symbol: Symbol, now: datetime) -> Order | None:
        """The freshest view of one order; ``None`` when the exchange does not know it."""
        known = self._known.get(cid)
        if known is not None and known.status.is_terminal:
            return known  # final: no need to ask again
        try:
            order = await self.call(now, self.broker.fetch_order(cid, symbol))
        except OrderRejected as exc:
            if exc.code == ORDER_NOT_FOUND:
                return known
            self.report.errors.append(f"fetch {cid}: {exc}")
            raise StopPosition from exc
        return self.remember(order)

    def remember(self, order: Order) -> Order:
        """Keep the freshest view: terminal beats live, then the later update, then the bigger fill."""
        known = self._known.get(order.client_order_id)
        if known is not None and _rank(known) > _rank(order):
            return known
        self._known[order.client_order_id] = order
        return order

    def known(self, cid: ClientOrderId | None) -> Order | None:
        return self._known.get(cid) if cid is not None else None

    # ------------------------------------------------------------------ broker calls

    async def call(self, now: datetime, awaitable: Awaitable[T]) -> T:
        """A broker call whose failure ends this position's work for the tick (recorded, counted)."""
        try:
            return await self.broker_call(now, awaitable)
        except BROKER_ERRORS as exc:
            self.report.errors.append(f"{type(exc).__name__}: {exc}")
            raise StopPosition from exc

    async def broker_call(self, now: datetime, awaitable: Awaitable[T]) -> T:
        """A broker call that feeds the exchange-error breaker; every error is re-raised."""
        try:
            result = await awaitable
        except OrderRejected:
            await self._exchange_health(now, None)  # the exchange answered
            raise
        except BROKER_ERRORS as exc:
            await self._exchange_health(now, f"{type(exc).__name__}: {exc}")
            raise
        await self._exchange_health(now, None)
        return result

    async def _place(self, action: Place, now: datetime) -> GuardRecord:
        intent = action.intent
        payload: dict[str, object] = {
            "position_id": action.on_success.id,
            "order": intent.model_dump(mode="json"),
            "why": action.why,
        }
        stop = False
        try:
            order = await self.broker_call(now, self.broker.create_order(intent))
        except OutcomeUnknownError as exc:
            # Maybe placed: keep watching the id (the broker is idempotent by id) rather than send a twin.
            record, kind, stop = action.on_success, "guard.order_unknown", True
            payload["error"] = str(exc)
        except OrderRejected as exc:
            # Our ids are deterministic: a duplicate means this very order is already on the exchange
            # (placed before a crash whose save was lost): adopt it and let the next round verify it.
            duplicate = exc.code == DUPLICATE_CLIENT_ORDER_ID
            record = action.on_success if duplicate else action.on_failure
            kind = "guard.order_adopted" if duplicate else "guard.order_rejected"
            if exc.code == WOULD_IMMEDIATELY_TRIGGER and action.on_triggered is not None:
                record, kind = action.on_triggered, "guard.trigger_passed"  # the exchange's price is through it
            payload.update(code=exc.code, error=exc.message)
            # A trigger already through the market is answered at once (the plan exits at market);
            # any other refusal is retried on the next tick, not hammered within this one.
            self._rejections += 0 if duplicate else 1
            stop = not duplicate and (exc.code != WOULD_IMMEDIATELY_TRIGGER or self._rejections > 2)
        except BROKER_ERRORS as exc:
            record, kind, stop = action.on_failure, "guard.order_failed", True
            payload["error"] = str(exc)
        else:
            self.remember(order)
            record, kind = action.on_success, "guard.order_placed"
        self.book.put_record(record)
        self.book.journal(kind, now, payload)
        await self.save(now)  # state persisted after every order placement
        if stop:
            self.report.errors.append(f"{intent.client_order_id}: {payload['error']}")
            raise StopPosition
        return record

    async def cancel(self, cid: ClientOrderId, symbol: Symbol, why: str, now: datetime) -> Order | None:
        """Cancel and remember the exchange's final answer (a fill that raced the cancel included)."""
        try:
            order = await self.broker_call(now, self.broker.cancel_order(cid, symbol))
        except OrderRejected as exc:
            self.book.journal("guard.cancel_rejected", now, {"order_id": cid, "code": exc.code, "why": why})
            if exc.code == ORDER_NOT_FOUND:
                return None
            self.report.errors.append(f"cancel {cid}: {exc}")
            raise StopPosition from exc
        except BROKER_ERRORS as exc:
            self.report.errors.append(f"cancel {cid}: {exc}")
            raise StopPosition from exc
        order = self.remember(order)
        self.book.journal("guard.cancel", now, {"order_id": cid, "status": order.status.value, "why": why})
        return order

    # ------------------------------------------------------------------ finalize (exactly once)

    async def _finalize(self, action: Finalize, now: datetime) -> None:
        record = action.record
        leftovers: dict[ClientOrderId, Symbol] = {}
        for cid in action.cancel:
            try:
                order = await self.cancel(cid, record.symbol, f"finalize {record.id}: cancel sibling", now)
            except StopPosition:
                leftovers[cid] = record.symbol  # retried by the cleanup on later ticks
                continue
            if order is not None and order.filled_quantity > 0 and not record.booked(cid):
                return  # a sibling filled meanwhile: book it first (next round), then finalize
        trade = action.trade
        self.book.finalize(record, trade)
        if leftovers:
            self.book.set_cleanup({**self.book.cleanup, **leftovers})
        board = self.book.board
        trading, events = brk.trading_on_trade_closed(board.trading, trade, self.risk, now)
        exits = {**board.last_exit_at, str(trade.symbol): now}
        self.book.put_board(board.model_copy(update={"trading": trading, "last_exit_at": exits}))
        self.book.journal("position.closed", now, {"position_id": record.id, "trade": trade.model_dump(mode="json")})
        await self._breaker_events(events, now)
        for cid in (*record.referenced(), *(leg.order_id for leg in record.legs)):
            self._known.pop(cid, None)
        await self.save(now)

    async def _cleanup(self, now: datetime) -> None:
        if not self.book.cleanup:
            return
        remaining = dict(self.book.cleanup)
        for cid, symbol in sorted(self.book.cleanup.items()):
            try:
                order = await self.cancel(cid, symbol, "cleanup after finalize", now)
            except StopPosition:
                continue
            remaining.pop(cid)
            if order is not None and order.filled_quantity > 0:
                await self.alert(
                    AlertKind.RECONCILIATION_MISMATCH,
                    f"order {cid} of a closed position filled {order.filled_quantity}",
                    now,
                )
        self.book.set_cleanup(remaining)

    # ------------------------------------------------------------------ protection check

    async def _check_protected(self, pid: PositionId, now: datetime) -> None:
        record = self.book.records.get(pid)
        if record is None or self.is_protected(record):
            return
        self.report.unprotected.append(pid)
        await self.alert(
            AlertKind.UNPROTECTED_POSITION,
            f"{pid} ({record.symbol} {record.remaining}) has no live stop on the exchange",
            now,
            key=pid,
        )

    def is_protected(self, record: GuardRecord) -> bool:
        """A live stop (current or a replaced one not yet cancelled), or an exit order working."""
        candidates = [record.position.stop_order_id, *(c for c in record.retired if role_of(c) is OrderRole.STOP)]
        if record.exit_request is not None:
            candidates.extend(e.order_id for e in record.exits)
        return any((o := self.known(c)) is not None and o.status in LIVE for c in candidates)

    # ------------------------------------------------------------------ persistence

    async def save(self, now: datetime) -> bool:
        """Commit everything staged. On failure: REDUCING in memory, alert, keep it staged for retry."""
        board = self.book.board
        if not self.book.dirty and board.persistence_ok:
            return True
        if not board.persistence_ok:
            self.book.put_board(board.model_copy(update={"persistence_ok": True}))
        result = self.book.commit(now)
        if result.ok:
            self._closed.extend(result.closed)
            self.report.errors.extend(f"{pid}: second finalize refused" for pid in result.duplicates)
            if not board.persistence_ok:
                await self.alert(
                    AlertKind.SAVE_FAILED, "state saved again; entries allowed", now, severity="info", key="recovered"
                )
            return True
        self.report.save_ok = False
        if board.persistence_ok:
            self.book.journal("safety.save_failed", now, {"error": result.error})
        self.book.board = self.book.board.model_copy(update={"persistence_ok": False})
        await self.alert(AlertKind.SAVE_FAILED, f"{result.error}; REDUCING until it saves", now, key="save")
        return False

    # ------------------------------------------------------------------ breakers

    async def _exchange_health(self, now: datetime, error: str | None) -> None:
        board = self.book.board
        if error is None:
            exchange, events = brk.exchange_on_success(board.exchange, now)
        else:
            exchange, events = brk.exchange_on_error(board.exchange, error, self.risk, now)
        if exchange is not board.exchange:
            self.book.put_board(board.model_copy(update={"exchange": exchange}))
        await self._breaker_events(events, now)

    async def _breakers_on_clock(self, now: datetime, equity: Decimal | None) -> None:
        board = self.book.board
        trading, t_events = brk.trading_on_clock(board.trading, equity or board.trading.day_start_equity, now)
        exchange, x_events = brk.exchange_on_clock(board.exchange, self.risk, now)
        if trading is not board.trading or exchange is not board.exchange:
            self.book.put_board(board.model_copy(update={"trading": trading, "exchange": exchange}))
        await self._breaker_events((*t_events, *x_events), now)
        if exchange.state is brk.BreakerState.HALF_OPEN:
            try:
                await self.broker_call(now, self.broker.fetch_balance())  # the probe
            except BROKER_ERRORS as exc:
                self.report.errors.append(f"probe: {exc}")

    async def _breaker_events(self, events: tuple[brk.BreakerEvent, ...], now: datetime) -> None:
        for event in events:
            self.book.journal("breaker.transition", now, event.payload())
            if event.transition is brk.BreakerState.OPEN:
                await self.alert(
                    AlertKind.BREAKER_OPENED, f"{event.breaker} breaker opened: {event.reason}", now, key=event.breaker
                )

    # ------------------------------------------------------------------ alerts

    async def alert(
        self, kind: AlertKind, message: str, now: datetime, *, severity: str = "critical", key: str = ""
    ) -> None:
        await self.alerts.raise_alert(make_alert(kind, message, now, severity=severity, key=key))
