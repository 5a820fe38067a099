"""``SnapshotBuilder``: ``MarketSnapshot`` at any ``as_of``, fast, without look-ahead.

The first time a timeframe is read the builder resamples the base candles to it and computes every
indicator for every candle once (:mod:`market.features`), stored as numpy arrays (a ``Frame``); a run
whose agent reads no snapshot (the SMA agent) never computes one. ``build(as_of)`` then finds, per
timeframe, the last candle whose close time is ``<= as_of`` with ``searchsorted`` and reads that row:
a call costs well under a millisecond of lookups plus the pydantic models, however long the series
(``benchmarks/snapshot.py`` measures it on 100k+ candles).

Why nothing from after ``as_of`` can leak in:

- a candle (of any timeframe) is used only if ``open_at + timeframe <= as_of``;
- every indicator value at a row depends on that row and earlier ones only (causal formulas);
- a higher-timeframe bucket is "closed" by time (its close time ``<= as_of``), not by the data that
  happens to exist, so the same bucket is used whether later candles exist or not;
- the forming bar of a higher timeframe aggregates only base candles already closed at ``as_of``;
- the regime comes from :class:`market.regime.RegimeTracker`, which follows the same rules;
- derivatives come from the latest reading stamped ``<= as_of``.

``tests/market/test_snapshot_lookahead.py`` checks this with hypothesis: ``build(t)`` on the full data
equals ``build(t)`` on data cut at ``t``, for random ``t``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.ids import Symbol
from core.timeframes import datetime_to_ms, ms_to_datetime, timeframe_seconds
from market.candles import infer_timeframe, open_ms
from market.derivatives import DerivativesHistory, DerivativesReading
from market.features import FeatureConfig, indicator_frame
from market.frames import Frame, feature, pivots, round_sig, swings
from market.regime import RegimeTracker
from market.resample import aggregate_window, resample_candles
from market.signals import signal_values
from market.snapshot import (
    Bar,
    DerivativesView,
    FormingBar,
    Indicators,
    LastPrice,
    MarketSnapshot,
    SwingPoint,
    TimeframeSummary,
    ZScores,
)

DEFAULT_TIMEFRAMES = ("5m", "1h", "4h", "1d")
STALE_AFTER_CANDLES = 2


class NoDataError(ConfigError):
    """No candle of the base timeframe has closed at or before ``as_of``."""


@dataclass(frozen=True)
class LivePrice:
    """A trade or ticker price seen at ``at`` (inside the still-forming base candle)."""

    price: float
    at: datetime


@dataclass(frozen=True, slots=True)
class _Closed:
    """The parts of a timeframe's summary that only its last closed bar decides (frozen models, shared)."""

    bar: Bar
    return_pct: float | None
    indicators: Indicators
    zscores: ZScores
    recent_closes: tuple[float, ...]
    swing_highs: tuple[SwingPoint, ...]
    swing_lows: tuple[SwingPoint, ...]


def default_feature_configs(base_timeframe: str) -> dict[str, FeatureConfig]:
    """Session (UTC-day) VWAP on intraday base candles, rolling VWAP on the higher timeframes."""
    intraday = timeframe_seconds(base_timeframe) < 86400
    return {base_timeframe: FeatureConfig(session_vwap=intraday)}


