"""The candle cache's file names, without the candle readers (pandas): a backtest refuses a market it has no
candles for before those load (``backtests.sources``)."""

from __future__ import annotations

from pathlib import Path


def cache_paths(out_dir: Path, exchange: str, symbol: str, timeframe: str) -> tuple[Path, Path]:
    """``binance_BTC-USDT_5m.csv`` (the shared data's naming) and its ``.progress.json``."""
    market = symbol.replace("/", "-").replace(":", "-")
    stem = f"{exchange}_{market}_{timeframe}"
    return out_dir / f"{stem}.csv", out_dir / f"{stem}.progress.json"
