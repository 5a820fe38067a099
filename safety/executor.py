"""The position guard's executor: observe the exchange, ask the pure guard what to do, do it, persist.

``PositionGuard.guard_position(pid, prices, now)`` loops *observe -> plan -> perform* for one open
position until the plan is empty (or a round cap), so every "verify" in the guard is a real look at the
exchange. State is committed after every placed order (``StateKeeper.save``). The broker is reached
only through the :class:`~safety.gateway.ExchangeGateway`.

Observation reads the position first, then the orders (a fill landing in between shows as a filled
order, not as a vanished position), through the gateway's order memory (the freshest view of every
order wins).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.errors import OrderRejected, OutcomeUnknownError, RejectCode
from core.ids import ClientOrderId, PositionId, Symbol
from core.money import MarketRules
from core.settings import RiskSettings
from core.types import Order
from safety import breakers as brk
from safety.alerts import AlertKind
from safety.book import SafetyBook
from safety.gateway import BROKER_ERRORS, ExchangeGateway, StopPosition
from safety.guard import Action, Cancel, Finalize, Place, Update, Warn, plan
from safety.guard_state import LIVE, GuardRecord, Observed
from safety.keeper import StateKeeper
from safety.order_ids import OrderRole, role_of
from safety.quiet import position_band


@dataclass
class PositionGuard:
    gateway: ExchangeGateway
    book: SafetyBook
    keeper: StateKeeper
    rules: Mapping[Symbol, MarketRules]
    risk: RiskSettings
    prefix: str
    max_rounds: int = 12
    _rejections: int = 0
    settled: dict[PositionId, tuple[GuardRecord, Observed]] = field(default_factory=dict)
    """Per position, the record and the look at the exchange at which the plan last came out empty (what a
    backtest reads to tell which prices could make the guard act: ``safety.quiet``)."""
    revision: Callable[[], int] | None = None
    """A backtest's simulated exchange's revision (``SimExchange.revision``), set by the skipping replay only
    (``engine.replay``); ``None`` live and in ``--exact``. With it, a position the plan left settled, unchanged
    since, on an exchange that has not changed since, at a price inside its quiet band, is not looked at again:
    the look would read what the last one read and the plan would come out empty (``still_quiet``)."""
    _settled_at: dict[PositionId, int] = field(default_factory=dict)

    async def guard_position(self, pid: PositionId, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
        """Bring one open position to what the guard wants (protected, ratcheted, finalized when done)."""
        record = self.book.records[pid]
        price = prices.get(record.symbol)
        if price is not None and self.still_quiet(record, price):
            return
        self.settled.pop(pid, None)
        if price is None:
            why = f"no price for {record.symbol}; {pid} unchecked"
            await self.keeper.alert(AlertKind.UNPROTECTED_POSITION, why, now)
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
            prefix = self.gateway.client_prefix(self.prefix, record.symbol)
            actions = plan(record, observed, self.rules[record.symbol], self.risk, prefix=prefix, now=now)
            if not actions:
                self.settled[record.id] = (record, observed)
                if self.revision is not None:
                    self._settled_at[record.id] = self.revision()
                return
            record, touched = await self._perform(record, actions, now)
            if record.id not in self.book.records:
                return  # finalized
            if touched:
                observed = None
        self.keeper.problem(f"{record.id}: guard did not settle in {self.max_rounds} rounds")

    async def _perform(self, record: GuardRecord, actions: list[Action], now: datetime) -> tuple[GuardRecord, bool]:
        """Perform one plan; returns the record after it and whether the exchange was touched."""
        touched = False
        for action in actions:
            self.keeper.acted()
            match action:
                case Update():
                    record = action.record
                    self.book.put_record(record)
                    self.book.journal("guard.update", now, {"position_id": record.id, "why": action.why})
                case Warn():
                    key = f"{action.kind}:{record.id}"
                    await self.keeper.alert(AlertKind.GUARD_WARNING, action.message, now, key=key)
                case Place():
                    record = await self._place(action, now)
                    touched = True
                case Cancel():
                    await self.gateway.cancel(action.order_id, action.symbol, action.why, now)
                    touched = True
                case Finalize():
                    await self._finalize(action, now)
                    return record, True
        return record, touched

    def still_quiet(self, record: GuardRecord, price: Decimal) -> bool:
        """Whether a pass over ``record`` at ``price`` would only look and plan nothing (see :attr:`revision`). Not
        while the exchange breaker counts errors (a successful look would reset them) or is not closed."""
        look = self.settled.get(record.id)
        if self.revision is None or look is None or look[0] is not record:
            return False
        breaker = self.book.board.exchange
        if breaker.state is not brk.BreakerState.CLOSED or breaker.consecutive_errors:
            return False
        if self._settled_at.get(record.id) != self.revision():
            return False
        return not position_band(record, look[1], self.rules[record.symbol]).acts_at(price)

    # ------------------------------------------------------------------ observation

    async def _observe(self, record: GuardRecord, price: Decimal, now: datetime) -> Observed:
        positions = await self.gateway.positions_of(record.symbol, now)
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
            found = await self.gateway.fetch_order(cid, record.symbol, now)
            if found is None:
                unknown.add(cid)
            else:
                orders[cid] = found
        return Observed(orders, frozenset(unknown), None if shared else ours, theirs, price)

    # ------------------------------------------------------------------ orders

    async def _place(self, action: Place, now: datetime) -> GuardRecord:
        intent = action.intent
        payload: dict[str, object] = {
            "position_id": action.on_success.id,
            "order": intent.model_dump(mode="json"),
            "why": action.why,
        }
        stop = False
        try:
            await self.gateway.create_order(intent, now)
        except OutcomeUnknownError as exc:
            # Maybe placed: keep watching the id (the broker is idempotent by id) rather than send a twin.
            record, kind, stop = action.on_success, "guard.order_unknown", True
            payload["error"] = str(exc)
        except OrderRejected as exc:
            record, kind, stop = self._rejected(action, exc)
            payload.update(code=exc.code, error=exc.message)
        except BROKER_ERRORS as exc:
            record, kind, stop = action.on_failure, "guard.order_failed", True
            payload["error"] = str(exc)
        else:
            record, kind = action.on_success, "guard.order_placed"
        self.book.put_record(record)
        self.book.journal(kind, now, payload)
        await self.keeper.save(now)  # state persisted after every order placement
        if stop:
            self.keeper.problem(f"{intent.client_order_id}: {payload['error']}")
            raise StopPosition
        return record

    def _rejected(self, action: Place, exc: OrderRejected) -> tuple[GuardRecord, str, bool]:
        """The record, journal kind and whether to stop, for an order the exchange refused."""
        # Our ids are deterministic: a duplicate means this very order is already on the exchange
        # (placed before a crash whose save was lost): adopt it and let the next round verify it.
        duplicate = exc.code == RejectCode.DUPLICATE_CLIENT_ORDER_ID
        record = action.on_success if duplicate else action.on_failure
        kind = "guard.order_adopted" if duplicate else "guard.order_rejected"
        passed = exc.code == RejectCode.WOULD_IMMEDIATELY_TRIGGER
        if passed and action.on_triggered is not None:
            record, kind = action.on_triggered, "guard.trigger_passed"  # the exchange's price is through it
        # A trigger already through the market is answered at once (the plan exits at market);
        # any other refusal is retried on the next pass, not hammered within this one.
        self._rejections += 0 if duplicate else 1
        return record, kind, not duplicate and (not passed or self._rejections > 2)

    # ------------------------------------------------------------------ finalize (exactly once)

    async def _finalize(self, action: Finalize, now: datetime) -> None:
        record = action.record
        leftovers: dict[ClientOrderId, Symbol] = {}
        for cid in action.cancel:
            try:
                order = await self.gateway.cancel(cid, record.symbol, f"finalize {record.id}: cancel sibling", now)
            except StopPosition:
                leftovers[cid] = record.symbol  # retried by the cleanup on later passes
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
        await self.keeper.announce(events, now)
        self.gateway.forget((*record.referenced(), *(leg.order_id for leg in record.legs)))
        await self.keeper.save(now)

    async def cleanup(self, now: datetime) -> None:
        """Cancel the leftover orders of finalized positions whose cancel was not confirmed yet."""
        if not self.book.cleanup:
            return
        remaining = dict(self.book.cleanup)
        for cid, symbol in sorted(self.book.cleanup.items()):
            try:
                order = await self.gateway.cancel(cid, symbol, "cleanup after finalize", now)
            except StopPosition:
                continue
            remaining.pop(cid)
            if order is not None and order.filled_quantity > 0:
                await self.keeper.alert(
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
        self.keeper.unprotected(pid)
        await self.keeper.alert(
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
        return any((o := self.gateway.known(c)) is not None and o.status in LIVE for c in candidates)