class SnapshotBuilder:
    """Builds snapshots for one symbol from its base candles (see the module docstring).

    ``timeframes``: the summaries to include; those shorter than the base timeframe or not a whole
    multiple of it are skipped. ``regime``: usually one tracker on the reference symbol shared by
    every builder. ``derivatives``: the symbol's derivatives readings (funding, open interest ...).
    """

    def __init__(
        self,
        symbol: Symbol,
        candles: pd.DataFrame,
        base_timeframe: str | None = None,
        *,
        timeframes: Sequence[str] = DEFAULT_TIMEFRAMES,
        regime: RegimeTracker | None = None,
        derivatives: DerivativesHistory | None = None,
        feature_configs: Mapping[str, FeatureConfig] | None = None,
    ) -> None:
        self.symbol = symbol
        self.base_timeframe = base_timeframe or infer_timeframe(candles)
        base_s = timeframe_seconds(self.base_timeframe)
        self.timeframes = tuple(
            tf for tf in timeframes
            if timeframe_seconds(tf) >= base_s and timeframe_seconds(tf) % base_s == 0 and not tf.endswith("w")
        )
        if self.base_timeframe not in self.timeframes:
            self.timeframes = (self.base_timeframe, *self.timeframes)
        self.regime = regime
        self.derivatives = derivatives
        self._configs = {**default_feature_configs(self.base_timeframe), **(feature_configs or {})}
        self.update(candles)

    def update(self, candles: pd.DataFrame) -> None:
        """Replace the candles (live: after new ones closed); each timeframe's frame is computed again when next
        read (:meth:`frame`), from these candles: the values are the ones an eager build would have had."""
        self._candles = candles
        self._frames: dict[str, Frame] = {}
        """The frames read since the last ``update``, by timeframe."""
        self._closed: dict[str, tuple[int, _Closed]] = {}
        """Per timeframe, the last closed bar summarised (a higher timeframe's changes only when it closes)."""

    def frame(self, timeframe: str) -> Frame:
        """``timeframe``'s candles, indicators and pivots (one of ``self.timeframes``), computed on first read."""
        found = self._frames.get(timeframe)
        if found is None:
            if timeframe not in self.timeframes:
                raise ConfigError(f"{self.symbol} has no {timeframe} frame; known: {', '.join(self.timeframes)}")
            found = self._frames[timeframe] = self._frame(self._candles, timeframe)
        return found

    def _frame(self, base: pd.DataFrame, tf: str) -> Frame:
        step_ms = timeframe_seconds(tf) * 1000
        if tf == self.base_timeframe:
            candles, counts, expected = base, np.ones(len(base), dtype="int64"), 1
        else:
            resampled = resample_candles(base, self.base_timeframe, tf)
            candles = resampled[["open", "high", "low", "close", "volume"]]
            counts, expected = resampled["candles"].to_numpy(), int(resampled.attrs["expected_candles"])
        features = indicator_frame(candles, self._configs.get(tf, FeatureConfig()))
        times = open_ms(candles)
        ohlcv = candles.to_numpy()
        return Frame(tf, step_ms, times, times + step_ms, ohlcv, counts, expected, features.to_numpy(),
                      pivots(ohlcv[:, 1], highest=True), pivots(ohlcv[:, 2], highest=False))  # fmt: skip

    def closes(self) -> pd.Series:
        """The base candles' closes, indexed by their open time (UTC), as the builder has them now."""
        base = self.frame(self.base_timeframe)
        return pd.Series(base.ohlcv[:, 3], index=pd.to_datetime(base.open_ms, unit="ms", utc=True), name="close")

    # ------------------------------------------------------------ build

    def build(self, as_of: datetime, *, live_price: LivePrice | None = None) -> MarketSnapshot:
        """The snapshot at ``as_of`` (tz-aware). Raises :class:`NoDataError` before the first close."""
        return self.build_document(as_of, live_price=live_price)[0]

    def build_document(
        self, as_of: datetime, *, live_price: LivePrice | None = None
    ) -> tuple[MarketSnapshot, dict[str, Any]]:
        """The snapshot at ``as_of`` and its JSON form (``model_dump(mode="json")``), dumped once: the signals are
        computed from the JSON form of the snapshot without them, which then only needs its ``signals`` filled."""
        at_ms = datetime_to_ms(as_of)
        base = self.frame(self.base_timeframe)
        n_closed = int(np.searchsorted(base.close_ms, at_ms, side="right"))
        if n_closed == 0:
            raise NoDataError(
                f"no {self.base_timeframe} candle of {self.symbol} closed at or before {as_of.isoformat()}"
            )
        last_close_ms = int(base.close_ms[n_closed - 1])
        summaries = [s for tf in self.timeframes if (s := self._summary(self.frame(tf), at_ms, n_closed)) is not None]
        regime = self.regime.at(as_of) if self.regime is not None else None
        derivatives = self._derivatives(as_of)
        snapshot = MarketSnapshot(
            symbol=self.symbol,
            as_of=as_of,
            base_timeframe=self.base_timeframe,
            last_price=self._last_price(base, n_closed, as_of, live_price),
            data_age_s=(at_ms - last_close_ms) // 1000,
            timeframes=tuple(summaries),
            regime=regime,
            derivatives=derivatives,
            warnings=self._warnings(at_ms, last_close_ms, summaries, regime is None),
        )
        document = snapshot.model_dump(mode="json")
        snapshot = snapshot.model_copy(update={"signals": signal_values(document)})
        document["signals"] = snapshot.model_dump(mode="json", include={"signals"})["signals"]
        return snapshot, document

    def _last_price(self, base: Frame, n_closed: int, as_of: datetime, live: LivePrice | None) -> LastPrice:
        closed_at = ms_to_datetime(int(base.close_ms[n_closed - 1]))
        if live is not None:
            if live.at > as_of:
                raise ValueError(f"live price at {live.at.isoformat()} is after as_of {as_of.isoformat()}")
            if live.at > closed_at:
                return LastPrice(price=live.price, at=live.at, source="forming")
        return LastPrice(price=float(base.ohlcv[n_closed - 1, 3]), at=closed_at, source="closed_candle")

    def _summary(self, frame: Frame, at_ms: int, n_base_closed: int) -> TimeframeSummary | None:
        i = int(np.searchsorted(frame.close_ms, at_ms, side="right")) - 1
        if i < 0:
            return None
        cached = self._closed.get(frame.timeframe)
        if cached is None or cached[0] != i:
            cached = (i, self._closed_bar(frame, i))
            self._closed[frame.timeframe] = cached
        closed = cached[1]
        return TimeframeSummary(
            timeframe=frame.timeframe,
            closed_bars=i + 1,
            last_closed=closed.bar,
            return_pct=closed.return_pct,
            indicators=closed.indicators,
            zscores=closed.zscores,
            forming=self._forming(frame, at_ms, n_base_closed),
            recent_closes=closed.recent_closes,
            swing_highs=closed.swing_highs,
            swing_lows=closed.swing_lows,
        )

    @staticmethod
    def _closed_bar(frame: Frame, i: int) -> _Closed:
        f = frame.features[i]
        o, h, lo, c, v = (float(x) for x in frame.ohlcv[i])
        bar = Bar(
            open_at=ms_to_datetime(int(frame.open_ms[i])),
            closed_at=ms_to_datetime(int(frame.close_ms[i])),
            open=o, high=h, low=lo, close=c, volume=round_sig(v, 10) or 0.0,
            base_candles=int(frame.counts[i]),
            expected_base_candles=frame.expected,
        )
        return _Closed(
            bar=bar,
            return_pct=feature(f, "return_pct"),
            indicators=Indicators(**{k: feature(f, k) for k in Indicators.model_fields}),
            zscores=ZScores(return_z=feature(f, "return_z"), volume_z=feature(f, "volume_z")),
            recent_closes=frame.recent_closes(i),
            swing_highs=swings(frame, i, column=1, highest=True),
            swing_lows=swings(frame, i, column=2, highest=False),
        )

    def _forming(self, frame: Frame, at_ms: int, n_base_closed: int) -> FormingBar | None:
        """The open bucket of ``frame``'s timeframe, from base candles closed at ``at_ms``."""
        if frame.timeframe == self.base_timeframe:
            return None
        bucket_open = at_ms - at_ms % frame.step_ms
        base = self.frame(self.base_timeframe)
        lo = int(np.searchsorted(base.open_ms, bucket_open, side="left"))
        if n_base_closed <= lo:
            return None
        o, h, low, last, v = aggregate_window(base.ohlcv[lo:n_base_closed])
        return FormingBar(
            open_at=ms_to_datetime(bucket_open),
            closes_at=ms_to_datetime(bucket_open + frame.step_ms),
            elapsed_pct=round(100.0 * (at_ms - bucket_open) / frame.step_ms, 1),
            open=o, high=h, low=low, last=last, volume=round_sig(v, 10) or 0.0,
            change_pct=round_sig(100.0 * (last / o - 1.0), 6) or 0.0,
        )

    def _derivatives(self, as_of: datetime) -> DerivativesView | None:
        if self.derivatives is None:
            return None
        return self.derivatives.view_at(as_of)

    def _warnings(
        self, at_ms: int, last_close_ms: int, summaries: list[TimeframeSummary], no_regime: bool
    ) -> tuple[str, ...]:
        warnings = []
        step_ms = self.frame(self.base_timeframe).step_ms
        age_s = (at_ms - last_close_ms) // 1000
        if at_ms - last_close_ms > STALE_AFTER_CANDLES * step_ms:
            warnings.append(f"stale data: last {self.base_timeframe} candle closed {age_s}s ago")
        for s in summaries:
            bar = s.last_closed
            if bar.base_candles < bar.expected_base_candles:
                have, want = bar.base_candles, bar.expected_base_candles
                warnings.append(f"{s.timeframe} last bar has {have}/{want} base candles (exchange gap)")
        summarised = {s.timeframe for s in summaries}
        missing = [tf for tf in self.timeframes if tf not in summarised]
        if missing:
            warnings.append("no closed candle yet for " + ",".join(missing))
        if no_regime and self.regime is not None:
            warnings.append("regime unavailable (warming up)")
        return tuple(warnings)


