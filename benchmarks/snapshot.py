"""SnapshotBuilder.build per call on a long real 5m series, against a naive per-call recompute.

Reference (same run): what a builder without precomputed frames would do per call: compute the
indicators of every timeframe over the trailing candles (``NAIVE_TAIL`` base candles) up to ``as_of``.
Printed: construction time, ms per ``build`` call (regime included, fits cached), and the ratio.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from core.ids import Symbol
from market.builder import SnapshotBuilder
from market.bundled import BTC_5M, bundled_path
from market.candles import load_candles
from market.features import FeatureConfig, indicator_frame
from market.regime import tracker_from_candles
from market.resample import resample_candles

SHARED_5M = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "binance_BTC-USDT_5m.csv.gz"
ROWS = 120_000
CALLS = 2_000
NAIVE_CALLS = 50
NAIVE_TAIL = 288 * 60  # 60 days of 5m candles: enough for the 1d EMA50 warm-up


def _candles() -> tuple[pd.DataFrame, str]:
    for path in (SHARED_5M, Path("/work/shared/data/binance_BTC-USDT_5m.csv.gz")):
        if path.is_file():
            return load_candles(path).iloc[-ROWS:], f"{path.name} (last {ROWS:,} candles)"
    frame = load_candles(bundled_path(BTC_5M))
    return frame, f"bundled {BTC_5M} ({len(frame):,} candles; the shared 120k series is not present)"


def _naive(candles: pd.DataFrame, at: pd.Timestamp) -> None:
    tail = candles[candles.index + timedelta(minutes=5) <= at].iloc[-NAIVE_TAIL:]
    indicator_frame(tail, FeatureConfig(session_vwap=True))
    for tf in ("1h", "4h", "1d"):
        indicator_frame(resample_candles(tail, "5m", tf)[["open", "high", "low", "close", "volume"]], FeatureConfig())


def main() -> None:
    candles, source = _candles()
    symbol = Symbol("BTC/USDT")
    started = time.perf_counter()
    builder = SnapshotBuilder(symbol, candles, "5m", regime=tracker_from_candles(symbol, candles, "5m"))
    construct_s = time.perf_counter() - started
    index = candles.index[NAIVE_TAIL:]
    picks = [index[i] + timedelta(seconds=41) for i in np.linspace(0, len(index) - 1, CALLS).astype(int)]
    started = time.perf_counter()
    for at in picks:  # first pass: includes the regime fits (one per week of data)
        builder.build(at.to_pydatetime())
    first_pass_ms = (time.perf_counter() - started) * 1000 / CALLS
    started = time.perf_counter()
    for at in picks:
        builder.build(at.to_pydatetime())
    per_call_ms = (time.perf_counter() - started) * 1000 / CALLS
    started = time.perf_counter()
    for at in picks[:: CALLS // NAIVE_CALLS]:
        _naive(candles, at)
    naive_ms = (time.perf_counter() - started) * 1000 / NAIVE_CALLS
    print(f"data: {source}")
    print(f"construct (resample + indicator frames): {construct_s * 1000:.0f} ms")
    print(f"build: {per_call_ms:.3f} ms/call warm ({CALLS} calls), {first_pass_ms:.3f} ms/call incl. regime fits")
    print(f"naive per-call recompute: {naive_ms:.1f} ms/call; ratio naive/build = {naive_ms / per_call_ms:.0f}x")


if __name__ == "__main__":
    main()
