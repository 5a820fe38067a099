"""Run-directory artefacts: trades CSV, equity and price-with-trades plots (PNG), a self-contained HTML report.

Plots use matplotlib's Agg backend with fixed metadata so the PNG bytes do not carry the run's
wall-clock time; the HTML embeds the PNGs as base64 and has no external resource.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from core.types import ClosedTrade

_PNG_METADATA = {"Software": "tradewake"}
TRADE_COLUMNS = (
    "position_id", "symbol", "side", "quantity", "entry_price", "exit_price", "opened_at", "closed_at",
    "gross_pnl", "fees", "net_pnl", "r_multiple", "exit_reason", "signals", "regime",
)  # fmt: skip


def write_trades_csv(path: Path, trades: Sequence[ClosedTrade]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRADE_COLUMNS)
        for t in trades:
            writer.writerow([
                t.position_id, t.symbol, t.side.value, t.quantity, t.entry_price, t.exit_price,
                t.opened_at.isoformat(), t.closed_at.isoformat(), t.gross_pnl, t.fees, t.net_pnl,
                "" if t.r_multiple is None else f"{t.r_multiple:.4f}", t.exit_reason.value,
                "+".join(s.value for s in t.signals), t.regime or "",
            ])  # fmt: skip


def _dates(times: Sequence[datetime]) -> np.ndarray:
    """Times as naive-UTC ``datetime64`` (matplotlib plots them as dates; its typed API takes arrays)."""
    return np.array([t.astimezone(UTC).replace(tzinfo=None) for t in times], dtype="datetime64[ms]")


def plot_equity(path: Path, times: Sequence[datetime], equity: Sequence[float]) -> None:
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    ax.plot(_dates(times), list(equity), color="#1f77b4", linewidth=1.0)
    ax.set_title("Equity (mark to market, quote currency)")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, metadata=_PNG_METADATA)
    plt.close(fig)


def plot_price_with_trades(
    path: Path, times: Sequence[datetime], closes: Sequence[float], trades: Sequence[ClosedTrade], symbol: str
) -> None:
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    ax.plot(_dates(times), list(closes), color="#555555", linewidth=0.8, label=symbol)
    if trades:
        ax.scatter(_dates([t.opened_at for t in trades]), [float(t.entry_price) for t in trades],
                   marker="^", color="#2ca02c", s=25, label="entry", zorder=3)  # fmt: skip
        ax.scatter(_dates([t.closed_at for t in trades]), [float(t.exit_price) for t in trades],
                   marker="v", color="#d62728", s=25, label="exit", zorder=3)  # fmt: skip
    ax.set_title(f"{symbol} close with trades")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, metadata=_PNG_METADATA)
    plt.close(fig)


def _png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _table(rows: Mapping[str, Any]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "none"
    return "n/a" if value is None else str(value)


def _trades_table(trades: Sequence[ClosedTrade], limit: int = 200) -> str:
    columns = ("opened", "closed", "side", "entry", "exit", "net P&L", "reason", "signals")
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = []
    for t in trades[:limit]:
        cells = (t.opened_at.isoformat(), t.closed_at.isoformat(), t.side.value, t.entry_price, t.exit_price,
                 t.net_pnl, t.exit_reason.value, "+".join(s.value for s in t.signals))  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    more = f"<p>{len(trades) - limit} more trades in trades.csv</p>" if len(trades) > limit else ""
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    "th{background:#f4f4f4}img{max-width:100%}"
)


def write_html_report(
    path: Path, title: str, metrics: Mapping[str, Any], trades: Sequence[ClosedTrade], images: Sequence[Path]
) -> None:
    """One self-contained HTML file: metrics, plots (embedded), and the trade list."""
    figures = "".join(f'<img alt="{html.escape(p.stem)}" src="{_png_data_uri(p)}">' for p in images)
    body = (
        f"<h1>{html.escape(title)}</h1><h2>Metrics</h2>{_table(metrics)}<h2>Charts</h2>{figures}"
        f"<h2>Trades ({len(trades)})</h2>{_trades_table(trades)}"
    )
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")


def png_bytes(path: Path) -> io.BytesIO:
    """The PNG as a buffer (for tests that compare two runs' images)."""
    return io.BytesIO(path.read_bytes())
