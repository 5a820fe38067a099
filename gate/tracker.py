"""What the gate remembers about one symbol: baselines, last prices, higher-timeframe closes, regime, position.

Everything here is O(1) per candle and serialises to plain JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.conditions import MarketFacts, PositionView
from core.settings import GateSettings
from core.timeframes import timeframe_seconds
from core.types import Candle, PositionSide
from gate.stats import EwMoments, decay_per_step


@dataclass(frozen=True, slots=True)
class CandleScores:
    """z-scores of one closed candle against the baseline *before* it (``None`` while there is too little history)."""

    return_z: float | None
    volume_z: float | None
    return_pct: float | None


@dataclass(slots=True)
class SymbolTracker:
    symbol: str
    timeframe: str | None = None
    timeframe_s: int = 0
    returns: EwMoments | None = None
    volumes: EwMoments | None = None
    last_close: float | None = None
    last_price: float | None = None
    last_volume_z: float | None = None
    known_regime: str | None = None
    """The last regime label read (see ``regime``)."""
    position: PositionView | None = None
    close_marks: dict[str, int] = field(default_factory=dict)
    """Per higher timeframe: index of the last candle boundary seen (``close_ts // seconds``)."""
    later: list[Callable[[], str | None]] = field(default_factory=list)
    """Readings observed but not taken yet, oldest first (``defer_regime``)."""

    @property
    def regime(self) -> str | None:
        """The regime label of the latest reading that had one: the deferred readings are taken now, latest
        first, until one has a label (a reading is ``None`` while its model has too little history)."""
        if self.later:
            for read in reversed(self.later):
                label = read()
                if label is not None:
                    self.known_regime = label
                    break
            self.later.clear()
        return self.known_regime

    def set_regime(self, label: str) -> None:
        """A reading taken now: it replaces every deferred one (they are older)."""
        self.known_regime = label
        self.later.clear()

    def defer_regime(self, read: Callable[[], str | None], *, labelled: bool) -> None:
        """A reading observed now and taken when the label is asked for (``Gate.note_regime_later``). ``labelled``:
        it is known to have a label, so the older deferred ones will never be read."""
        if labelled:
            self.later.clear()
        self.later.append(read)

    def bind_timeframe(self, timeframe: str, settings: GateSettings) -> None:
        """Fix the candle timeframe this symbol is observed in (and the baselines' per-candle decay)."""
        if self.timeframe is None:
            self.timeframe = timeframe
            self.timeframe_s = timeframe_seconds(timeframe)
        elif timeframe != self.timeframe:
            raise ValueError(
                f"gate observes {self.symbol} in {self.timeframe} candles; got a {timeframe} candle "
                "(feed the gate one base timeframe per symbol)"
            )
        if self.returns is None or self.volumes is None:
            decay_r, decay_v = _decays(self.timeframe_s, settings)
            self.returns = EwMoments(decay_r)
            self.volumes = EwMoments(decay_v)

    def ingest(self, candle: Candle, min_history: int) -> CandleScores:
        """Score ``candle`` against the baselines, then add it to them."""
        returns, volumes = self.returns, self.volumes
        if returns is None or volumes is None:
            raise RuntimeError("bind_timeframe before ingest")
        log_volume = math.log1p(candle.volume)
        volume_z = volumes.zscore(log_volume) if volumes.count >= min_history else None
        volumes.update(log_volume)
        return_z = return_pct = None
        if self.last_close is not None and self.last_close > 0 and candle.close > 0:
            log_return = math.log(candle.close / self.last_close)
            if returns.count >= min_history:
                return_z = returns.zscore(log_return)
                return_pct = (candle.close / self.last_close - 1.0) * 100.0
            returns.update(log_return)
        self.last_close = candle.close
        self.last_price = candle.close
        self.last_volume_z = volume_z
        return CandleScores(return_z, volume_z, return_pct)

    def closed_timeframes(self, close_ts: float, timeframes: tuple[tuple[str, int], ...]) -> list[str]:
        """Of ``(timeframe, seconds)``: those whose candle closed at (or, across a data gap, before) ``close_ts``."""
        closed = []
        for timeframe, seconds in timeframes:
            mark = int(close_ts // seconds)
            previous = self.close_marks.get(timeframe)
            on_boundary = close_ts % seconds == 0
            if (previous is None and on_boundary) or (previous is not None and mark > previous):
                closed.append(timeframe)
            self.close_marks[timeframe] = mark
        return closed

    def facts(self) -> MarketFacts:
        return MarketFacts(
            symbol=self.symbol,
            last_price=self.last_price,
            regime=self.regime,
            volume_z=self.last_volume_z,
            position=self.position,
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "timeframe": self.timeframe,
            "returns": self.returns.to_state() if self.returns else None,
            "volumes": self.volumes.to_state() if self.volumes else None,
            "last_close": self.last_close,
            "last_price": self.last_price,
            "last_volume_z": self.last_volume_z,
            "regime": self.regime,
            "position": None
            if self.position is None
            else {"side": self.position.side.value, "entry_price": self.position.entry_price},
            "close_marks": dict(sorted(self.close_marks.items())),
        }

    @classmethod
    def from_state(cls, symbol: str, state: dict[str, Any], settings: GateSettings) -> SymbolTracker:
        position = state["position"]
        tracker = cls(
            symbol=symbol,
            last_close=state["last_close"],
            last_price=state["last_price"],
            last_volume_z=state["last_volume_z"],
            known_regime=state["regime"],
            position=None
            if position is None
            else PositionView(PositionSide(position["side"]), position["entry_price"]),
            close_marks={k: int(v) for k, v in state["close_marks"].items()},
        )
        if state["timeframe"] is not None:
            tracker.timeframe = state["timeframe"]
            tracker.timeframe_s = timeframe_seconds(state["timeframe"])
            decay_r, decay_v = _decays(tracker.timeframe_s, settings)
            tracker.returns = EwMoments.from_state(decay_r, state["returns"])
            tracker.volumes = EwMoments.from_state(decay_v, state["volumes"])
        return tracker


def _decays(timeframe_s: int, settings: GateSettings) -> tuple[float, float]:
    return (
        decay_per_step(timeframe_s, settings.return_baseline_halflife_h * 3600.0),
        decay_per_step(timeframe_s, settings.volume_baseline_halflife_h * 3600.0),
    )
