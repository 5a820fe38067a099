"""The local candle cache: one append-only CSV per (exchange, symbol, timeframe) plus a progress file.

The CSV is the bundled format (``timestamp,open,high,low,close,volume``) and is the source of truth:
rows are only ever appended, flushed and fsynced before the progress file is rewritten (atomically,
via a temporary file and ``os.replace``). After a crash the cache is repaired by dropping a trailing
partial line, and the resume point is the later of the progress cursor and the last row in the file,
so no candle is written twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict

from core.errors import ConfigError
from market.candles import CSV_HEADER, Gap

HEADER_LINE = ",".join(CSV_HEADER) + "\n"


class CacheState(BaseModel):
    """What the progress file holds. Times are open times in ms."""

    model_config = ConfigDict(extra="forbid")

    exchange: str
    symbol: str
    timeframe: str
    since_ms: int
    until_ms: int
    next_ms: int
    """Resume cursor: the next open time to request."""
    rows: int = 0
    pages: int = 0
    first_available_ms: int | None = None
    """First candle the exchange had at or after ``since_ms`` (earlier ones: not listed yet)."""
    gaps: list[Gap] = []
    complete: bool = False


def read_state(path: Path) -> CacheState | None:
    if not path.is_file():
        return None
    return CacheState.model_validate_json(path.read_text(encoding="utf-8"))


def write_state(path: Path, state: CacheState) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(state.model_dump(mode="json"), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def repair_and_last_ms(csv_path: Path) -> int | None:
    """Drop a trailing partial line (a crash mid-append) and return the last row's open time."""
    if not csv_path.is_file():
        return None
    with csv_path.open("rb+") as fh:
        data = _tail(fh)
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n")
            if cut < 0:
                raise ConfigError(f"{csv_path}: no complete line; delete the file and download again")
            fh.truncate(fh.seek(0, os.SEEK_END) - (len(data) - cut - 1))
            data = data[: cut + 1]
    lines = data.rstrip(b"\n").split(b"\n")
    last = lines[-1].decode("ascii")
    if last + "\n" == HEADER_LINE:
        return None
    try:
        return int(last.split(",", 1)[0])
    except ValueError as exc:
        raise ConfigError(f"{csv_path}: unreadable last line {last!r}") from exc


def _tail(fh: BinaryIO, size: int = 4096) -> bytes:
    end = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, end - size))
    return fh.read()


def append_rows(csv_path: Path, rows: Sequence[Sequence[float]]) -> None:
    """Append candles (ms open time + OHLCV) and make them durable before returning."""
    new = not csv_path.exists()
    with csv_path.open("a", encoding="ascii", newline="") as fh:
        if new:
            fh.write(HEADER_LINE)
        fh.writelines(_line(row) for row in rows)
        fh.flush()
        os.fsync(fh.fileno())


def _line(row: Sequence[float]) -> str:
    return f"{int(row[0])}," + ",".join(repr(float(v)) for v in row[1:6]) + "\n"
