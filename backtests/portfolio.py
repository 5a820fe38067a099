"""Several markets in one backtest: one engine, one account, one gate, replayed merged by time, so exposure caps,
the daily loss limit and the wake budget act across the markets as they do live.

What this module adds to a one-market run: the checks a portfolio's markets must pass (one timeframe, one quote
asset, distinct symbols), the run facts that name every market, and each market's own statistics beside the
portfolio's (``metrics.json`` ``markets``). The portfolio's buy-and-hold is an equal-weight basket
(``BarRecorder.basket``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from backtests.bars import BarRecorder
from backtests.data import BacktestData
from backtests.metrics import OpenPosition
from core.errors import ConfigError
from core.types import ClosedTrade

_DIGITS = 10


class MarketStats(BaseModel):
    """One market of a portfolio run: its data, its trades and what holding it alone would have done."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: str
    data_sha256: str
    first_candle: str
    last_candle: str
    candles: int
    trades: int
    wins: int
    win_rate_pct: float | None
    net_pnl: str
    """Net P&L of its closed trades, exact."""
    fees: str
    """Every fee its fills paid, exact."""
    exposure_pct: float
    """Bars with a position in this market, as % of the portfolio's bars."""
    buy_and_hold_return_pct: float
    open_positions: int
    unrealized_pnl: str


def check_markets(markets: Sequence[BacktestData], *, anonymized: bool) -> None:
    """A user's portfolio that cannot run: several timeframes, a market twice, several accounts (quote assets, or
    spot beside futures), an anonymized portfolio."""
    symbols = [m.symbol for m in markets]
    if len(set(symbols)) != len(symbols):
        raise ConfigError(f"a market is given twice: {', '.join(symbols)}")
    timeframes = sorted({m.timeframe for m in markets})
    if len(timeframes) > 1:
        raise ConfigError(f"the markets of one backtest share a timeframe; got {', '.join(timeframes)}")
    accounts = sorted({_account_of(s) for s in symbols})
    if len(accounts) > 1:
        raise ConfigError(f"the markets of one backtest trade from one account (one quote asset, spot or futures); "
                          f"got {', '.join(accounts)}")  # fmt: skip
    if anonymized and len(markets) > 1:
        raise ConfigError("--anonymize disguises one market; run the markets one at a time to anonymize them")


def _account_of(symbol: str) -> str:
    """Where a market's cash is held: ``USDT spot`` for ``ETH/USDT``, ``BTC spot`` for ``ETC/BTC``, ``USDT futures``
    for ``BTC/USDT:USDT`` (as ``backtests.cli.for_market`` sets up the account)."""
    pair, _, settle = symbol.partition(":")
    return f"{settle} futures" if settle else f"{pair.partition('/')[2]} spot"


def portfolio_facts(markets: Sequence[BacktestData]) -> dict[str, Any]:
    """The run facts that name the data (the one-market names, joined, so every reader of a run still finds them)."""
    digest = hashlib.sha256("".join(m.digest for m in markets).encode()).hexdigest()
    return {
        "symbol": "+".join(m.symbol for m in markets),
        "symbols": [m.symbol for m in markets],
        "data": "+".join(m.source for m in markets),
        "data_sha256": digest,
        "first_candle": min(m.start for m in markets).isoformat(),
        "last_candle": max(m.end for m in markets).isoformat(),
        "candles": sum(len(m.candles) for m in markets),
    }


def market_stats(
    markets: Sequence[BacktestData], bars: BarRecorder, trades: Sequence[ClosedTrade], *,
    open_positions: Sequence[OpenPosition], fees: Mapping[str, Decimal], rules_facts: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Per market (in the order given): its statistics and where its market rules came from; ``fees``: each
    market's fees in the quote asset."""
    out: dict[str, dict[str, Any]] = {}
    for s, data in enumerate(markets):
        mine = [t for t in trades if t.symbol == data.symbol]
        held = [p for p in open_positions if p.symbol == data.symbol]
        wins = sum(1 for t in mine if t.is_win)
        closes = bars.closes[:, s]
        known = closes[~np.isnan(closes)]
        hold = float(known[-1] / known[0] - 1.0) * 100 if len(known) and known[0] > 0 else 0.0
        stats = MarketStats(
            data=data.source,
            data_sha256=data.digest,
            first_candle=data.start.isoformat(),
            last_candle=data.end.isoformat(),
            candles=len(data.candles),
            trades=len(mine),
            wins=wins,
            win_rate_pct=round(wins / len(mine) * 100, _DIGITS) if mine else None,
            net_pnl=format(sum((t.net_pnl for t in mine), Decimal(0)), "f"),
            fees=format(fees.get(data.symbol, Decimal(0)), "f"),
            exposure_pct=round(float(bars.held[:, s].mean()) * 100, _DIGITS) if len(bars.held) else 0.0,
            buy_and_hold_return_pct=round(hold, _DIGITS),
            open_positions=len(held),
            unrealized_pnl=format(sum((p.unrealized_pnl for p in held), Decimal(0)), "f"),
        )
        out[data.symbol] = {**stats.model_dump(mode="json"), **rules_facts.get(data.symbol, {})}
    return out
