"""Bad candle files, as an adversarial user (or a broken download) makes them, with what the one loader
must say about each. Shared by the loader's unit test (every file, in process) and the CLI corpus (the
same files through ``backtest``, ``snapshot``, ``decide``, ``data inspect`` and ``gate-report``).

Every file is built from real candles (the bundled BTC/USDT 1h series) and then damaged in one way.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache

from market.bundled import BTC_1H, bundled_path

HEADER = "timestamp,open,high,low,close,volume"


@dataclass(frozen=True)
class BadCandles:
    name: str
    """Short id of the damage (test ids, file names)."""
    content: bytes
    needle: str
    """Substring the one error line must contain (besides the file name)."""
    line: int | None = None
    """The line the error must name, when the problem sits on one line."""
    suffix: str = ".csv"
    timeframe: str = "1h"
    """The timeframe the file name claims (the real candles are 1h apart)."""

    @property
    def file_name(self) -> str:
        """A name the commands read the symbol and timeframe from, as they would from a real download."""
        return f"binance_BTC-USDT_{self.timeframe}_{self.name}{self.suffix}"


@cache
def real_lines(n: int = 400) -> tuple[str, ...]:
    """The first ``n`` candle lines of the bundled BTC/USDT 1h file (no header)."""
    with gzip.open(bundled_path(BTC_1H), "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    return tuple(lines[1 : n + 1])


def _csv(lines: list[str] | tuple[str, ...]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def _replace(row: int, line: str) -> bytes:
    """The real file with data line ``row`` (0-based) replaced; it is file line ``row + 2``."""
    lines = list(real_lines())
    lines[row] = line
    return _csv(lines)


def _field(row: int, index: int, value: str) -> bytes:
    fields = real_lines()[row].split(",")
    fields[index] = value
    return _replace(row, ",".join(fields))


def bad_candle_files() -> list[BadCandles]:
    """Each entry is one way a candle file can be wrong."""
    good = real_lines()
    ts = int(good[5].split(",")[0])
    hourly_as_minutes = "\n".join([HEADER, *good]).encode()
    return [
        BadCandles("empty", b"", "the file is empty"),
        BadCandles("whitespace-only", b"  \n\n", "the file is empty"),
        BadCandles("header-only", (HEADER + "\n").encode(), "no candles after the header"),
        BadCandles("wrong-header", b"time,price\n1,2\n", "expected header timestamp,open,high,low,close,volume"),
        BadCandles("no-header", _csv(good)[len(HEADER) + 1 :], "expected header"),
        BadCandles("blank-timestamp", _field(5, 0, ""), "empty timestamp", 7),
        BadCandles("float-timestamp", _field(5, 0, f"{ts}.5"), "not a whole number of milliseconds", 7),
        BadCandles("iso-timestamp", _field(5, 0, "2023-01-01T05:00:00"), "not a whole number of milliseconds", 7),
        BadCandles("seconds-timestamp", _csv([f"{int(r.split(',')[0]) // 1000}," + r.split(",", 1)[1] for r in good]),
                   "looks like seconds", 2),
        BadCandles("microsecond-timestamp",
                   _csv([f"{int(r.split(',')[0]) * 1000}," + r.split(",", 1)[1] for r in good]),
                   "looks like microseconds", 2),
        BadCandles("overflowing-timestamp", _field(5, 0, "9" * 30), "is out of range", 7),
        BadCandles("negative-timestamp", _field(0, 0, "-5"), "is before 1973", 2),
        BadCandles("extra-field", _replace(7, good[7] + ",42"), "7 fields, expected 6", 9),
        BadCandles("extra-field-first-row", _replace(0, good[0] + ",42"), "7 fields, expected 6", 2),
        BadCandles("missing-field", _replace(3, good[3].rsplit(",", 1)[0]), "5 fields, expected 6", 5),
        BadCandles("blank-line-inside", _replace(4, ""), "blank line", 6),
        BadCandles("text-price", _field(9, 4, "abc"), "close 'abc' is not a number", 11),
        BadCandles("empty-price", _field(9, 2, ""), "empty high", 11),
        BadCandles("nan-price", _field(9, 1, "nan"), "open 'nan' is not a finite number", 11),
        BadCandles("inf-volume", _field(9, 5, "inf"), "NaN or infinite value", 11),
        BadCandles("huge-price", _field(9, 2, "1e400"), "NaN or infinite value", 11),
        BadCandles("absurd-price", _field(9, 2, "5e15"), "price above", 11),
        BadCandles("zero-price", _field(9, 3, "0"), "price is zero or negative", 11),
        BadCandles("inconsistent-ohlc", _field(9, 2, "1"), "inconsistent OHLC", 11),
        BadCandles("negative-volume", _field(9, 5, "-3"), "negative volume", 11),
        BadCandles("duplicate-time", _replace(6, good[5]), "duplicate candle", 8),
        BadCandles("unsorted", _csv([good[1], good[0], *good[2:]]), "not in time order", 3),
        BadCandles("non-utf8", _replace(12, good[12]).replace(b"\n", b"\n\xff\xfe", 1), "not UTF-8 text", 2),
        BadCandles("binary", bytes(range(256)) * 4, "not UTF-8 text"),
        BadCandles("nul-bytes", b"\x00" * 64, "expected header"),
        BadCandles("damaged-gzip", gzip.compress(_csv(good))[:200], "damaged gzip data", suffix=".csv.gz"),
        BadCandles("gzip-of-garbage", gzip.compress(b"\x89PNG\r\n\x1a\n" + bytes(200)), "not UTF-8 text",
                   suffix=".csv.gz"),
        BadCandles("hourly-file-named-5m", hourly_as_minutes, "the candles are 1h apart", timeframe="5m"),
    ]


def good_variants() -> list[tuple[str, bytes, str]]:
    """Files that look odd but hold good candles and must load: ``(name, content, suffix)``."""
    body = _csv(real_lines())
    return [
        ("gzip-named-csv", gzip.compress(body), ".csv"),
        ("plain-named-csv-gz", body, ".csv.gz"),
        ("crlf", body.replace(b"\n", b"\r\n"), ".csv"),
        ("utf8-bom", b"\xef\xbb\xbf" + body, ".csv"),
        ("trailing-blank-lines", body + b"\n\n  \n", ".csv"),
        ("spaces-in-header", body.replace(HEADER.encode(), b"timestamp, open, high, low, close, volume"), ".csv"),
    ]
