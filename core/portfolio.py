"""The account as the agent sees it: one typed view of the book.

``safety`` builds it (``SafetyService.portfolio_view``, from the same state the veto judges and the guard
acts on); the ``get_portfolio`` tool returns it as is, and the same model is rendered into every
decision's first message (``agent.book_text``). The field descriptions are the documentation the model
reads. To show the agent something more, add a field here with a default and fill it in the one builder,
``safety.views.portfolio_view``.

Money is ``Decimal`` and goes out as a plain decimal string (never an exponent); percentages are floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from core.ids import PositionId, Symbol
from core.sides import PositionSide, Side

_VIEW = ConfigDict(frozen=True, extra="forbid")

Money = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")]
"""An amount of money or a price: ``Decimal`` in Python, a plain decimal string in JSON."""


class PositionView(BaseModel):
    """One open position, with what the guard will do to it on its own."""

    model_config = _VIEW

    id: PositionId = Field(description="The position's id (safety derives it from the entry's tool call).")
    symbol: Symbol = Field(description="Market symbol.")
    side: PositionSide = Field(description="long or short.")
    quantity: Money = Field(description="Open quantity in the base asset.")
    entry_price: Money = Field(description="Average entry price.")
    stop_price: Money = Field(description="The current protective stop; it only tightens.")
    stop_live: bool = Field(description="True when the stop is a live order on the exchange (else being placed).")
    initial_stop_price: Money = Field(description="The stop at entry: entry minus it is 1 R.")
    take_profit_price: Money | None = Field(description="The first take-profit level, or null when none is set.")
    take_profit_kind: Literal["order", "watched"] | None = Field(
        description="order: a take-profit order rests on the exchange; watched: the guard sells at market when "
        "the price reaches it (spot, where the stop holds the balance); null without a take-profit."
    )
    take_profit_fraction_pct: float = Field(description="Share of the entry quantity the first take-profit closes.")
    break_even_price: Money | None = Field(
        description="Where the stop moves once the first take-profit filled (entry plus the fee offset); null "
        "when there is no take-profit or the move was done."
    )
    break_even_done: bool = Field(description="True once the stop was moved to break-even after take-profit 1.")
    trailing_activation_pct: float | None = Field(description="Trailing starts once profit reaches this %; null: none.")
    trailing_distance_pct: float | None = Field(description="The trailing stop follows the best price this % behind.")
    trailing_active: bool = Field(description="True once the trailing stop has moved the stop.")
    best_price: Money | None = Field(description="The best price since entry as the guard tracked it (trailing).")
    last_price: Money | None = Field(description="The latest price of the market; null before any was seen.")
    unrealized_pnl: Money | None = Field(
        description="Profit or loss at the latest price, in the quote currency, before exit fees; null without a price."
    )
    unrealized_r: float | None = Field(description="The unrealized P&L in R (multiples of the initial risk).")
    opened_at: AwareDatetime = Field(description="When the entry filled.")
    held_s: int = Field(description="Seconds since the entry filled.")


class PendingEntryView(BaseModel):
    """An entry order sent but not (fully) filled yet; it counts towards exposure."""

    model_config = _VIEW

    position_id: PositionId = Field(description="The id the position will have once the entry fills.")
    symbol: Symbol = Field(description="Market symbol.")
    side: PositionSide = Field(description="long or short.")
    quantity: Money = Field(description="Ordered quantity in the base asset.")
    entry_price: Money = Field(description="The limit price, or the reference price of a market entry.")
    stop_price: Money = Field(description="The protective stop placed once it fills.")
    take_profit_price: Money | None = Field(description="The take-profit set once it fills, if any.")
    notional: Money = Field(description="Quantity times the entry price, in the quote currency.")
    submitted_at: AwareDatetime = Field(description="When the entry order was sent.")


class ControlsView(BaseModel):
    """The operator's controls: while halted or sleeping, entries are refused (exits never are)."""

    model_config = _VIEW

    halted: bool = Field(description="True while the operator's kill switch is on.")
    halt_reason: str | None = Field(description="Why the operator halted trading.")
    halted_at: AwareDatetime | None = Field(description="When the halt began.")
    sleep_until: AwareDatetime | None = Field(description="Entries are refused until this time.")
    sleep_reason: str | None = Field(description="Why the operator put the account to sleep.")


