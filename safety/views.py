"""Read-only inputs of the pure decisions: what the market and the account look like right now (the
agent's typed view of the same is built in :mod:`safety.portfolio_view`).

Plain frozen dataclasses: they are built fresh for each decision by the caller and never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.ids import PositionId, Symbol
from core.money import MarketRules
from core.settings import RiskSettings, RunMode
from core.types import Position, PositionSide
from exchange.liquidation import MaintenanceBracket, MarginType


@dataclass(frozen=True, slots=True)
class AccountTerms:
    """A futures symbol's terms on the account, as the exchange reports them: the leverage and margin type in
    force and the maintenance brackets. They decide the liquidation price, whatever a proposal says."""

    leverage: int
    margin_type: MarginType
    brackets: tuple[MaintenanceBracket, ...]


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest price of one market and how fresh it is, with the market's precision rules (and, on
    futures, the account's terms for it once read)."""

    rules: MarketRules
    last_price: Decimal
    as_of: datetime
    terms: AccountTerms | None = None


MarketView = Mapping[Symbol, Quote]


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An entry order sent but not (fully) filled yet: it counts towards exposure."""

    position_id: PositionId
    symbol: Symbol
    side: PositionSide
    notional: Decimal


@dataclass(frozen=True, slots=True)
class Portfolio:
    equity: Decimal
    """Account equity in the quote currency (cash + marked positions)."""
    positions: tuple[Position, ...] = ()
    pending_entries: tuple[PendingEntry, ...] = ()
    last_exit_at: Mapping[Symbol, datetime] = field(default_factory=dict)
    other_runners_exposure: Decimal = Decimal(0)
    """Several runners on one account: the notional the *other* runners hold (the account-wide book less this
    runner's own). It counts towards total exposure; positions, per-symbol checks and sizes stay this runner's."""

    def positions_in(self, symbol: Symbol) -> tuple[Position, ...]:
        return tuple(p for p in self.positions if p.symbol == symbol)

    def find(self, symbol: Symbol, position_id: PositionId | None) -> Position | None:
        """The addressed position: by id when given, else the symbol's only position."""
        candidates = self.positions_in(symbol)
        if position_id is not None:
            return next((p for p in candidates if p.id == position_id), None)
        return candidates[0] if len(candidates) == 1 else None

    def exposure(self, market: MarketView) -> Decimal:
        """Notional of every open position (marked at the last price) plus pending entries, plus what the other
        runners on the account hold (several runners)."""
        marked = sum((p.quantity * _mark(p, market) for p in self.positions), Decimal(0))
        return marked + sum((e.notional for e in self.pending_entries), Decimal(0)) + self.other_runners_exposure

    def own_notional(self) -> Decimal:
        """This runner's positions at their entry prices and its pending entries: what it holds in the
        account-wide book (reserved at the reference price, settled at the fill)."""
        held = sum((p.quantity * p.entry_price for p in self.positions), Decimal(0))
        return held + sum((e.notional for e in self.pending_entries), Decimal(0))


def _mark(position: Position, market: MarketView) -> Decimal:
    quote = market.get(position.symbol)
    return quote.last_price if quote is not None else position.entry_price


@dataclass(frozen=True, slots=True)
class Limits:
    """The risk limits and the run mode they apply in (mainnet takes the stricter caps)."""

    risk: RiskSettings
    mode: RunMode

    @property
    def effective(self) -> RiskSettings:
        return self.risk.effective_for(self.mode)