class Market:
    """Snapshot builders by symbol: ``market.snapshot(symbol, as_of)`` as the engine calls it."""

    def __init__(self, builders: Mapping[Symbol, SnapshotBuilder]) -> None:
        self._builders = dict(builders)

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return tuple(self._builders)

    def builder(self, symbol: Symbol) -> SnapshotBuilder:
        if symbol not in self._builders:
            raise ConfigError(f"no market data for {symbol}; known: {', '.join(self._builders) or 'none'}")
        return self._builders[symbol]

    def snapshot(self, symbol: Symbol, as_of: datetime, *, live_price: LivePrice | None = None) -> MarketSnapshot:
        return self.builder(symbol).build(as_of, live_price=live_price)

    def snapshot_document(self, symbol: Symbol, as_of: datetime) -> tuple[MarketSnapshot, dict[str, Any]]:
        """The snapshot and its JSON form, dumped once (``SnapshotBuilder.build_document``)."""
        return self.builder(symbol).build_document(as_of)

    def record_derivatives(self, reading: DerivativesReading) -> bool:
        """Add a funding / open-interest reading to its symbol's history (starting one); ``False`` when it is
        not newer than the last reading (a poll that saw the same stamp again)."""
        builder = self.builder(reading.symbol)
        if builder.derivatives is None:
            builder.derivatives = DerivativesHistory(reading.symbol)
        history = builder.derivatives
        if len(history) and reading.at <= history.readings[-1].at:
            return False
        history.append(reading)
        return True
