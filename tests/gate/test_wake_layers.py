"""The ``WakeLayer`` seam: the gate walks a list of layers by priority; a new layer plugs in without a gate change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from core.types import WakeKind
from gate.events import GateEventKind
from gate.gate import Gate
from gate.layers import (
    AnomalyLayer,
    CandleCloseLayer,
    ConditionLayer,
    FeedStaleLayer,
    GateObservation,
    TimerLayer,
    WakeLayer,
    default_layers,
)
from tests.gate.helpers import BTC, T0, UNLIMITED, candle, quiet_settings


@dataclass
class PriceAbove:
    """A layer a later issue might add: any price at or above ``level`` (candle high or tick) wakes."""

    level: float
    kind: WakeKind = WakeKind.POSITION
    priority: int = 2
    cooled: bool = False
    warmed: list[float] = field(default_factory=list)

    def fire(self, obs: GateObservation) -> Sequence[str]:
        high = obs.candle.high if obs.candle is not None else obs.price
        return (f"price {high:g} at or above {self.level:g}",) if high is not None and high >= self.level else ()

    def warm_up(self, obs: GateObservation) -> None:
        if obs.candle is not None:
            self.warmed.append(obs.candle.close)


def gate_with(*extra: WakeLayer, **settings: object) -> Gate:
    chosen = quiet_settings(**settings)
    return Gate(chosen, UNLIMITED, symbols=(BTC,), started_at=T0, layers=(*default_layers(chosen), *extra))


def test_the_default_layers_in_the_order_the_gate_walks_them() -> None:
    layers = default_layers(quiet_settings(candle_close_timeframes=("4h",)))
    assert [type(layer) for layer in layers] == [FeedStaleLayer, ConditionLayer, AnomalyLayer, CandleCloseLayer,
                                                 TimerLayer]
    assert [layer.kind for layer in layers] == [WakeKind.FEED_STALE, WakeKind.CONDITION, WakeKind.ANOMALY,
                                                WakeKind.CANDLE_CLOSE, WakeKind.TIMER]
    assert [layer.cooled for layer in layers] == [False, False, False, True, False], "only candle closes cool down"


def test_a_new_layer_wakes_the_agent_without_a_change_to_the_gate() -> None:
    gate = gate_with(PriceAbove(105.0))
    assert gate.observe_price(BTC, 104.0, T0 + timedelta(minutes=1)) is None
    wake = gate.observe_price(BTC, 106.0, T0 + timedelta(minutes=2))
    assert wake is not None
    assert (wake.kind, wake.detail, wake.symbol) == (WakeKind.POSITION, "price 106 at or above 105", BTC)
    journaled = gate.drain_events()
    assert [e.kind for e in journaled] == [GateEventKind.WAKE] and journaled[0].layers == (WakeKind.POSITION,)


def test_one_wake_names_every_layer_that_fired_in_priority_order() -> None:
    gate = gate_with(PriceAbove(105.0, priority=4), candle_close_timeframes=("1h",))
    wake = gate.observe(candle(55, 106.0))  # closes 01:00: the 1h candle closed too
    assert wake is not None
    assert wake.kind is WakeKind.CANDLE_CLOSE, "priority 3 before the new layer's 4"
    assert wake.detail == "candle close: BTC/USDT 1h; price 106 at or above 105"
    assert gate.drain_events()[-1].layers == (WakeKind.CANDLE_CLOSE, WakeKind.POSITION)


def test_a_cooled_layer_is_held_back_by_the_cooldown_and_an_uncooled_one_passes() -> None:
    cooled = gate_with(PriceAbove(105.0, cooled=True), cooldown_s=900)
    assert cooled.observe_price(BTC, 106.0, T0 + timedelta(minutes=1)) is not None
    assert cooled.observe_price(BTC, 107.0, T0 + timedelta(minutes=2)) is None, "5 minutes into the cooldown"
    assert cooled.drain_events()[-1].suppressed_by == "cooldown"
    loud = gate_with(PriceAbove(105.0, cooled=False), cooldown_s=900)
    assert loud.observe_price(BTC, 106.0, T0 + timedelta(minutes=1)) is not None
    assert loud.observe_price(BTC, 107.0, T0 + timedelta(minutes=2)) is not None


def test_layers_are_walked_by_priority_whatever_order_they_are_given() -> None:
    settings = quiet_settings()
    given = (TimerLayer(), PriceAbove(1.0), *reversed(default_layers(settings)[:-1]))
    gate = Gate(settings, UNLIMITED, symbols=(BTC,), started_at=T0, layers=given)
    assert [layer.priority for layer in gate.layers] == sorted(layer.priority for layer in given)
    assert isinstance(gate.layers[-1], TimerLayer)


def test_warm_up_shows_layers_the_history_and_never_wakes() -> None:
    layer = PriceAbove(105.0)
    gate = gate_with(layer)
    history = [candle(m, 106.0 + m / 100) for m in range(0, 30, 5)]
    gate.warm_up(history)
    assert layer.warmed == [c.close for c in history]
    assert gate.drain_events() == []


def test_a_restored_gate_walks_the_layers_it_is_given() -> None:
    gate = gate_with(PriceAbove(105.0))
    restored = Gate.from_state(gate.to_state(), gate.settings, gate.limits, layers=gate.layers)
    assert restored.layers == gate.layers
    wake = restored.observe_price(BTC, 106.0, T0 + timedelta(minutes=1))
    assert wake is not None and wake.kind is WakeKind.POSITION
    plain = Gate.from_state(gate.to_state(), gate.settings, gate.limits)
    assert plain.layers == default_layers(gate.settings)