class AccountView(BaseModel):
    """Equity, cash, leverage and the day's counters against their caps."""

    model_config = _VIEW

    quote_asset: str = Field(description="The currency money is counted in.")
    market_type: Literal["spot", "future"] = Field(
        description="spot (long only, no leverage) or future (USDT-M perpetuals: long and short, with leverage)."
    )
    equity: Money = Field(description="Cash plus open positions at the latest prices.")
    free_cash: Money | None = Field(description="Quote currency not locked in orders; null before a balance read.")
    exposure: Money = Field(description="Notional of open positions at the latest prices plus pending entries.")
    exposure_pct: float = Field(description="Exposure as % of equity.")
    max_total_exposure_pct: float = Field(description="The cap on exposure, % of equity.")
    max_position_pct: float = Field(description="The cap on one position's notional, % of equity.")
    leverage_in_use: float | None = Field(description="Exposure / equity on futures; null on spot (no leverage).")
    max_leverage: float | None = Field(description="The leverage cap on futures; null on spot.")
    day_start_equity: Money = Field(description="Equity at the start of the UTC day (the daily loss base).")
    realized_pnl_today: Money = Field(description="Net P&L of positions closed today (after fees).")
    pnl_today: Money = Field(description="Equity now minus equity at the start of the UTC day (open P&L included).")
    daily_loss_used_pct: float = Field(description="Today's realized loss as % of the day's start equity (0 if up).")
    daily_loss_limit_pct: float = Field(description="Entries stop when the realized daily loss reaches this %.")
    orders_today: int = Field(description="Orders you asked for today (entries, take-profit changes).")
    max_orders_per_day: int = Field(description="The daily cap on those orders.")
    trades_today: int = Field(description="Positions closed today.")
    max_trades_per_day: int = Field(description="Entries stop when this many positions closed today.")
    consecutive_losses: int = Field(description="Losing trades in a row.")
    max_consecutive_losses: int = Field(description="Entries pause after this many losses in a row.")


class QuoteView(BaseModel):
    """One market the account has a price for: the price, the fees, the re-entry cool-down."""

    model_config = _VIEW

    symbol: Symbol = Field(description="Market symbol.")
    last_price: Money = Field(description="The latest price.")
    price_at: AwareDatetime = Field(description="When that price was seen.")
    taker_fee_pct: float = Field(description="Fee of a market (taker) fill, % of notional.")
    maker_fee_pct: float = Field(description="Fee of a resting limit (maker) fill, % of notional.")
    cooldown_remaining_s: int = Field(description="Seconds until an entry is allowed after the last exit (0: none).")


class BreakerView(BaseModel):
    """One safety breaker."""

    model_config = _VIEW

    name: Literal["trading", "exchange", "persistence", "reconciliation"] = Field(description="Which breaker.")
    state: Literal["closed", "open", "half_open"] = Field(description="closed lets entries through; open blocks them.")
    detail: str = Field(description="Why it is open, or its counters while closed.")
    until: AwareDatetime | None = Field(description="When an open breaker closes by itself, if it does.")


class FillView(BaseModel):
    """One recent fill of a position (entry or exit), newest last."""

    model_config = _VIEW

    at: AwareDatetime = Field(description="When it filled.")
    symbol: Symbol = Field(description="Market symbol.")
    position_id: PositionId = Field(description="The position it belongs to.")
    side: Side = Field(description="buy or sell.")
    action: str = Field(description="entry, or the exit's reason (stop_loss, take_profit, trailing_stop, agent, ...).")
    quantity: Money = Field(description="Filled quantity in the base asset.")
    price: Money = Field(description="Average fill price.")
    fee: Money = Field(description="Fee paid, in the quote currency.")


class PortfolioView(BaseModel):
    """Your account now: the account and its caps, markets with fees and cool-downs, open positions with the
    guard's next moves, pending entries, breakers, operator controls and the latest fills."""

    model_config = _VIEW

    as_of: AwareDatetime = Field(description="The time this view was taken.")
    account: AccountView = Field(description="Equity, cash, leverage and today's counters against their caps.")
    markets: tuple[QuoteView, ...] = Field(description="Per market: last price, fees, re-entry cool-down.")
    positions: tuple[PositionView, ...] = Field(description="Open positions.")
    pending_entries: tuple[PendingEntryView, ...] = Field(description="Entry orders not filled yet.")
    breakers: tuple[BreakerView, ...] = Field(description="Every safety breaker; any open one blocks entries.")
    entries_blocked: str | None = Field(description="Why a new entry would be refused right now, or null.")
    controls: ControlsView = Field(description="The operator's kill switch and sleep mode.")
    recent_fills: tuple[FillView, ...] = Field(description="The latest fills (entries and exits), oldest first.")

    def position_in(self, symbol: str) -> PositionView | None:
        """The first open position in ``symbol``, if any."""
        return next((p for p in self.positions if p.symbol == symbol), None)

    def holds(self, symbol: str) -> bool:
        """An open position or a pending entry in ``symbol``."""
        return self.position_in(symbol) is not None or any(e.symbol == symbol for e in self.pending_entries)

    def quote(self, symbol: str) -> QuoteView | None:
        return next((q for q in self.markets if q.symbol == symbol), None)
