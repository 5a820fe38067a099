"""One safety pass over the whole account, run on every engine step and at reconciliation.

In order: commit anything still staged (a save that failed earlier is retried first), stop there during an IP
ban (nothing may be sent: no probe, no entry settled, no stop placed, no watchdog exit), move the
breakers on the clock (a new UTC day starts a new loss budget; an exchange breaker past its cooldown
sends its probe), settle every pending entry, cancel the leftovers of finalized positions, then guard
every open position (finalization first), and commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ids import Symbol
from safety import breakers as brk
from safety.book import SafetyBook
from safety.entries import Entries
from safety.executor import PositionGuard
from safety.gateway import ExchangeGateway
from safety.keeper import StateKeeper, TickReport


@dataclass
class Sweep:
    book: SafetyBook
    keeper: StateKeeper
    gateway: ExchangeGateway
    entries: Entries
    guard: PositionGuard
    scope: Callable[[Symbol], bool] | None = None
    """Several runners: guard only the positions on symbols this runner holds (the holder of the others guards
    them; this runner's writes there would be refused by the fence anyway). ``None``: every position."""

    async def run(self, prices: Mapping[Symbol, Decimal], now: datetime, equity: Decimal | None = None) -> TickReport:
        """One pass over every pending entry and open position. ``equity`` (when known) starts a new UTC
        day's loss budget."""
        self.keeper.begin_pass()
        await self.keeper.save(now)
        await self._trading_day(now, equity)
        if self.gateway.banned(now):  # nothing may be sent: no probe, no settling, no guard (so no watchdog exit)
            until = self.book.board.banned_until
            self.keeper.problem(f"IP banned until {until.isoformat() if until else '?'}: the pass sends nothing")
            await self.keeper.save(now)
            return self.keeper.end_pass()
        await self.gateway.on_clock(now)
        await self.entries.settle_all(prices, now)
        await self.guard.cleanup(now)
        self.gateway.sweep(True)
        try:
            for pid in sorted(self.book.records):
                record = self.book.records.get(pid)
                if record is not None and (self.scope is None or self.scope(record.symbol)):
                    await self.guard.guard_position(pid, prices, now)
        finally:
            self.gateway.sweep(False)
        await self.keeper.save(now)
        return self.keeper.end_pass()

    async def _trading_day(self, now: datetime, equity: Decimal | None) -> None:
        board = self.book.board
        trading, events = brk.trading_on_clock(board.trading, equity or board.trading.day_start_equity, now)
        if trading is not board.trading:
            self.book.put_board(board.model_copy(update={"trading": trading}))
        await self.keeper.announce(events, now)
