"""Backtest throughput: candles per second through the whole engine, next to backtesting.py.

Both run on the same real series (bundled BTC/USDT 1h, 2024) in the same process:

- **ours, rules agent**: every candle goes through the simulated exchange and ``Engine.step`` (commands,
  the safety guard, the gate, on a wake a market snapshot and the rules agent's tool calls through the
  veto, the learner, the journal in a SQLite run store), then the reports are written;
- **ours, SMA agent**: the scripted SMA(20)/SMA(50) crossover through the same engine, woken every candle;
- **reference**: backtesting.py running the same SMA crossover on the same candles.

Printed: candles/s of each and the ratio reference / ours (how many times faster the vectorised peer is;
it does far less per candle: no orders book, no veto, no journal).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from backtests.cli import _agent_choice
from backtests.data import BacktestData, select_data
from backtests.peer import sma_cross_backtesting_py
from backtests.runner import BacktestRequest, run_backtest
from backtests.scripted import sma_settings
from core.settings import Settings, load_settings
from engine.wiring import AgentChoice

WINDOW = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))


def _ours(settings: Settings, data: BacktestData, agent: AgentChoice, out: Path) -> float:
    started = time.perf_counter()
    asyncio.run(run_backtest(BacktestRequest(settings, data, out, agent, warmup=0)))
    return len(data.candles) / (time.perf_counter() - started)


def _peer(data: BacktestData) -> float:
    started = time.perf_counter()
    sma_cross_backtesting_py(data.candles, fast=20, slow=50, fee=0.001, cash=10_000.0, size=0.95)
    return len(data.candles) / (time.perf_counter() - started)


def main() -> None:
    data = select_data(start=WINDOW[0], end=WINDOW[1])
    base = load_settings(None)
    with tempfile.TemporaryDirectory() as tmp:
        rules = _ours(base, data, AgentChoice(), Path(tmp) / "rules")
        sma = _ours(sma_settings(base, data.timeframe), data, _agent_choice("sma", data, None), Path(tmp) / "sma")
    peer = _peer(data)
    print(f"series: {data.source} {data.symbol} {data.timeframe}, {len(data.candles):,} candles "
          f"({WINDOW[0]:%Y-%m-%d} to {WINDOW[1]:%Y-%m-%d})")
    print(f"engine, rules agent : {rules:10,.0f} candles/s")
    print(f"engine, SMA agent   : {sma:10,.0f} candles/s")
    print(f"backtesting.py SMA  : {peer:10,.0f} candles/s (reference)")
    print(f"ratio reference/engine (rules): {peer / rules:.1f}x   (SMA): {peer / sma:.1f}x")


if __name__ == "__main__":
    main()
