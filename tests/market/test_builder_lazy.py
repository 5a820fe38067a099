"""``SnapshotBuilder`` computes a timeframe's frame (resampled candles, indicators, pivots) when it is first read.

A run whose agent reads no snapshot (the SMA agent: ``reads = frozenset()``) computes none; a snapshot read at any
time, in any order, after any ``update``, has the values a builder that computed every frame up front gives.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtests.cli import _agent_choice
from backtests.data import select_data
from backtests.runner import BacktestRequest, run_backtest
from backtests.scripted import sma_settings
from core.errors import ConfigError
from core.ids import Symbol
from core.settings import load_settings
from market.builder import SnapshotBuilder
from market.bundled import bundled_path
from tests.market.conftest import BTC_5M, cached_candles

SYMBOL = Symbol("BTC/USDT")


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Frames computed, by timeframe (the real ``SnapshotBuilder._frame``, counted)."""
    counts: Counter[str] = Counter()
    compute: Callable[..., Any] = SnapshotBuilder._frame

    def counted(self: SnapshotBuilder, base: pd.DataFrame, tf: str) -> Any:
        counts[tf] += 1
        return compute(self, base, tf)

    monkeypatch.setattr(SnapshotBuilder, "_frame", counted)
    return counts


def eager(candles: pd.DataFrame) -> SnapshotBuilder:
    builder = SnapshotBuilder(SYMBOL, candles, "5m")
    for tf in builder.timeframes:
        builder.frame(tf)
    return builder


def test_frames_are_computed_once_when_first_read(computed: Counter[str]) -> None:
    candles = cached_candles(BTC_5M)
    builder = SnapshotBuilder(SYMBOL, candles, "5m")
    assert not computed
    builder.closes()
    assert computed == {"5m": 1}
    at = candles.index[500].to_pydatetime() + timedelta(minutes=5)
    builder.build(at)
    builder.build(at + timedelta(hours=3))
    assert computed == dict.fromkeys(builder.timeframes, 1)
    builder.update(candles.iloc[:600])
    assert computed == dict.fromkeys(builder.timeframes, 1), "an update computes nothing by itself"
    builder.build(at)
    assert computed == dict.fromkeys(builder.timeframes, 2)


def test_a_timeframe_the_builder_does_not_have_is_refused() -> None:
    builder = SnapshotBuilder(SYMBOL, cached_candles(BTC_5M), "5m", timeframes=("5m", "1h"))
    with pytest.raises(ConfigError, match="no 4h frame"):
        builder.frame("4h")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    offsets=st.lists(st.integers(0, 2_000 * 300), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.integers(300, 2_000)),
    closes_first=st.booleans(),
)
def test_lazy_frames_read_as_eager_ones(offsets: list[int], cut: int | None, closes_first: bool) -> None:
    """Snapshots at random times, in random order, the first read a snapshot or ``closes()``, before or after an
    ``update`` to a shorter series: the same documents as from frames computed at construction."""
    candles = cached_candles(BTC_5M)
    start = candles.index[0].to_pydatetime()
    lazy = SnapshotBuilder(SYMBOL, candles, "5m")
    reference = eager(candles)
    if cut is not None:
        lazy.update(candles.iloc[:cut])
        reference = eager(candles.iloc[:cut])
    if closes_first:
        pd.testing.assert_series_equal(lazy.closes(), reference.closes())
    for offset in offsets:
        at = start + timedelta(minutes=5, seconds=offset)
        assert lazy.build_document(at)[1] == reference.build_document(at)[1]
    pd.testing.assert_series_equal(lazy.closes(), reference.closes())


def _run(out: Path, agent: str) -> None:
    """The agent on the bundled 1h series' last 700 candles, as ``tradewake backtest`` runs it."""
    path = bundled_path("binance_BTC-USDT_1h.csv.gz")
    data = select_data(data=path, start=select_data(data=path).candles.index[-700].to_pydatetime())
    base = load_settings(None)
    if agent == "sma":
        request = BacktestRequest(sma_settings(base, data.timeframe), data, out, _agent_choice("sma", [data], None))
    else:
        request = BacktestRequest(base, data, out)
    asyncio.run(run_backtest(request))


def test_an_agent_that_reads_no_snapshot_computes_no_frame(computed: Counter[str], tmp_path: Path) -> None:
    _run(tmp_path / "sma", "sma")
    assert not computed
    _run(tmp_path / "rules", "rules")
    assert computed == {"1h": 1, "4h": 1, "1d": 1}, "the rules agent reads snapshots: each frame once"
