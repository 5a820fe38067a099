"""Market regime over time for a reference symbol (BTC by default), without look-ahead.

:class:`RegimeTracker` holds the reference candles and answers "what was the regime at ``as_of``":

1. The model in force at ``as_of`` is the one fitted at the latest **refit time** ``R <= as_of``
   (refit times are multiples of ``refit_every`` since the epoch, so every run refits at the same
   instants), on the reference candles that closed in ``(R - window, R]``.
2. The probabilities are the **filtered** ones (forward pass only) from the start of that training
   window up to the last reference candle closed at or before ``as_of``.

Both steps only touch candles closed at or before ``as_of``, so the answer cannot depend on later
data. Fitted models are cached by refit time and can be exported to / imported from plain dicts (the
Store keeps them), so a restarted engine reuses the same fits instead of refitting.

Features per reference candle: the log return and the log of the realized volatility (std of the
last ``rv_window`` log returns, floored at ``1e-6`` so a flat stretch during an outage has a finite
log). Logging the volatility makes its distribution much closer to the Gaussian the HMM assumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.ids import Symbol
from core.timeframes import datetime_to_ms, ms_to_datetime, timeframe_seconds
from market.candles import open_ms
from market.hmm import HIGH_VOL, LABELS, LOW_VOL, RegimeModel
from market.indicators import log_returns
from market.resample import resample_candles

VOL_FLOOR = 1e-6


def regime_features(close: pd.Series, rv_window: int = 24) -> np.ndarray:
    """``(n, 2)`` matrix: log return, log realized volatility (NaN while warming up)."""
    r = log_returns(close)
    rv = r.rolling(rv_window, min_periods=rv_window).std(ddof=1)
    log_rv = np.log(np.maximum(rv.to_numpy(), VOL_FLOOR))
    return np.column_stack([r.to_numpy(), np.where(np.isnan(rv.to_numpy()), np.nan, log_rv)])


@dataclass(frozen=True)
class RegimeSchedule:
    """How the regime model is fitted. Defaults: hourly candles, 90-day window, weekly refits.

    ``min_train_bars``: fewer usable candles in the window means "no regime yet" rather than a fit on
    too little data. ``seed`` makes every fit reproducible.
    """

    timeframe: str = "1h"
    window: timedelta = timedelta(days=90)
    refit_every: timedelta = timedelta(days=7)
    min_train_bars: int = 500
    rv_window: int = 24
    seed: int = 7
    n_iter: int = 100

    def refit_time(self, as_of: datetime) -> datetime:
        every_ms = int(self.refit_every.total_seconds() * 1000)
        at_ms = datetime_to_ms(as_of)
        return ms_to_datetime(at_ms - at_ms % every_ms)


class RegimeReading(BaseModel):
    """The regime at one instant: label of the more probable state and both filtered probabilities."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: Symbol
    timeframe: str
    label: str
    probabilities: dict[str, float]
    bar_closed_at: AwareDatetime
    """Close time of the last reference candle the filter has seen."""
    fitted_at: AwareDatetime
    train_bars: int


@dataclass
class _Period:
    model: RegimeModel
    refit_at: datetime
    first_row: int
    filtered: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))


