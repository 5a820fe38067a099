"""``MarketSnapshot``: what the agent knows about one symbol at one instant.

The JSON form (``model_dump(mode="json")``) is the ``get_market_snapshot`` tool result, ``to_prompt()``
the compact text put in the model's context, ``digest()`` the SHA-256 of the canonical JSON that
decision records cite. Every market value in a snapshot comes from candles closed at or before
``as_of`` (or, for ``last_price.source == "forming"``, from a live price observed at or before
``as_of``, labelled as such); ``SnapshotBuilder`` enforces it and a property test proves it.

The context slots (``position``, ``portfolio``, ``learner_weights``, ``recent_decisions``, ``memory``)
are filled by other packages with :meth:`MarketSnapshot.with_context`; they default to empty.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.canonical import canonical_json, sha256_hex
from core.ids import Symbol
from market.regime import RegimeReading

SCHEMA_VERSION = 1
_VALUE = ConfigDict(frozen=True, extra="forbid")


class Bar(BaseModel):
    """A closed candle: ``open_at`` <= ``closed_at`` <= the snapshot's ``as_of``."""

    model_config = _VALUE

    open_at: AwareDatetime
    closed_at: AwareDatetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    base_candles: int = Field(description="Base candles in this bar; fewer than expected means an exchange gap.")
    expected_base_candles: int


class FormingBar(BaseModel):
    """The current, still-open candle of a timeframe, aggregated from the base candles closed so far.

    It is *not* a closed candle: its high, low and last price will still change.
    """

    model_config = _VALUE

    open_at: AwareDatetime
    closes_at: AwareDatetime
    elapsed_pct: float
    open: float
    high: float
    low: float
    last: float
    volume: float
    change_pct: float


class Indicators(BaseModel):
    """Indicators on closed candles of one timeframe (see ``market.indicators`` for definitions)."""

    model_config = _VALUE

    rsi: float | None = None
    atr: float | None = None
    atr_pct: float | None = None
    ema_fast: float | None = None
    ema_slow: float | None = None
    realized_vol_pct: float | None = None
    vwap: float | None = None
    vwap_dist_pct: float | None = None
    dist_high_pct: float | None = None
    dist_low_pct: float | None = None


class ZScores(BaseModel):
    """Last closed candle's log return and volume against the preceding window."""

    model_config = _VALUE

    return_z: float | None = None
    volume_z: float | None = None


class TimeframeSummary(BaseModel):
    model_config = _VALUE

    timeframe: str
    closed_bars: int = Field(description="Closed candles of this timeframe available up to as_of.")
    last_closed: Bar
    return_pct: float | None = None
    indicators: Indicators
    zscores: ZScores
    forming: FormingBar | None = None


class LastPrice(BaseModel):
    """The latest price known at ``as_of``.

    ``closed_candle``: close of the last base candle closed at or before ``as_of`` (``at`` is its close
    time). ``forming``: a live price inside the still-open candle, observed at ``at`` <= ``as_of``.
    """

    model_config = _VALUE

    price: float
    at: AwareDatetime
    source: Literal["closed_candle", "forming"]


class DerivativesView(BaseModel):
    """Perpetual-futures context for the symbol at ``as_of`` (latest reading at or before it)."""

    model_config = _VALUE

    symbol: Symbol
    at: AwareDatetime
    funding_rate: float | None = None
    next_funding_at: AwareDatetime | None = None
    mark_price: float | None = None
    open_interest: float | None = None
    open_interest_change_pct: float | None = None
    long_short_ratio: float | None = None


class MarketSnapshot(BaseModel):
    model_config = _VALUE

    schema_version: int = SCHEMA_VERSION
    symbol: Symbol
    as_of: AwareDatetime
    base_timeframe: str
    last_price: LastPrice
    data_age_s: int = Field(description="Seconds between the last closed base candle's close and as_of.")
    timeframes: tuple[TimeframeSummary, ...]
    regime: RegimeReading | None = None
    derivatives: DerivativesView | None = None
    warnings: tuple[str, ...] = ()
    position: dict[str, Any] | None = None
    portfolio: dict[str, Any] | None = None
    learner_weights: dict[str, float] = Field(default_factory=dict)
    recent_decisions: tuple[dict[str, Any], ...] = ()
    memory: str = ""

    def timeframe(self, timeframe: str) -> TimeframeSummary | None:
        return next((s for s in self.timeframes if s.timeframe == timeframe), None)

    def with_context(
        self,
        *,
        position: dict[str, Any] | None = None,
        portfolio: dict[str, Any] | None = None,
        learner_weights: dict[str, float] | None = None,
        recent_decisions: tuple[dict[str, Any], ...] | list[dict[str, Any]] | None = None,
        memory: str | None = None,
    ) -> MarketSnapshot:
        """A copy with the given context slots filled (``None`` leaves a slot as it is)."""
        update: dict[str, Any] = {
            "position": position,
            "portfolio": portfolio,
            "learner_weights": learner_weights,
            "recent_decisions": tuple(recent_decisions) if recent_decisions is not None else None,
            "memory": memory,
        }
        return MarketSnapshot.model_validate(
            {**self.model_dump(), **{k: v for k, v in update.items() if v is not None}}
        )

    def digest(self) -> str:
        """SHA-256 of the canonical JSON form (what decision records cite)."""
        return sha256_hex(canonical_json(self.model_dump(mode="json")))

    def to_prompt(self, max_tokens: int = 1500) -> str:
        """Compact, stable text for the model's context (see ``market.prompt``)."""
        from market.prompt import render_prompt

        return render_prompt(self, max_tokens=max_tokens)
