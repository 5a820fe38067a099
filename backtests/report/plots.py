"""The PNG charts of a run directory (``equity.png``, ``price.png``), for a glance without a browser.

matplotlib's Agg backend with fixed metadata, so the PNG bytes do not carry the run's wall-clock time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from core.types import ClosedTrade

_PNG_METADATA = {"Software": "tradewake"}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _dates(times: Sequence[datetime]) -> np.ndarray:
    """Times (tz-aware) as naive-UTC ``datetime64`` (matplotlib plots them as dates; its typed API takes arrays):
    whole milliseconds since the epoch, counted with integer ``timedelta`` arithmetic (exact, and about ten times
    cheaper than converting each time to a naive ``datetime``: a year of 5m bars is 105,000 of them)."""
    ms = np.fromiter(((t - _EPOCH) // _MS for t in times), dtype=np.int64, count=len(times))
    return ms.astype("datetime64[ms]")


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
