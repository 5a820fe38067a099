"""``trades.csv`` and ``bars.csv``: what a run traded and how its equity moved, for spreadsheets and the report.

``trades.csv`` has one row per closed trade (``status=closed``) and one per position still open when the
run ended (``status=open``: no exit, ``mark_price`` is the last close, the P&L columns are unrealized and
net of the entry fee only). ``bars.csv`` has, per bar close, the market's close and the account's
mark-to-market equity. Both are written in full precision (Decimal strings, ``repr`` floats) and read back
exactly, so the report and the dashboard show what the run computed.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from backtests.metrics import OpenPosition
from core.types import ClosedTrade

TRADE_COLUMNS = (
    "position_id", "symbol", "side", "quantity", "entry_price", "exit_price", "opened_at", "closed_at",
    "gross_pnl", "fees", "net_pnl", "r_multiple", "exit_reason", "signals", "regime", "status", "mark_price",
)  # fmt: skip
BAR_COLUMNS = ("time", "close", "equity")


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One row of ``trades.csv``, typed. ``exit_price``/``closed_at`` are ``None`` for an open position."""

    position_id: str
    symbol: str
    side: str
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    opened_at: datetime
    closed_at: datetime | None
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    r_multiple: float | None
    exit_reason: str
    signals: tuple[str, ...]
    regime: str
    status: str
    mark_price: Decimal | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def return_pct(self) -> float:
        """Net P&L as a % of the entry notional."""
        notional = self.entry_price * self.quantity
        return float(self.net_pnl / notional * 100) if notional else 0.0


@dataclass(frozen=True, slots=True)
class Bars:
    """Per bar close: time, the market's close and the account's mark-to-market equity."""

    times: tuple[datetime, ...]
    closes: tuple[float, ...]
    equity: tuple[float, ...]


def write_trades_csv(path: Path, trades: Sequence[ClosedTrade], open_positions: Sequence[OpenPosition] = ()) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRADE_COLUMNS)
        for t in trades:
            writer.writerow([
                t.position_id, t.symbol, t.side.value, t.quantity, t.entry_price, t.exit_price,
                t.opened_at.isoformat(), t.closed_at.isoformat(), t.gross_pnl, t.fees, t.net_pnl,
                "" if t.r_multiple is None else f"{t.r_multiple:.4f}", t.exit_reason.value,
                "+".join(s.value for s in t.signals), t.regime or "", "closed", "",
            ])  # fmt: skip
        for p in open_positions:
            writer.writerow([
                p.position_id, p.symbol, p.side.value, p.quantity, p.entry_price, "", p.opened_at.isoformat(), "",
                p.unrealized_pnl + p.entry_fee, p.entry_fee, p.unrealized_pnl, "", "", "+".join(p.signals),
                p.regime or "", "open", p.mark_price,
            ])  # fmt: skip


def read_trades_csv(path: Path) -> list[TradeRow]:
    """Every row of a ``trades.csv`` (a file from before the ``status`` column reads as all closed)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [_trade_row(row) for row in csv.DictReader(handle)]


def _trade_row(row: dict[str, str]) -> TradeRow:
    return TradeRow(
        position_id=row["position_id"],
        symbol=row["symbol"],
        side=row["side"],
        quantity=Decimal(row["quantity"]),
        entry_price=Decimal(row["entry_price"]),
        exit_price=Decimal(row["exit_price"]) if row["exit_price"] else None,
        opened_at=datetime.fromisoformat(row["opened_at"]),
        closed_at=datetime.fromisoformat(row["closed_at"]) if row["closed_at"] else None,
        gross_pnl=Decimal(row["gross_pnl"]),
        fees=Decimal(row["fees"]),
        net_pnl=Decimal(row["net_pnl"]),
        r_multiple=float(row["r_multiple"]) if row["r_multiple"] else None,
        exit_reason=row["exit_reason"],
        signals=tuple(s for s in row["signals"].split("+") if s),
        regime=row["regime"],
        status=row.get("status") or "closed",
        mark_price=Decimal(row["mark_price"]) if row.get("mark_price") else None,
    )


def write_bars_csv(path: Path, times: Sequence[datetime], closes: Sequence[float], equity: Sequence[float]) -> Bars:
    """Write the bars; returns them as ``read_bars_csv`` reads the file back (``repr`` round-trips a float, ISO
    8601 a UTC time), so the run that wrote them need not read 300,000 rows back for its report."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(BAR_COLUMNS)
        # csv.writer's bytes for these rows (no field holds a comma, a quote or a newline), without its per-row cost
        handle.writelines(f"{at.isoformat()},{close!r},{value!r}\n"
                          for at, close, value in zip(times, closes, equity, strict=True))  # fmt: skip
    return Bars(tuple(times), tuple(float(c) for c in closes), tuple(float(v) for v in equity))


def read_bars_csv(path: Path) -> Bars:
    times: list[datetime] = []
    closes: list[float] = []
    equity: list[float] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            times.append(datetime.fromisoformat(row["time"]))
            closes.append(float(row["close"]))
            equity.append(float(row["equity"]))
    return Bars(tuple(times), tuple(closes), tuple(equity))
