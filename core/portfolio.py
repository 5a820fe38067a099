"""The account as the agent sees it: one typed view of the book.

``safety`` builds it (``SafetyService.portfolio_view``, from the same state the veto judges); the
``get_portfolio`` tool returns it as is, and the same model can be rendered into a decision's first
message. The field descriptions are the documentation the model reads. To show the agent something
more (P&L in R, breakers, caps used, fees), add a field or a section here with a default and fill it
in the one builder, ``safety.views.portfolio_view``.

Money is ``Decimal`` and goes out as a plain decimal string (never an exponent); percentages are floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from core.ids import PositionId, Symbol
from core.types import PositionSide

_VIEW = ConfigDict(frozen=True, extra="forbid")

Money = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")]
"""An amount of money or a price: ``Decimal`` in Python, a plain decimal string in JSON."""


class PositionView(BaseModel):
    """One open position."""

    model_config = _VIEW

    id: PositionId = Field(description="The position's id (safety derives it from the entry's tool call).")
    symbol: Symbol = Field(description="Market symbol.")
    side: PositionSide = Field(description="long or short.")
    quantity: Money = Field(description="Open quantity in the base asset.")
    entry_price: Money = Field(description="Average entry price.")
    stop_price: Money = Field(description="The protective stop safety keeps live on the exchange; it only tightens.")
    take_profit_price: Money | None = Field(description="The take-profit level, or null when none is set.")
    unrealized_pnl: Money | None = Field(
        description="Profit or loss at the latest price, in the quote currency; null before any price was seen."
    )
    opened_at: AwareDatetime = Field(description="When the entry filled.")


class PendingEntryView(BaseModel):
    """An entry order sent but not (fully) filled yet; it counts towards exposure."""

    model_config = _VIEW

    position_id: PositionId = Field(description="The id the position will have once the entry fills.")
    symbol: Symbol = Field(description="Market symbol.")
    side: PositionSide = Field(description="long or short.")
    notional: Money = Field(description="Quantity times the entry's reference price, in the quote currency.")


class ControlsView(BaseModel):
    """The operator's controls: while halted or sleeping, entries are refused (exits never are)."""

    model_config = _VIEW

    halted: bool = Field(description="True while the operator's kill switch is on.")
    halt_reason: str | None = Field(description="Why the operator halted trading.")
    halted_at: AwareDatetime | None = Field(description="When the halt began.")
    sleep_until: AwareDatetime | None = Field(description="Entries are refused until this time.")
    sleep_reason: str | None = Field(description="Why the operator put the account to sleep.")


class PortfolioView(BaseModel):
    """Your account now: equity, exposure, open positions, pending entries and the operator's controls."""

    model_config = _VIEW

    market_type: str = Field(description="spot (long only) or future (long and short, with leverage).")
    equity: Money = Field(description="Account equity in the quote currency: cash plus positions at the latest prices.")
    exposure: Money = Field(
        description="Notional of every open position at the latest price plus pending entries, in the quote currency."
    )
    exposure_pct: float = Field(description="Exposure as % of equity.")
    positions: tuple[PositionView, ...] = Field(description="Open positions.")
    pending_entries: tuple[PendingEntryView, ...] = Field(description="Entry orders not filled yet.")
    controls: ControlsView = Field(description="The operator's kill switch and sleep mode.")

    def position_in(self, symbol: str) -> PositionView | None:
        """The first open position in ``symbol``, if any."""
        return next((p for p in self.positions if p.symbol == symbol), None)

    def holds(self, symbol: str) -> bool:
        """An open position or a pending entry in ``symbol``."""
        return self.position_in(symbol) is not None or any(e.symbol == symbol for e in self.pending_entries)