class RegimeTracker:
    """Regime of one reference series; see the module docstring for the no-look-ahead rules."""

    def __init__(self, symbol: Symbol, candles: pd.DataFrame, schedule: RegimeSchedule | None = None) -> None:
        self.symbol = symbol
        self.schedule = schedule or RegimeSchedule()
        self._models: dict[datetime, RegimeModel | None] = {}
        self._periods: dict[datetime, _Period] = {}
        self._last: tuple[datetime, RegimeReading | None] | None = None
        """The last reading asked for (an engine step asks twice for the same moment: gate, then snapshot)."""
        self._enough: dict[datetime, bool] = {}
        """Per refit time: the training window has enough usable rows for a fit (``has_reading``)."""
        self._by_row: tuple[int, datetime, RegimeReading | None] | None = None
        """The last reading by (reference row, refit time): every moment inside one reference bar and one refit
        period reads the same values (a 5m backtest asks twelve times per 1h bar)."""
        self._set_candles(candles)

    def _set_candles(self, candles: pd.DataFrame) -> None:
        step = timeframe_seconds(self.schedule.timeframe) * 1000
        self._close_ms = open_ms(candles) + step
        self._features = regime_features(candles["close"], self.schedule.rv_window)
        self._periods.clear()
        self._enough.clear()
        self._last = None
        self._by_row = None

    def update(self, candles: pd.DataFrame) -> None:
        """Replace the reference candles (e.g. after new ones closed). Fitted models stay valid:
        a fit at ``R`` only used candles closed by ``R``, which new candles cannot change."""
        self._set_candles(candles)

    def at(self, as_of: datetime) -> RegimeReading | None:
        """The regime at ``as_of``, or ``None`` while there is too little history to fit."""
        last = self._last
        if last is not None and last[0] == as_of:
            return last[1]
        reading = self._read(as_of)
        self._last = (as_of, reading)
        return reading

    def _read(self, as_of: datetime) -> RegimeReading | None:
        last = int(np.searchsorted(self._close_ms, datetime_to_ms(as_of), side="right")) - 1
        if last < 0:
            return None
        refit_at = self.schedule.refit_time(as_of)
        cached = self._by_row
        if cached is not None and cached[0] == last and cached[1] == refit_at:
            return cached[2]
        reading = self._reading(last, refit_at)
        self._by_row = (last, refit_at, reading)
        return reading

    def _reading(self, last: int, refit_at: datetime) -> RegimeReading | None:
        period = self._period(refit_at)
        if period is None or last < period.first_row:
            return None
        probs = self._filtered_row(period, last)
        return RegimeReading(
            symbol=self.symbol,
            timeframe=self.schedule.timeframe,
            label=LOW_VOL if probs[0] >= probs[1] else HIGH_VOL,
            probabilities={LABELS[0]: float(probs[0]), LABELS[1]: float(probs[1])},
            bar_closed_at=ms_to_datetime(int(self._close_ms[last])),
            fitted_at=refit_at,
            train_bars=period.model.params.train_bars,
        )

    def has_reading(self, as_of: datetime) -> bool:
        """Whether ``at(as_of)`` is a reading rather than ``None``, told without fitting anything (the rows a fit
        would get are counted instead)."""
        last = int(np.searchsorted(self._close_ms, datetime_to_ms(as_of), side="right")) - 1
        if last < 0:
            return False
        refit_at = self.schedule.refit_time(as_of)
        known = refit_at in self._models
        if (self._models[refit_at] is None) if known else not self._enough_rows(refit_at):
            return False
        return last >= self._train_rows(refit_at)[0]

    def _enough_rows(self, refit_at: datetime) -> bool:
        enough = self._enough.get(refit_at)
        if enough is None:
            lo, hi = self._train_rows(refit_at)
            enough = int(np.isfinite(self._features[lo:hi]).all(axis=1).sum()) >= self.schedule.min_train_bars
            self._enough[refit_at] = enough
        return enough

    def model_at(self, refit_at: datetime) -> RegimeModel | None:
        """The model fitted at ``refit_at`` (fitted on first use, then cached)."""
        if refit_at not in self._models:
            self._models[refit_at] = self._fit(refit_at)
        return self._models[refit_at]

    def _train_rows(self, refit_at: datetime) -> tuple[int, int]:
        end_ms = datetime_to_ms(refit_at)
        start_ms = end_ms - int(self.schedule.window.total_seconds() * 1000)
        lo = int(np.searchsorted(self._close_ms, start_ms, side="right"))
        hi = int(np.searchsorted(self._close_ms, end_ms, side="right"))
        return lo, hi

    def _fit(self, refit_at: datetime) -> RegimeModel | None:
        lo, hi = self._train_rows(refit_at)
        rows = self._features[lo:hi]
        rows = rows[np.isfinite(rows).all(axis=1)]
        if len(rows) < self.schedule.min_train_bars:
            return None
        return RegimeModel.fit(rows, seed=self.schedule.seed, n_iter=self.schedule.n_iter, fitted_at=refit_at)

    def _period(self, refit_at: datetime) -> _Period | None:
        if refit_at in self._periods:
            return self._periods[refit_at]
        model = self.model_at(refit_at)
        if model is None:
            return None
        period = _Period(model=model, refit_at=refit_at, first_row=self._train_rows(refit_at)[0])
        self._periods[refit_at] = period
        return period

    def _filtered_row(self, period: _Period, row: int) -> np.ndarray:
        have = period.first_row + len(period.filtered)
        if row >= have:
            # Extend the cached pass up to the end of the refit period (or of the data).
            end_ms = datetime_to_ms(period.refit_at) + int(self.schedule.refit_every.total_seconds() * 1000)
            stop = max(row + 1, int(np.searchsorted(self._close_ms, end_ms, side="right")))
            period.filtered = period.model.filtered_probabilities(self._features[period.first_row : stop])
        probs: np.ndarray = period.filtered[row - period.first_row]
        return probs

    # ------------------------------------------------------------ persistence

    def export_models(self) -> dict[str, Any]:
        """Fitted models keyed by refit time (ISO-8601), as JSON-able dicts for the Store."""
        return {at.isoformat(): m.to_dict() for at, m in sorted(self._models.items()) if m is not None}

    def import_models(self, data: dict[str, Any]) -> None:
        """Load models exported earlier; they are used instead of refitting at those times.

        If the candles now held start after that model's training window, the filter starts at the
        first candle held instead of the window start; the starting belief is forgotten within a few
        dozen candles, so readings converge to those of the original run.
        """
        for key, params in data.items():
            self._models[datetime.fromisoformat(key)] = RegimeModel.from_dict(params)
        self._periods.clear()
        self._last = None
        self._by_row = None


def regime_label(tracker: RegimeTracker, as_of: datetime) -> str | None:
    """The label of ``tracker``'s reading at ``as_of`` (``None`` while there is too little history)."""
    reading = tracker.at(as_of)
    return None if reading is None else reading.label


def tracker_from_candles(
    symbol: Symbol, candles: pd.DataFrame, timeframe: str, schedule: RegimeSchedule | None = None
) -> RegimeTracker:
    """A tracker on ``candles`` of ``timeframe``, resampled to the schedule's timeframe when finer.

    Resampled buckets are used only once their close time has passed (the tracker's rule), so the
    still-forming bucket at the end of the data never counts as a closed candle.
    """
    schedule = schedule or RegimeSchedule()
    if timeframe != schedule.timeframe:
        candles = resample_candles(candles, timeframe, schedule.timeframe)[["open", "high", "low", "close", "volume"]]
    return RegimeTracker(symbol, candles, schedule)
