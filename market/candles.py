"""Candle frames: load, validate and report on OHLCV data, and convert to and from ``core.types.Candle``.

A *candle frame* is a pandas DataFrame with float64 columns ``open, high, low, close, volume`` and a
tz-aware UTC ``DatetimeIndex`` named ``open_at`` holding each candle's open time. Files are the
bundled format: CSV (``.csv`` or ``.csv.gz``) with the header ``timestamp,open,high,low,close,volume``
where ``timestamp`` is the open time in milliseconds since the epoch.

:func:`read_candles` is the one loader every command uses (``backtest``, ``snapshot``, ``decide``,
``data inspect``, ``gate-report``): any problem with a file is one :class:`CandleDataError` naming the
file, the line and the problem (:mod:`market.candle_csv` reads the bytes).

Validation is strict about what would corrupt a computation (unsorted or duplicated times, a timeframe
that is not the file's spacing, OHLC that contradict each other, NaN, negative volume) and only
*reports* what is a fact of the market (gaps left by exchange outages, zero-volume candles). A missing
candle is listed, never filled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.ids import Symbol
from core.timeframes import ms_to_datetime, timeframe_seconds
from core.types import Candle
from market.candle_csv import COLUMNS, CSV_HEADER, FIRST_DATA_LINE, CandleDataError, read_candle_arrays

__all__ = ["COLUMNS", "CSV_HEADER", "CandleDataError"]  # re-exported: the names every caller imports from here

INDEX_NAME = "open_at"
MAX_PRICE = 1e12
"""Prices above this are not market data (the money layer quantizes prices as 28-digit decimals)."""

_VALUE = ConfigDict(frozen=True, extra="forbid")
_FILE_NAME_RE = re.compile(r"^(?:[a-z]+_)?(?P<base>[A-Z0-9]+)-(?P<quote>[A-Z0-9]+)(?:-(?P<settle>[A-Z0-9]+))?_"
                           r"(?P<tf>\d+[mhdw])(?:[_.]|$)")


class Gap(BaseModel):
    """A run of missing candles: ``first_missing`` .. ``last_missing`` are open times, ``count`` candles."""

    model_config = _VALUE

    first_missing: AwareDatetime
    last_missing: AwareDatetime
    count: int

    def open_times(self, timeframe: str) -> list[datetime]:
        step = timeframe_seconds(timeframe) * 1000
        start = int(self.first_missing.timestamp() * 1000)
        return [ms_to_datetime(start + i * step) for i in range(self.count)]


class CandleReport(BaseModel):
    """What validation found. Gaps and zero-volume rows are facts to report, not errors."""

    model_config = _VALUE

    timeframe: str
    rows: int
    first_open_at: AwareDatetime | None
    last_open_at: AwareDatetime | None
    gaps: tuple[Gap, ...] = ()
    zero_volume_rows: int = 0

    @property
    def missing_candles(self) -> int:
        return sum(g.count for g in self.gaps)

    def missing_open_times(self) -> list[datetime]:
        """Every missing open time, in order (the gaps expanded)."""
        return [at for gap in self.gaps for at in gap.open_times(self.timeframe)]

    def summary(self) -> str:
        span = f"{_iso(self.first_open_at)} .. {_iso(self.last_open_at)}"
        gaps = ", ".join(f"{_iso(g.first_missing)} +{g.count}" for g in self.gaps[:10])
        more = f" (+{len(self.gaps) - 10} more gaps)" if len(self.gaps) > 10 else ""
        return (
            f"{self.rows} candles {self.timeframe} {span}; {self.missing_candles} missing in {len(self.gaps)} gaps"
            f"{': ' + gaps if gaps else ''}{more}; {self.zero_volume_rows} zero-volume"
        )


def _iso(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%dT%H:%M")


# ---------------------------------------------------------------- loading


def read_candles(path: Path | str, timeframe: str | None = None) -> tuple[pd.DataFrame, CandleReport]:
    """Load and validate a candle CSV; returns the frame and its report (gaps listed, never filled).

    ``timeframe`` defaults to the one in the file name (``binance_BTC-USDT_5m.csv.gz``) or, failing
    that, the most common step between rows; either way it must be the file's spacing.
    """
    path = Path(path)
    times, values = read_candle_arrays(path)
    if len(times) == 0:
        raise CandleDataError(f"{path}: no candles after the header")
    frame = frame_from_arrays(times, values)
    named = timeframe_from_name(path.name)
    tf, source = (timeframe, "given") if timeframe else (named, "from the file name") if named else (None, "")
    try:
        tf = tf or infer_timeframe(frame)
        check_timeframe(tf)
        report = validate_candles(frame, tf, first_line=FIRST_DATA_LINE)
    except CandleDataError as exc:
        where = f" (timeframe {tf} {source})" if source and "apart" in str(exc) else ""
        raise CandleDataError(f"{path}: {exc}{where}") from exc
    return frame, report


def check_timeframe(timeframe: str) -> None:
    """A timeframe string we can step by (``1m`` .. ``1w``), else :class:`CandleDataError`."""
    try:
        timeframe_seconds(timeframe)
    except ValueError as exc:
        raise CandleDataError(str(exc)) from exc


def load_candles(path: Path | str, timeframe: str | None = None) -> pd.DataFrame:
    """:func:`read_candles` without the report."""
    return read_candles(path, timeframe)[0]


def frame_from_arrays(open_ms: np.ndarray, ohlcv: np.ndarray) -> pd.DataFrame:
    """Build a candle frame from open times in ms and an ``(n, 5)`` float array (no validation)."""
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(open_ms, dtype="int64"), unit="ms", utc=True), name=INDEX_NAME)
    return pd.DataFrame(np.asarray(ohlcv, dtype="float64").reshape(-1, 5), index=index, columns=list(COLUMNS))


def open_ms(frame: pd.DataFrame) -> np.ndarray:
    """Open times of a candle frame as int64 milliseconds (independent of the index's resolution)."""
    return np.asarray(frame.index.as_unit("ms").asi8, dtype="int64")


def timeframe_from_name(name: str) -> str | None:
    match = _FILE_NAME_RE.match(name)
    return match.group("tf") if match else None


def symbol_from_name(name: str) -> Symbol | None:
    """``binance_BTC-USDT_5m.csv.gz`` -> ``BTC/USDT``; ``..._XRP-USDT-USDT_...`` -> ``XRP/USDT:USDT``."""
    match = _FILE_NAME_RE.match(name)
    if match is None:
        return None
    symbol = f"{match.group('base')}/{match.group('quote')}"
    settle = match.group("settle")
    return Symbol(f"{symbol}:{settle}" if settle else symbol)


def infer_timeframe(frame: pd.DataFrame) -> str:
    """The most common step between consecutive candles, as a timeframe string."""
    steps = np.diff(open_ms(frame))
    if steps.size == 0:
        raise CandleDataError("cannot infer the timeframe of fewer than two candles; pass it explicitly")
    values, counts = np.unique(steps, return_counts=True)
    step_s = int(values[np.argmax(counts)]) // 1000
    for unit, seconds in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if step_s % seconds == 0:
            return f"{step_s // seconds}{unit}"
    raise CandleDataError(f"candle step of {step_s} s is not a whole number of minutes")


# ---------------------------------------------------------------- validation


def validate_candles(frame: pd.DataFrame, timeframe: str, *, first_line: int | None = None) -> CandleReport:
    """Raise :class:`CandleDataError` on unusable data; report gaps and zero-volume rows.

    ``first_line`` is the file line of the first row: errors then name the line as well as the time.
    """
    if list(frame.columns) != list(COLUMNS):
        raise CandleDataError(f"expected columns {list(COLUMNS)}, found {list(frame.columns)}")
    step = timeframe_seconds(timeframe) * 1000
    times = open_ms(frame)
    problem = _time_problem(times, step, timeframe) or _value_problem(frame.to_numpy())
    if problem is not None:
        row, message = problem
        if row is None:  # the whole file's spacing, not one line
            raise CandleDataError(message)
        at = ms_to_datetime(int(times[row])).isoformat()
        raise CandleDataError(f"line {first_line + row}: {message} ({at})" if first_line else f"{message} at {at}")
    return CandleReport(
        timeframe=timeframe,
        rows=len(frame),
        first_open_at=ms_to_datetime(int(times[0])) if len(times) else None,
        last_open_at=ms_to_datetime(int(times[-1])) if len(times) else None,
        gaps=tuple(find_gaps(times, step)),
        zero_volume_rows=int((frame["volume"].to_numpy() == 0).sum()),
    )


def _time_problem(times: np.ndarray, step_ms: int, timeframe: str) -> tuple[int | None, str] | None:
    """``(row, why)`` for the first duplicated, unordered or off-grid time, or a timeframe that is not the
    file's spacing (gaps from exchange outages are fine: the most common step must be the timeframe)."""
    steps = np.diff(times)
    for mask, why in ((steps == 0, "duplicate candle"), (steps < 0, "candles not in time order")):
        if mask.any():
            return int(np.flatnonzero(mask)[0]) + 1, why
    if steps.size >= 2:  # one step may be one gap; from two on, the spacing is the most common step
        values, counts = np.unique(steps, return_counts=True)
        common = int(values[np.argmax(counts)])
        if common != step_ms:
            share = int(counts.max()) * 100 // steps.size
            return None, (f"the candles are {_duration(common)} apart ({share} % of steps), not {timeframe}: "
                       "the timeframe does not match the file's spacing")
    off_grid = times % step_ms != 0
    if off_grid.any():
        return int(np.flatnonzero(off_grid)[0]), f"candle is not aligned to the {step_ms // 1000} s grid"
    return None


def _value_problem(values: np.ndarray) -> tuple[int | None, str] | None:
    o, h, lo, c, v = (values[:, i] for i in range(5))
    checks = (
        (~np.isfinite(values).all(axis=1), "NaN or infinite value"),
        ((values[:, :4] <= 0).any(axis=1), "price is zero or negative"),
        ((values[:, :4] > MAX_PRICE).any(axis=1), f"price above {MAX_PRICE:.0e}"),
        ((lo > np.minimum(o, c)) | (h < np.maximum(o, c)), "inconsistent OHLC (low/high do not bound open/close)"),
        (v < 0, "negative volume"),
    )
    for mask, why in checks:
        if mask.any():
            return int(np.flatnonzero(mask)[0]), why
    return None


def _duration(ms: int) -> str:
    seconds = ms // 1000
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{ms / 1000:g} s"


def find_gaps(times_ms: np.ndarray, step_ms: int) -> list[Gap]:
    """Runs of missing candles between consecutive open times (sorted, aligned input)."""
    steps = np.diff(times_ms)
    where = np.flatnonzero(steps > step_ms)
    return [
        Gap(
            first_missing=ms_to_datetime(int(times_ms[i]) + step_ms),
            last_missing=ms_to_datetime(int(times_ms[i + 1]) - step_ms),
            count=int(steps[i] // step_ms) - 1,
        )
        for i in where
    ]


# ---------------------------------------------------------------- conversions


def frame_to_candles(frame: pd.DataFrame, symbol: Symbol, timeframe: str) -> list[Candle]:
    """The frame as ``core.types.Candle`` values (validated by the model)."""
    times = open_ms(frame)
    rows = frame.to_numpy()
    return [
        Candle(symbol=symbol, timeframe=timeframe, open_at=ms_to_datetime(int(t)), open=r[0], high=r[1], low=r[2],
               close=r[3], volume=r[4])
        for t, r in zip(times, rows, strict=True)
    ]


def candles_to_frame(candles: Iterable[Candle]) -> pd.DataFrame:
    """Candles (any order is refused: they must already be sorted) as a candle frame."""
    items: Sequence[Candle] = list(candles)
    times = np.array([round(c.open_at.timestamp() * 1000) for c in items], dtype="int64")
    values = np.array([[c.open, c.high, c.low, c.close, c.volume] for c in items], dtype="float64").reshape(-1, 5)
    return frame_from_arrays(times, values)


def write_candles_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write the bundled CSV format (``.csv.gz`` is compressed by pandas); floats round-trip exactly."""
    out = frame.reset_index(drop=True)
    out.insert(0, "timestamp", open_ms(frame))
    out.to_csv(path, index=False)
