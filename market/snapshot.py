"""``MarketSnapshot``: what the agent knows about one symbol at one instant.

The JSON form (``model_dump(mode="json")``) is the ``get_market_snapshot`` tool result, ``to_prompt()``
the compact text put in the model's context, ``digest()`` the SHA-256 of the canonical JSON that
decision records cite. Every market value in a snapshot comes from candles closed at or before
``as_of`` (or, for ``last_price.source == "forming"``, from a live price observed at or before
``as_of``, labelled as such); ``SnapshotBuilder`` enforces it and a property test proves it.

A snapshot is market data only. The account, the learner's evidence, the last decisions and the agent's
memory are not in it: they travel in the decision request's book (``core.book``) and are rendered once,
in the decision's first message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.canonical import canonical_json, sha256_hex
from core.ids import Symbol
from core.signals import Signal
from market.regime import RegimeReading

SCHEMA_VERSION = 2
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
    realized_vol_rank: float | None = Field(
        default=None, description="Percentile (0..1) of realized vol among its last 100 values; low is a squeeze."
    )
    vwap: float | None = None
    vwap_dist_pct: float | None = None
    dist_high_pct: float | None = None
    dist_low_pct: float | None = None


class ZScores(BaseModel):
    """Last closed candle's log return and volume against the preceding window."""

    model_config = _VALUE

    return_z: float | None = None
    volume_z: float | None = None


class SwingPoint(BaseModel):
    """A swing high (low): a closed bar whose high (low) no bar within ``SWING_BARS`` on either side beats."""

    model_config = _VALUE

    at: AwareDatetime = Field(description="Open time of the pivot bar.")
    price: float


class TimeframeSummary(BaseModel):
    model_config = _VALUE

    timeframe: str
    closed_bars: int = Field(description="Closed candles of this timeframe available up to as_of.")
    last_closed: Bar
    return_pct: float | None = None
    indicators: Indicators
    zscores: ZScores
    forming: FormingBar | None = None
    recent_closes: tuple[float, ...] = Field(default=(), description="The last closes, oldest first (price path).")
    swing_highs: tuple[SwingPoint, ...] = Field(default=(), description="The latest swing highs, oldest first.")
    swing_lows: tuple[SwingPoint, ...] = Field(default=(), description="The latest swing lows, oldest first.")


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
    signals: dict[Signal, float | None] = Field(
        default_factory=dict,
        description="Every signal of the closed list with its value (market.signals): votes in [-1, 1], + favours "
        "long; volatility_squeeze is a strength in [0, 1] with no direction; null: no data.",
    )

    def timeframe(self, timeframe: str) -> TimeframeSummary | None:
        return next((s for s in self.timeframes if s.timeframe == timeframe), None)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON form (what decision records cite)."""
        return sha256_hex(canonical_json(self.model_dump(mode="json")))

    def to_prompt(self, max_tokens: int = 1500) -> str:
        """Compact, stable text for the model's context (see ``market.prompt``)."""
        from market.prompt import render_prompt

        return render_prompt(self, max_tokens=max_tokens)
