"""A real gate over a :class:`tools.static_desk.StaticDesk`'s plain values, for its ``schedule_check``.

``tools`` may not import ``gate`` (DESIGN.md's table), so the engine side builds the gate the engine
would hold at the desk's time (the snapshots' symbols, prices, regimes and positions) and asks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.settings import GateSettings, LLMSettings
from gate.budget import BudgetLimits
from gate.gate import Gate
from tools.static_desk import StaticDesk, snapshot_price


def desk_gate(desk: StaticDesk, settings: GateSettings | None = None) -> Gate:
    now = desk.now
    gate = Gate(settings or GateSettings(), BudgetLimits.from_settings(LLMSettings()),
                symbols=list(desk.snapshots), started_at=now)
    for symbol, snap in desk.snapshots.items():
        price = snapshot_price(snap)
        if price is not None:
            gate.observe_price(symbol, price, now)
        regime = snap.get("regime")
        if isinstance(regime, Mapping) and isinstance(regime.get("label"), str):
            gate.observe_regime(symbol, regime["label"], now)
        if symbol in desk.positions:
            position = desk.positions[symbol]
            gate.set_position(symbol, position.side, float(position.entry_price))
    return gate


def gate_schedule_check(
    desk: StaticDesk, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any]]
) -> list[str]:
    """``StaticDesk.schedule_check``: the gate's own validation, as of the desk's time."""
    return desk_gate(desk).check_schedule(next_check_seconds, conditions, desk.now)
