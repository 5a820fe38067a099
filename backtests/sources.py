"""Which candle file a backtest reads: a file, a bundled one, or the local cache's for a symbol and timeframe.

Pandas-free: the CLI refuses a market with no candles here, before the candle readers load (``backtests.cli``);
``backtests.data.select_data`` reads what this finds.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError
from market.bundled import BTC_1H, bundled_names, bundled_path, resolve_data_path
from market.cache_names import cache_paths

DEFAULT_CACHE_DIR = Path("var/candles")


def locate_candles(data: str | Path | None, symbol: str | None, timeframe: str | None, cache_dir: Path) -> Path:
    """``data`` (on disk or bundled); else ``symbol`` and ``timeframe``, bundled or in ``cache_dir``; else the
    bundled BTC/USDT 1h. Nothing found is a ``ConfigError`` that says how to fetch the candles."""
    if data is not None:
        return resolve_data_path(data)
    if symbol is None and timeframe is None:
        return bundled_path(BTC_1H)
    if symbol is None or timeframe is None:
        raise ConfigError("--symbol and --timeframe go together (or give --data FILE)")
    name = cache_paths(cache_dir, "binance", symbol, timeframe)[0].name
    for candidate in (f"{name}.gz", name):
        if candidate in bundled_names():
            return bundled_path(candidate)
    cached = cache_dir / name
    if cached.is_file():
        return cached
    raise ConfigError(
        f"no candles for {symbol} {timeframe}: not bundled and not in {cache_dir} "
        f"(fetch them with: tradewake data download {symbol} {timeframe} --from YYYY-MM-DD)"
    )
