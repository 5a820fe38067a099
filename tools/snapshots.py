"""Snapshots and decision requests from market data, for ``tradewake decide``, ``agent.tokens`` and tests.

A real ``MarketSnapshot`` from a candle file (or a bundled one) at a given time, built by
``market.SnapshotBuilder`` from the candles closed by then, with the HMM regime fitted on BTC/USDT 1h
(the file itself when it is that).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from core.errors import ConfigError
from core.ids import Symbol
from core.types import DecisionRequest, WakeKind, WakeReason
from market.builder import SnapshotBuilder
from market.bundled import BTC_1H, bundled_path, resolve_data_path
from market.candles import read_candles, symbol_from_name
from market.regime import tracker_from_candles
from market.snapshot import MarketSnapshot

DEFAULT_DATA = BTC_1H
REGIME_TIMEFRAME = "1h"


def snapshot_builder(data: str | Path, symbol: str | None = None) -> SnapshotBuilder:
    """Snapshots of the candles in ``data`` (a path or a bundled file name), as of any time."""
    path = resolve_data_path(data)
    frame, report = read_candles(path)
    sym = Symbol(symbol) if symbol else symbol_from_name(path.name)
    if sym is None:
        raise ConfigError(f"cannot tell the symbol from {path.name}: pass --symbol")
    own_reference = sym == "BTC/USDT" and report.timeframe == REGIME_TIMEFRAME
    ref_frame, ref_report = (frame, report) if own_reference else read_candles(bundled_path(BTC_1H))
    regime = tracker_from_candles(Symbol("BTC/USDT"), ref_frame, ref_report.timeframe)
    return SnapshotBuilder(sym, frame, report.timeframe, regime=regime)


def market_snapshot(data: str | Path, at: datetime, symbol: str | None = None) -> MarketSnapshot:
    return snapshot_builder(data, symbol).build(at)


def request_for(snapshot: MarketSnapshot, detail: str = "tradewake decide") -> DecisionRequest:
    """A decision request on ``snapshot`` (an operator wake at the snapshot's time)."""
    return DecisionRequest(
        wake=WakeReason(kind=WakeKind.OPERATOR, detail=detail, at=snapshot.as_of, symbol=snapshot.symbol),
        symbol=snapshot.symbol,
        as_of=snapshot.as_of,
        snapshot=snapshot.model_dump(mode="json"),
        snapshot_prompt=snapshot.to_prompt(),
        snapshot_digest=snapshot.digest(),
    )
