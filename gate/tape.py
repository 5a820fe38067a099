"""A symbol's whole candle series scored at once, for a backtest that steps the engine only where something happens.

``score_series(tracker, ...)`` runs the tracker's own arithmetic (``SymbolTracker.ingest``: the exponentially
weighted baselines of ``gate.stats.EwMoments``) over every candle in one tight pass and keeps, per candle, its
z-scores and the baselines after it. The baselines are a recursion, so that one pass is sequential; every
judgement on top of it is numpy over whole arrays:

- ``layer_candidates``: the candles at which a layer that judges the candle alone (anomaly, candle close of a
  higher timeframe) fires, exactly as ``Gate.observe`` would (a test compares them wake by wake);
- ``first_condition_hit``: the first candle of a span at which an armed wake condition holds.

Between two candles a backtest steps, ``GateTape.restore(tracker, k)`` puts the tracker where per-candle
observation would have left it after candle ``k``, so the next ``Gate.observe`` scores the next candle exactly as
the per-candle path does. Floats are bit-for-bit those of the tracker: the pass repeats its operations in the
same order (``tests/gate/test_tape.py`` checks state and wakes on real series).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.conditions import (
    AtTime,
    MovePct,
    PositionPnlAbove,
    PositionPnlBelow,
    PositionView,
    PriceAbove,
    PriceBelow,
    VolumeZAbove,
    WakeCondition,
)
from core.settings import GateSettings
from core.types import PositionSide
from gate.layers import AnomalyLayer, CandleCloseLayer, ConditionLayer, FeedStaleLayer, TimerLayer, WakeLayer
from gate.stats import EwMoments
from gate.tracker import SymbolTracker

NO_VALUE = math.nan
"""A score the tracker reports as ``None`` (too little history, no spread yet) is NaN here."""


@dataclass(frozen=True, slots=True)
class _Moments:
    """``EwMoments`` after every candle, as arrays (the decay is the tracker's)."""

    decay: float
    weight: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    count: np.ndarray

    def at(self, k: int) -> EwMoments:
        return EwMoments(self.decay, float(self.weight[k]), float(self.mean[k]), float(self.m2[k]), int(self.count[k]))


@dataclass(frozen=True, slots=True)
class _Start:
    """The tracker as it was before the tape's first candle."""

    returns: EwMoments
    volumes: EwMoments
    last_close: float | None
    last_price: float | None
    last_volume_z: float | None
    close_marks: dict[str, int]


@dataclass(frozen=True)
class GateTape:
    """One symbol's candles with their scores and the tracker's baselines after each (index = candle)."""

    symbol: str
    timeframe: str
    close_ts: np.ndarray
    """Close time of each candle, UNIX seconds (float, as the gate computes it)."""
    low: np.ndarray
    high: np.ndarray
    close: np.ndarray
    return_z: np.ndarray
    volume_z: np.ndarray
    return_pct: np.ndarray
    close_timeframes: tuple[tuple[str, int], ...]
    """The higher timeframes whose boundaries the gate's candle-close layer records (``(timeframe, seconds)``)."""
    _returns: _Moments
    _volumes: _Moments
    _start: _Start

    def __len__(self) -> int:
        return len(self.close_ts)

    def restore(self, tracker: SymbolTracker, k: int) -> None:
        """Put ``tracker`` where observing candles ``0..k`` one by one would have left it (``k = -1``: before
        the first). Only what candle observation changes is set; the position and regime stay as they are."""
        start = self._start
        if k < 0:
            tracker.returns, tracker.volumes = _copy(start.returns), _copy(start.volumes)
            tracker.last_close, tracker.last_price = start.last_close, start.last_price
            tracker.last_volume_z = start.last_volume_z
            tracker.close_marks = dict(start.close_marks)
            return
        close = float(self.close[k])
        volume_z = float(self.volume_z[k])
        tracker.returns, tracker.volumes = self._returns.at(k), self._volumes.at(k)
        tracker.last_close = tracker.last_price = close
        tracker.last_volume_z = None if math.isnan(volume_z) else volume_z
        close_ts = float(self.close_ts[k])
        marks = dict(start.close_marks)
        marks.update({tf: int(close_ts // seconds) for tf, seconds in self.close_timeframes})
        tracker.close_marks = marks

    def close_marks(self, seconds: int) -> np.ndarray:
        """``int(close_ts // seconds)`` of every candle: the higher-timeframe boundary index the tracker keeps."""
        marks: np.ndarray = np.floor_divide(self.close_ts, float(seconds)).astype(np.int64)
        return marks

    def start_mark(self, timeframe: str) -> int | None:
        return self._start.close_marks.get(timeframe)


def _copy(moments: EwMoments) -> EwMoments:
    return EwMoments(moments.decay, moments.weight, moments.mean, moments.m2, moments.count)


def score_series(
    tracker: SymbolTracker,
    candles: CandleArrays,
    settings: GateSettings,
    close_timeframes: Sequence[tuple[str, int]] = (),
) -> GateTape:
    """Score every candle against the baselines before it, starting from ``tracker`` (bound to its timeframe
    already, e.g. after the gate's warm-up), which is left unchanged. ``close_timeframes``: the higher
    timeframes the gate's candle-close layer records boundaries of.

    The loop repeats ``SymbolTracker.ingest`` and ``EwMoments.zscore``/``update`` operation by operation.
    """
    returns, volumes = tracker.returns, tracker.volumes
    if returns is None or volumes is None or tracker.timeframe is None:
        raise RuntimeError("bind the tracker to its timeframe before scoring a series")
    columns = _ingest_all(returns, volumes, tracker.last_close, candles, settings.anomaly_min_history)
    close_ts = candles.open_ms.astype(np.float64) / 1000.0 + float(tracker.timeframe_s)
    start = _Start(_copy(returns), _copy(volumes), tracker.last_close, tracker.last_price, tracker.last_volume_z,
                   dict(tracker.close_marks))  # fmt: skip
    return GateTape(
        symbol=tracker.symbol,
        timeframe=tracker.timeframe,
        close_ts=close_ts,
        low=candles.low,
        high=candles.high,
        close=candles.close,
        return_z=columns["rz"],
        volume_z=columns["vz"],
        return_pct=columns["rp"],
        close_timeframes=tuple(close_timeframes),
        _returns=_Moments(returns.decay, columns["rw"], columns["rm"], columns["r2"], columns["rc"]),
        _volumes=_Moments(volumes.decay, columns["vw"], columns["vm"], columns["v2"], columns["vc"]),
        _start=start,
    )


@dataclass(frozen=True, slots=True)
class CandleArrays:
    """One symbol's candles as columns (float64 prices and volume, int64 open times in ms), oldest first."""

    open_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.open_ms)


def _ingest_all(
    returns: EwMoments, volumes: EwMoments, last: float | None, candles: CandleArrays, min_history: int
) -> dict[str, np.ndarray]:
    """``SymbolTracker.ingest`` over every candle, keeping the scores and the moments after each candle."""
    dr, dv = returns.decay, volumes.decay
    rw, rm, r2, rc = returns.weight, returns.mean, returns.m2, returns.count
    vw, vm, v2, vc = volumes.weight, volumes.mean, volumes.m2, volumes.count
    floats = {name: array("d") for name in ("rz", "vz", "rp", "rw", "rm", "r2", "vw", "vm", "v2")}
    ints = {name: array("q") for name in ("rc", "vc")}
    put_rz, put_vz, put_rp = floats["rz"].append, floats["vz"].append, floats["rp"].append
    put_rw, put_rm, put_r2 = floats["rw"].append, floats["rm"].append, floats["r2"].append
    put_vw, put_vm, put_v2 = floats["vw"].append, floats["vm"].append, floats["v2"].append
    put_rc, put_vc = ints["rc"].append, ints["vc"].append
    log, log1p, sqrt, nan = math.log, math.log1p, math.sqrt, NO_VALUE
    for c, v in zip(candles.close.tolist(), candles.volume.tolist(), strict=True):
        log_volume = log1p(v)
        volume_z = nan
        if vc >= min_history:
            std = sqrt(v2 / vw) if vw > 0 and v2 > 0 else 0.0
            if std > 0.0:
                volume_z = (log_volume - vm) / std
        vw = dv * vw + 1.0
        delta = log_volume - vm
        vm += delta / vw
        v2 = dv * v2 + delta * (log_volume - vm)
        vc += 1
        return_z = return_pct = nan
        if last is not None and last > 0 and c > 0:
            log_return = log(c / last)
            if rc >= min_history:
                std = sqrt(r2 / rw) if rw > 0 and r2 > 0 else 0.0
                if std > 0.0:
                    return_z = (log_return - rm) / std
                return_pct = (c / last - 1.0) * 100.0
            rw = dr * rw + 1.0
            delta = log_return - rm
            rm += delta / rw
            r2 = dr * r2 + delta * (log_return - rm)
            rc += 1
        last = c
        put_rz(return_z)
        put_vz(volume_z)
        put_rp(return_pct)
        put_rw(rw)
        put_rm(rm)
        put_r2(r2)
        put_vw(vw)
        put_vm(vm)
        put_v2(v2)
        put_rc(rc)
        put_vc(vc)
    columns = {name: np.array(values, dtype=np.float64) for name, values in floats.items()}
    columns.update({name: np.array(values, dtype=np.int64) for name, values in ints.items()})
    return columns


def anomaly_fires(tape: GateTape, return_z_threshold: float, volume_z_threshold: float) -> np.ndarray:
    """``AnomalyLayer.judge`` over every candle: |return z| or volume z at or beyond its threshold."""
    with np.errstate(invalid="ignore"):
        fires: np.ndarray = (np.abs(tape.return_z) >= return_z_threshold) | (tape.volume_z >= volume_z_threshold)
    return fires


def candle_close_fires(tape: GateTape, timeframes: Sequence[tuple[str, int]]) -> np.ndarray:
    """``SymbolTracker.closed_timeframes`` over every candle: a configured higher timeframe's boundary was
    crossed at (or, across a data gap, before) the candle's close."""
    fired = np.zeros(len(tape), dtype=bool)
    if not len(tape):
        return fired
    for timeframe, seconds in timeframes:
        marks = tape.close_marks(seconds)
        previous = tape.start_mark(timeframe)
        on_boundary = float(tape.close_ts[0]) % seconds == 0
        fired[0] |= bool(on_boundary if previous is None else marks[0] > previous)
        fired[1:] |= marks[1:] > marks[:-1]
    return fired


def candidate_fires(layers: Sequence[WakeLayer], tape: GateTape) -> np.ndarray:
    """Where a layer that judges the candle alone fires (``Gate.candidates``); every candle for an unknown layer."""
    fires = np.zeros(len(tape), dtype=bool)
    for layer in layers:
        match layer:
            case AnomalyLayer():
                fires |= anomaly_fires(tape, layer.return_z_threshold, layer.volume_z_threshold)
            case CandleCloseLayer():
                fires |= candle_close_fires(tape, layer.timeframes)
            case ConditionLayer() | TimerLayer() | FeedStaleLayer():
                pass
            case _:
                fires[:] = True
    return fires


def wake_kinds(layers: Sequence[WakeLayer], cooldown_s: int, tape: GateTape) -> np.ndarray | None:
    """Per candle: the ``WakeKind`` of the wake ``Gate.observe`` grants there for the candle alone (the first
    anomaly or candle-close layer that fires, by priority; ``None`` where neither does), given that no state layer
    (a condition, the timer) fires there. ``None`` for the whole tape when such a wake cannot be told without
    observing: a cooldown may hold it back, or a layer of a kind not known here may fire. ``layers`` in priority
    order. A backtest decides the wakes of an agent that declares where it acts in bulk from it."""
    if cooldown_s > 0:
        return None
    kinds = np.full(len(tape), None, dtype=object)
    for layer in reversed(layers):  # the highest priority is written last
        match layer:
            case AnomalyLayer():
                kinds[anomaly_fires(tape, layer.return_z_threshold, layer.volume_z_threshold)] = layer.kind
            case CandleCloseLayer():
                kinds[candle_close_fires(tape, layer.timeframes)] = layer.kind
            case ConditionLayer() | TimerLayer() | FeedStaleLayer():
                pass
            case _:
                return None
    return kinds


# ---------------------------------------------------------------------- wake conditions over a span


def condition_holds(condition: WakeCondition, tape: GateTape, lo: int, hi: int,
                    position: PositionView | None) -> np.ndarray | None:  # fmt: skip
    """Where ``condition`` holds at the candles ``lo..hi-1`` of ``tape`` (as the condition layer judges a closed
    candle), or ``None`` when it cannot be told from the candles alone (a regime condition; a time condition is
    the caller's deadline). Same float operations as the condition's own ``holds``."""
    judge = _JUDGES.get(type(condition))
    if judge is None:
        return None
    if condition.symbol != tape.symbol:
        return np.zeros(hi - lo, dtype=bool)
    return judge(condition, _Span(tape.low[lo:hi], tape.high[lo:hi], tape.volume_z[lo:hi], position))


@dataclass(frozen=True, slots=True)
class _Span:
    low: np.ndarray
    high: np.ndarray
    volume_z: np.ndarray
    position: PositionView | None

    def none(self) -> np.ndarray:
        return np.zeros(len(self.low), dtype=bool)


def _price_above(condition: PriceAbove, span: _Span) -> np.ndarray:
    hits: np.ndarray = span.high >= condition.price
    return hits


def _price_below(condition: PriceBelow, span: _Span) -> np.ndarray:
    hits: np.ndarray = span.low <= condition.price
    return hits


def _move(condition: MovePct, span: _Span) -> np.ndarray:
    ref = condition.reference_price
    if ref is None:
        return span.none()
    up = (span.high / ref - 1.0) * 100.0 >= condition.pct
    down = (1.0 - span.low / ref) * 100.0 >= condition.pct
    return {"up": up, "down": down, "either": up | down}[condition.direction]


def _volume_z(condition: VolumeZAbove, span: _Span) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        hits: np.ndarray = span.volume_z >= condition.z
    return hits


def _pnl_below(condition: PositionPnlBelow, span: _Span) -> np.ndarray:
    if span.position is None:
        return span.none()
    hits: np.ndarray = _pnl_range(span.position, span.low, span.high)[0] <= condition.pct
    return hits


def _pnl_above(condition: PositionPnlAbove, span: _Span) -> np.ndarray:
    if span.position is None:
        return span.none()
    hits: np.ndarray = _pnl_range(span.position, span.low, span.high)[1] >= condition.pct
    return hits


_JUDGES: dict[type, Callable[[Any, _Span], np.ndarray]] = {
    PriceAbove: _price_above,
    PriceBelow: _price_below,
    MovePct: _move,
    VolumeZAbove: _volume_z,
    PositionPnlBelow: _pnl_below,
    PositionPnlAbove: _pnl_above,
}
"""The condition kinds a candle alone decides, each as its ``holds`` over arrays. ``regime_change`` needs the
regime at every event and ``at_time`` is a time: neither is here."""


def _pnl_range(position: PositionView, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``PositionView.pnl_range_pct`` element-wise."""
    entry = position.entry_price
    at_low = (low - entry) / entry * 100.0
    at_high = (high - entry) / entry * 100.0
    if position.side is PositionSide.SHORT:
        at_low, at_high = -at_low, -at_high
    return np.minimum(at_low, at_high), np.maximum(at_low, at_high)


def time_deadline(conditions: Sequence[WakeCondition]) -> float | None:
    """The earliest ``at_time`` of the armed conditions (it holds at any event from then on), if any."""
    times = [c.at.timestamp() for c in conditions if isinstance(c, AtTime)]
    return min(times) if times else None
