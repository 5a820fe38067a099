"""The bytes of a candle file as arrays, or one clear error naming the file, the line and the problem.

Used only by :func:`market.candles.read_candles` (the one loader). A file is gzip-compressed or not
whatever its name says (the gzip magic bytes decide), must be UTF-8, and holds the header
``timestamp,open,high,low,close,volume`` and then one candle per line: an integer open time in
milliseconds since the epoch and five numbers. Trailing blank lines are ignored; any other blank line,
a missing or extra field, a text price or an implausible timestamp is an error.

pandas parses a good file fast; when it refuses one, a line-by-line pass finds the first bad line and
says what is wrong with it (the slow pass only ever runs on a file that is about to be refused).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError

COLUMNS = ("open", "high", "low", "close", "volume")
CSV_HEADER = ("timestamp", *COLUMNS)
FIRST_DATA_LINE = 2
"""Line number (1-based) of the first candle: row ``i`` of a loaded file is line ``i + 2``."""

MIN_OPEN_MS = 100_000_000_000
"""1973-03-03: earlier millisecond times are too early for any market data; they are seconds, or garbage."""
MAX_OPEN_MS = 7_258_118_400_000
"""2200-01-01: later times are microseconds or nanoseconds, not milliseconds."""
_GZIP_MAGIC = b"\x1f\x8b"
_DTYPES = {"timestamp": "int64", **dict.fromkeys(COLUMNS, "float64")}


class CandleDataError(ConfigError):
    """A candle file or frame is unusable as given (unsorted, duplicated, inconsistent OHLC ...)."""


def read_candle_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(open_ms int64[n], ohlcv float64[n, 5])`` from a candle file; raises :class:`CandleDataError`."""
    body = _body(path, _bytes(path))
    if not body:
        return np.empty(0, dtype="int64"), np.empty((0, 5), dtype="float64")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a row longer than the header
            warnings.simplefilter("ignore", RuntimeWarning)  # a cast of a bad value: the check below names it
            frame = pd.read_csv(io.BytesIO(body), dtype=_DTYPES, index_col=False, skip_blank_lines=False,
                                na_filter=False, engine="c", encoding="utf-8")
    except (ValueError, OverflowError, pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise _first_bad_line(path, body) or CandleDataError(f"{path}: cannot read the candles: {exc}") from exc
    times = frame["timestamp"].to_numpy(dtype="int64")
    _check_time_range(path, times)
    return times, frame[list(COLUMNS)].to_numpy(dtype="float64")


def _bytes(path: Path) -> bytes:
    if path.is_dir():
        raise CandleDataError(f"{path} is a directory, not a candle file")
    if not path.is_file():
        raise CandleDataError(f"candle file not found: {path}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CandleDataError(f"cannot read candle file {path}: {exc.strerror or exc}") from exc
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise CandleDataError(f"{path}: damaged gzip data ({exc})") from exc


def _body(path: Path, raw: bytes) -> bytes:
    """UTF-8 checked, the header checked (and written canonically), trailing blank lines dropped."""
    if not raw.strip():
        raise CandleDataError(f"{path}: the file is empty (expected the header {','.join(CSV_HEADER)})")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CandleDataError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); is this a candle CSV?"
        ) from exc
    header, _, body = raw.removeprefix(b"\xef\xbb\xbf").rstrip().partition(b"\n")
    found = header.decode("utf-8").strip()
    if tuple(part.strip() for part in found.split(",")) != CSV_HEADER:
        shown = found if found.isprintable() and len(found) <= 80 else repr(found[:80])
        raise CandleDataError(f"{path}: expected header {','.join(CSV_HEADER)}, found {shown}")
    return b"".join((",".join(CSV_HEADER).encode(), b"\n", body, b"\n")) if body else b""


def _first_bad_line(path: Path, body: bytes) -> CandleDataError | None:
    """The first line pandas could not take, explained; ``None`` when every line looks right."""
    rows = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    next(rows)  # the header, already checked
    try:
        for fields in rows:
            problem = line_problem(fields)
            if problem is not None:
                return CandleDataError(f"{path}: line {rows.line_num}: {problem}")
    except csv.Error as exc:  # a stray quote or carriage return the CSV grammar cannot take
        return CandleDataError(f"{path}: line {rows.line_num + 1}: not CSV ({exc})")
    return None


def line_problem(fields: list[str]) -> str | None:
    """What is wrong with one data line's fields, or ``None``."""
    if not fields or not "".join(fields).strip():
        return "blank line"
    if len(fields) != len(CSV_HEADER):
        return f"{len(fields)} fields, expected {len(CSV_HEADER)} ({','.join(CSV_HEADER)})"
    problem = _timestamp_problem(fields[0].strip())
    if problem is not None:
        return problem
    for name, value in zip(COLUMNS, fields[1:], strict=True):
        problem = _number_problem(name, value.strip())
        if problem is not None:
            return problem
    return None


def _timestamp_problem(text: str) -> str | None:
    shown = _short(text)
    if not text:
        return "empty timestamp"
    try:
        value = int(text)
    except ValueError:
        return f"timestamp {shown} is not a whole number of milliseconds since the epoch (e.g. 1700000000000)"
    return _range_problem(value)


def _range_problem(value: int) -> str | None:
    if value < MIN_OPEN_MS:
        seconds = 1_000_000_000 <= value < MIN_OPEN_MS // 10
        return f"timestamp {value} " + ("looks like seconds; expected milliseconds" if seconds else "is before 1973")
    if value >= MAX_OPEN_MS:
        unit = "microseconds" if value < MAX_OPEN_MS * 1000 else "nanoseconds" if value < MAX_OPEN_MS * 10**6 else None
        return f"timestamp {value} " + (f"looks like {unit}; expected milliseconds" if unit else "is out of range")
    return None


def _number_problem(name: str, text: str) -> str | None:
    if not text:
        return f"empty {name}"
    try:
        value = float(text)
    except ValueError:
        return f"{name} {_short(text)} is not a number"
    return None if math.isfinite(value) else f"{name} {_short(text)} is not a finite number"


def _check_time_range(path: Path, times: np.ndarray) -> None:
    bad = (times < MIN_OPEN_MS) | (times >= MAX_OPEN_MS)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CandleDataError(f"{path}: line {row + FIRST_DATA_LINE}: {_range_problem(int(times[row]))}")


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")
