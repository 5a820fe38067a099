"""Candle timeframes (``1m``, ``5m``, ``1h``, ``4h``, ``1d``, ``1w``) as durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def timeframe_seconds(timeframe: str) -> int:
    """Length of a timeframe in seconds; ``1M`` (month) is not fixed-length and is refused."""
    if len(timeframe) < 2 or timeframe[-1] not in _UNIT_SECONDS or not timeframe[:-1].isdigit():
        raise ValueError(f"unknown timeframe {timeframe!r}; use e.g. 1m, 5m, 15m, 1h, 4h, 1d, 1w")
    count = int(timeframe[:-1])
    if count <= 0:
        raise ValueError(f"timeframe must be positive, got {timeframe!r}")
    return count * _UNIT_SECONDS[timeframe[-1]]


def timeframe_delta(timeframe: str) -> timedelta:
    return timedelta(seconds=timeframe_seconds(timeframe))


def floor_time(at: datetime, timeframe: str) -> datetime:
    """Open time of the ``timeframe`` candle that contains ``at`` (epoch-aligned, UTC)."""
    seconds = timeframe_seconds(timeframe)
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("naive datetime: every timestamp in tradewake is tz-aware UTC")
    return round(at.timestamp() * 1000)
