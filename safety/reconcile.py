"""Reconciliation with the exchange, at start-up and on demand (invariant 6).

1. Read open orders, positions and balances from the broker (the broker lists both order books,
   regular and conditional/algo, on futures). A read that fails leaves the account unreconciled:
   entries stay vetoed (``not_reconciled``).
2. Re-attach every open order that carries our client-id prefix to the position its id names: a
   stop placed just before a crash and never saved becomes the position's stop again (the older
   one is retired and cancelled by the guard). Orders of positions already closed go to the
   cleanup list. Orders of positions we know nothing about are **orphans**: reported and alerted,
   cancelled only when ``exchange.cancel_orphans`` is set. Orders without our prefix are not ours:
   reported once (journal ``reconcile.foreign`` and an alert), never cancelled, never counted as ours;
   a foreign stop that protects a position better than ours lends it its level (``safety.foreign``).
3. Look through the trade history of every open position for fills of our orders the record does
   not know (placed and filled, but the save was lost): they are attached too.
4. Run one guard pass: fills that happened while we were away are booked; a position that is gone
   on the exchange with nothing of ours explaining it is finalized exactly once as
   ``closed_externally`` (one whose stop filled meanwhile is finalized as a stop); every remaining
   position is re-protected.
5. Compare what is left: exchange positions no record explains, or quantities that differ, are
   mismatches. On spot, a balance beyond the bot's positions is first offered to ``holdings`` (who owns
   it: a managed holding not guarded yet, or the operator's own coins): that part is reported, never
   adopted as a bot position and never a mismatch. Reconciliation succeeds only when every position was
   fully checked, nothing mismatches and the state was saved; then ``reconciled_at`` is set and entries are allowed
   again. Otherwise it alerts, entries stay blocked and the engine retries: an exchange holding
   a position we do not track is for a human to resolve, not for the agent to trade around.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.types import Balance, ClosedTrade, ExchangePosition, ExitReason, Order, PositionSide
from safety.alerts import AlertKind
from safety.book import SafetyBook
from safety.foreign import adoptable_stop, describe
from safety.gateway import BROKER_ERRORS, ExchangeGateway, StopPosition
from safety.guard_state import ExitOrder, GuardRecord
from safety.keeper import StateKeeper
from safety.managed import SpotHoldings
from safety.order_ids import OrderRole, ParsedOrderId, parse_order_id
from safety.rules import tradable
from safety.sweep import Sweep


@dataclass
class ReconcileReport:
    ok: bool
    at: datetime
    equity: Decimal | None = None
    balances: dict[str, Balance] = field(default_factory=dict)
    reattached: list[ClientOrderId] = field(default_factory=list)
    finalized: list[ClosedTrade] = field(default_factory=list)
    orphans: list[ClientOrderId] = field(default_factory=list)
    cancelled_orphans: list[ClientOrderId] = field(default_factory=list)
    foreign: list[ClientOrderId] = field(default_factory=list)
    """Open orders that are not ours (left alone)."""
    mismatches: list[str] = field(default_factory=list)
    holdings: list[str] = field(default_factory=list)
    """Spot balances set aside as holdings (managed, or the operator's), with why."""
    error: str | None = None


@dataclass
class Reconciler:
    book: SafetyBook
    gateway: ExchangeGateway
    keeper: StateKeeper
    sweep: Sweep
    rules: Mapping[Symbol, MarketRules]
    prefix: str
    quote: str = "USDT"
    holdings: SpotHoldings | None = None
    scope: Callable[[Symbol], bool] | None = None
    """Several runners on one account: only the symbols this runner holds are its to reconcile (another
    runner's orders and positions are neither orphans nor mismatches here). ``None``: the whole account."""

    def _mine(self, symbol: Symbol) -> bool:
        return self.scope is None or self.scope(symbol)

    async def run(self, prices: Mapping[Symbol, Decimal], now: datetime, *, cancel_orphans: bool) -> ReconcileReport:
        report = ReconcileReport(ok=False, at=now)
        try:
            open_orders = await self.gateway.open_orders(now)
            balances = dict(await self.gateway.balance(now))
        except BROKER_ERRORS as exc:
            return await self.failed(report, f"reading the exchange failed: {exc}", now)
        report.balances = balances
        for order in (o for o in open_orders if self._mine(o.intent.symbol)):
            if parse_order_id(order.client_order_id, self.prefix) is None:
                await self._foreign(order, report, prices, now)
            else:
                await self._attach(order, report, now, cancel_orphans=cancel_orphans)
        try:
            await self._recover_fills(report, now)
        except BROKER_ERRORS as exc:
            return await self.failed(report, f"reading trade history failed: {exc}", now)
        tick = await self.sweep.run(prices, now)
        report.finalized = list(tick.closed)
        try:
            positions = await self.gateway.all_positions(now)
        except BROKER_ERRORS as exc:
            return await self.failed(report, f"reading positions failed: {exc}", now)
        mine = [p for p in positions if self._mine(p.symbol)]
        report.mismatches.extend(self._mismatches(self._set_aside(mine, report), prices))
        report.equity = equity(balances, prices, self.quote)
        if report.orphans:
            orphans = ", ".join(report.orphans)
            await self.keeper.alert(
                AlertKind.RECONCILIATION_MISMATCH, f"orphan orders with our prefix: {orphans}", now, key="orphans"
            )
        if tick.errors or report.mismatches:
            why = "; ".join([*tick.errors, *report.mismatches])
            return await self.failed(report, f"state does not match the exchange yet: {why}", now)
        self.book.put_board(self.book.board.model_copy(update={"reconciled_at": now}))
        self.book.journal("reconcile.done", now, _summary(report))
        report.ok = tick.save_ok and await self.keeper.save(now)
        if not report.ok:
            self.book.board = self.book.board.model_copy(update={"reconciled_at": None})
            report.error = "state could not be saved"
        return report

    async def failed(self, report: ReconcileReport, why: str, now: datetime) -> ReconcileReport:
        """Mark the reconciliation failed (entries stay blocked), journal it and tell a human."""
        report.ok = False
        report.error = why
        self.book.board = self.book.board.model_copy(update={"reconciled_at": None})
        self.book.journal("reconcile.failed", now, {"error": why})
        await self.keeper.save(now)
        await self.keeper.alert(
            AlertKind.RECONCILIATION_MISMATCH,
            f"reconciliation failed: {why}; entries stay blocked",
            now,
            key="reconcile_failed",
        )
        return report

    async def _attach(self, order: Order, report: ReconcileReport, now: datetime, *, cancel_orphans: bool) -> None:
        cid = order.client_order_id
        parsed = parse_order_id(cid, self.prefix)
        if parsed is None:
            return  # not ours (``_foreign``)
        pid = parsed.position_id
        record = self.book.records.get(pid)
        if record is not None and parsed.role is OrderRole.ENTRY:
            # The position is open, so its entry must be over; a live rest could add unprotected size.
            await self._cancel_quietly(cid, order, report, now, why="entry order still open after the position opened")
            return
        if record is not None:
            if cid not in record.referenced():
                self.book.put_record(_reattached(record, parsed, cid))
                self.book.journal("reconcile.reattached", now, {"position_id": pid, "order_id": cid})
                report.reattached.append(cid)
            return
        if pid in self.book.entries or cid in self.book.cleanup:
            return
        if self.book.was_closed(pid):
            self.book.set_cleanup({**self.book.cleanup, cid: order.intent.symbol})  # a leftover of a closed position
            return
        report.orphans.append(cid)
        self.book.journal(
            "reconcile.orphan", now, {"order": order.intent.model_dump(mode="json"), "cancel": cancel_orphans}
        )
        if cancel_orphans:
            await self._cancel_quietly(cid, order, report, now, why="orphan order")

    async def _foreign(
        self, order: Order, report: ReconcileReport, prices: Mapping[Symbol, Decimal], now: datetime
    ) -> None:
        """Not ours: report it once, never cancel it; a better stop for one of our positions lends its level."""
        cid = order.client_order_id
        report.foreign.append(cid)
        for record in sorted(self.book.records.values(), key=lambda r: r.id):
            rules = self.rules.get(record.symbol)
            level = adoptable_stop(record, order, rules, prices.get(record.symbol)) if rules is not None else None
            if level is not None:
                position = record.position.model_copy(update={"stop_price": level})
                self.book.put_record(record.model_copy(update={"position": position}))
                adopted = {"position_id": record.id, "order_id": cid, "from": str(record.position.stop_price)}
                self.book.journal("reconcile.adopted_foreign_stop", now, {**adopted, "to": str(level)})
        if not self.book.note_foreign(cid):
            return
        self.book.journal("reconcile.foreign", now, {"order": describe(order), "foreign": order.foreign})
        await self.keeper.alert(
            AlertKind.FOREIGN_ORDER,
            f"an open order that is not ours, left alone (never cancelled): {describe(order)}",
            now,
            severity="warning",
            key=cid,
        )

    async def _cancel_quietly(
        self, cid: ClientOrderId, order: Order, report: ReconcileReport, now: datetime, *, why: str
    ) -> None:
        try:
            if await self.gateway.cancel(cid, order.intent.symbol, why, now) is not None:
                report.cancelled_orphans.append(cid)
        except StopPosition:
            report.mismatches.append(f"{cid} ({why}) could not be cancelled")

    async def _recover_fills(self, report: ReconcileReport, now: datetime) -> None:
        """Orders of ours that filled while their record was not saved (the process died first): find them
        in the trade history and attach them, so the guard books the real exit instead of guessing."""
        for record in sorted(self.book.records.values(), key=lambda r: r.id):
            fills = await self.gateway.trades(record.symbol, record.position.opened_at, now)
            for cid in dict.fromkeys(f.client_order_id for f in fills):
                parsed = parse_order_id(cid, self.prefix)
                current = self.book.records[record.id]
                if parsed is None or parsed.position_id != record.id or parsed.role is OrderRole.ENTRY:
                    continue
                if cid in current.referenced() or current.booked(cid):
                    continue
                self.book.put_record(_reattached(current, parsed, cid))
                self.book.journal("reconcile.recovered_fill", now, {"position_id": record.id, "order_id": cid})
                report.reattached.append(cid)

    def _set_aside(self, positions: list[ExchangePosition], report: ReconcileReport) -> list[ExchangePosition]:
        """Spot: take out of each balance what ``holdings`` says is not the bot's (what no position explains)."""
        if self.holdings is None:
            return positions
        kept = []
        for p in positions:
            rules = self.rules.get(p.symbol)
            if rules is None or rules.contract or p.side is not PositionSide.LONG:
                kept.append(p)
                continue
            mine = [r for r in self.book.records.values() if r.symbol == p.symbol and r.side is PositionSide.LONG]
            ours = sum((max(r.remaining, Decimal(0)) for r in mine), Decimal(0))
            attached = sum((max(r.remaining, Decimal(0)) for r in mine if r.managed is not None), Decimal(0))
            if p.quantity <= ours:
                kept.append(p)
                continue
            share = self.holdings.share(rules.base, p.quantity - ours, attached)
            report.holdings.append(f"{p.quantity - ours} {rules.base} set aside: {share.reason}")
            kept.append(p.model_copy(update={"quantity": p.quantity - share.managed - share.operator}))
        return kept

    def _mismatches(self, positions: list[ExchangePosition], prices: Mapping[Symbol, Decimal]) -> list[str]:
        """Differences between our open quantities and the exchange's that the market could trade
        (spot dust below the minimum quantity or notional is not a mismatch: nothing can be done with it)."""
        ours: dict[tuple[Symbol, PositionSide], Decimal] = {}
        for record in (r for r in self.book.records.values() if self._mine(r.symbol)):
            key = (record.symbol, record.side)
            ours[key] = ours.get(key, Decimal(0)) + max(record.remaining, Decimal(0))
        theirs = {(p.symbol, p.side): p.quantity for p in positions}
        problems = []
        for key in sorted(set(ours) | set(theirs)):
            have, exchange = ours.get(key, Decimal(0)), theirs.get(key, Decimal(0))
            rules, price = self.rules.get(key[0]), prices.get(key[0])
            if have != exchange and _tradable_difference(abs(have - exchange), rules, price):
                problems.append(f"{key[0]} {key[1].value}: our positions hold {have}, the exchange {exchange}")
        return problems


def _tradable_difference(difference: Decimal, rules: MarketRules | None, price: Decimal | None) -> bool:
    """Whether a difference could be traded: below the minimum quantity it is dust (a spot buy's fee taken in
    the base asset leaves some behind every time), without a price or rules any difference counts."""
    if rules is not None and difference < rules.min_qty:
        return False
    return rules is None or price is None or tradable(difference, price, rules)


def _reattached(record: GuardRecord, parsed: ParsedOrderId, cid: ClientOrderId) -> GuardRecord:
    """Attach an order of ours the record does not reference (placed, then the process died)."""
    pos = record.position
    seq = max(record.seq, parsed.seq)
    match parsed.role:
        case OrderRole.STOP | OrderRole.TAKE_PROFIT:
            field_name = "stop_order_id" if parsed.role is OrderRole.STOP else "take_profit_order_id"
            current: ClientOrderId | None = getattr(pos, field_name)
            if current is not None and _seq(current) > parsed.seq:  # an older one: cancel it
                return record.model_copy(update={"seq": seq, "retired": (*record.retired, cid)})
            retired = (*record.retired, current) if current is not None else record.retired
            return record.model_copy(
                update={"seq": seq, "retired": retired, "position": pos.model_copy(update={field_name: cid})}
            )
        case OrderRole.EXIT:
            reason = record.exit_request.reason if record.exit_request else ExitReason.WATCHDOG
            return record.model_copy(
                update={"seq": seq, "exits": (*record.exits, ExitOrder(order_id=cid, reason=reason))}
            )
        case OrderRole.CORRECTION:
            return record.model_copy(update={"seq": seq, "correction_orders": (*record.correction_orders, cid)})
        case OrderRole.ENTRY:
            return record  # never an exit of the position (callers skip entries; this keeps it total)


def _seq(cid: ClientOrderId) -> int:
    return int(cid.rsplit("-", 1)[1][1:])


def equity(balances: Mapping[str, Balance], prices: Mapping[Symbol, Decimal], quote: str) -> Decimal:
    """Quote balance plus every other asset marked at ``<asset>/<quote>`` (spot); on futures the quote
    balance already includes unrealized P&L. Assets without a price are left out (and undervalue it)."""
    total = Decimal(0)
    for asset, balance in balances.items():
        if asset == quote:
            total += balance.total
        elif (price := prices.get(Symbol(f"{asset}/{quote}"))) is not None:
            total += balance.total * price
    return total


def _summary(report: ReconcileReport) -> dict[str, object]:
    return {
        "reattached": list(report.reattached),
        "finalized": [t.position_id for t in report.finalized],
        "orphans": list(report.orphans),
        "cancelled_orphans": list(report.cancelled_orphans),
        "foreign": list(report.foreign),
        "mismatches": list(report.mismatches),
        "holdings": list(report.holdings),
        "equity": None if report.equity is None else str(report.equity),
    }
