"""The gate's tape (``gate/tape.py``) against the per-candle gate: the same wakes, candle by candle, and the same
baselines bit for bit, on the bundled series and on the real series of ``../shared/data``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.conditions import (
    MovePct,
    Observation,
    PositionPnlAbove,
    PositionPnlBelow,
    PositionView,
    PriceAbove,
    PriceBelow,
    VolumeZAbove,
    WakeCondition,
)
from core.settings import GateSettings
from core.types import Candle, PositionSide, WakeKind
from gate.events import GateEventKind
from gate.gate import Gate
from gate.tape import CandleArrays, condition_holds
from market.bundled import bundled_path
from tests.gate.helpers import BTC_1M, BTC_5M, DEFAULT_LIMITS, UNLIMITED, real_candles

BUNDLED_1H = bundled_path("binance_BTC-USDT_1h.csv.gz")
BUNDLED_5M = bundled_path("binance_BTC-USDT_5m.csv.gz")
WARMUP = 288
PRECOMPUTED = {WakeKind.ANOMALY, WakeKind.CANDLE_CLOSE}


def arrays(candles: list[Candle]) -> CandleArrays:
    def column(name: str) -> np.ndarray:
        return np.array([getattr(c, name) for c in candles], dtype=np.float64)

    times = np.array([int(c.open_at.timestamp() * 1000) for c in candles], dtype=np.int64)
    return CandleArrays(times, column("open"), column("high"), column("low"), column("close"), column("volume"))


def per_candle_layers(gate: Gate, candles: list[Candle]) -> list[set[WakeKind]]:
    """For each candle: which precomputable layers fired when the gate observed it (wake or held back)."""
    fired: list[set[WakeKind]] = []
    for candle in candles:
        gate.observe(candle)
        kinds: set[WakeKind] = set()
        for event in gate.drain_events():
            if event.kind in (GateEventKind.WAKE, GateEventKind.SUPPRESSED):
                kinds |= set(event.layers) & PRECOMPUTED
        fired.append(kinds)
    return fired


def fresh_gate(candles: list[Candle], settings: GateSettings) -> Gate:
    gate = Gate(settings, DEFAULT_LIMITS, symbols=[candles[0].symbol], started_at=candles[0].open_at)
    gate.warm_up(candles[:WARMUP])
    return gate


def assert_same_wakes(candles: list[Candle], settings: GateSettings) -> int:
    replayed = candles[WARMUP:]
    tape_gate = fresh_gate(candles, settings)
    tape = tape_gate.tape(candles[0].symbol, candles[0].timeframe, arrays(replayed))
    candidates = tape_gate.candidates(tape)
    fired = per_candle_layers(fresh_gate(candles, settings), replayed)
    expected = np.array([bool(kinds) for kinds in fired])
    mismatch = np.flatnonzero(candidates != expected)
    assert mismatch.size == 0, f"first differing candle {replayed[int(mismatch[0])].open_at}"
    return int(expected.sum())


@pytest.mark.parametrize("path", [BUNDLED_1H, BUNDLED_5M], ids=["bundled-1h", "bundled-5m"])
def test_the_tape_fires_exactly_where_the_per_candle_gate_does_on_the_bundled_series(path: Path) -> None:
    fired = assert_same_wakes(real_candles(path), GateSettings())
    assert fired > 100, "the series must exercise both layers"


@pytest.mark.parametrize("path", [BTC_5M, BTC_1M], ids=["btc-5m-337k", "btc-1m-130k"])
def test_the_tape_fires_exactly_where_the_per_candle_gate_does_on_the_real_series(path: Path) -> None:
    fired = assert_same_wakes(real_candles(path), GateSettings())
    assert fired > 1000


def test_other_thresholds_and_timeframes_agree_too() -> None:
    candles = real_candles(BUNDLED_1H)
    tight = GateSettings(return_z_threshold=2.0, volume_z_threshold=2.5, candle_close_timeframes=("4h", "1d"),
                         anomaly_min_history=50)  # fmt: skip
    assert assert_same_wakes(candles, tight) > 1000


@settings(max_examples=25, deadline=None)
@given(k=st.integers(min_value=-1, max_value=3000), window=st.integers(min_value=0, max_value=400))
def test_restoring_the_tracker_at_any_candle_leaves_it_as_observing_every_candle_would(k: int, window: int) -> None:
    candles = real_candles(BUNDLED_1H)[window : window + WARMUP + 3001]
    replayed = candles[WARMUP:]
    walked = fresh_gate(candles, GateSettings())
    for candle in replayed[: k + 1]:
        walked.observe(candle)
    restored = fresh_gate(candles, GateSettings())
    tape = restored.tape(candles[0].symbol, candles[0].timeframe, arrays(replayed))
    restored.restore_tracker(tape, k)
    symbol = candles[0].symbol
    assert restored.to_state()["trackers"][symbol] == walked.to_state()["trackers"][symbol]
    # and the next candle moves both the same way
    if k + 1 < len(replayed):
        walked.observe(replayed[k + 1])
        restored.observe(replayed[k + 1])
        assert restored.to_state()["trackers"][symbol] == walked.to_state()["trackers"][symbol]


# ---------------------------------------------------------------------- conditions over a span

CONDITIONS = st.one_of(
    st.builds(PriceAbove, symbol=st.just("BTC/USDT"), price=st.floats(60_000, 110_000)),
    st.builds(PriceBelow, symbol=st.just("BTC/USDT"), price=st.floats(60_000, 110_000)),
    st.builds(MovePct, symbol=st.just("BTC/USDT"), pct=st.floats(0.1, 20), reference_price=st.floats(60_000, 110_000),
              direction=st.sampled_from(["up", "down", "either"])),
    st.builds(VolumeZAbove, symbol=st.just("BTC/USDT"), z=st.floats(0.5, 6)),
    st.builds(PositionPnlBelow, symbol=st.just("BTC/USDT"), pct=st.floats(-20, 5)),
    st.builds(PositionPnlAbove, symbol=st.just("BTC/USDT"), pct=st.floats(-5, 20)),
    st.builds(PriceAbove, symbol=st.just("ETH/USDT"), price=st.floats(1, 10)),
)


@settings(max_examples=60, deadline=None)
@given(condition=CONDITIONS, side=st.sampled_from(list(PositionSide)), entry=st.floats(60_000, 110_000),
       lo=st.integers(0, 1500))  # fmt: skip
def test_condition_hits_over_a_span_are_the_conditions_own_verdicts(
    condition: WakeCondition, side: PositionSide, entry: float, lo: int
) -> None:
    candles = real_candles(BUNDLED_1H)[-(WARMUP + 2000) :]
    replayed = candles[WARMUP:]
    gate = fresh_gate(candles, GateSettings())
    tape = gate.tape(candles[0].symbol, candles[0].timeframe, arrays(replayed))
    position = PositionView(side, entry)
    hi = lo + 300
    holds = condition_holds(condition, tape, lo, hi, position)
    assert holds is not None
    expected = []
    for k in range(lo, hi):
        volume_z = float(tape.volume_z[k])
        obs = Observation(float(tape.close_ts[k]), replayed[k].symbol, replayed[k].low, replayed[k].high,
                          None if np.isnan(volume_z) else volume_z, None, position)  # fmt: skip
        expected.append(bool(condition.holds(obs)))
    assert holds.tolist() == expected


def test_the_tape_leaves_the_gate_unchanged_and_scores_unlimited_budgets_alike() -> None:
    candles = real_candles(BUNDLED_1H)[:800]
    gate = Gate(GateSettings(), UNLIMITED, symbols=[candles[0].symbol], started_at=candles[0].open_at)
    gate.warm_up(candles[:WARMUP])
    before = gate.to_state()
    gate.tape(candles[0].symbol, candles[0].timeframe, arrays(candles[WARMUP:]))
    assert gate.to_state() == before
