"""A regime observed with its reading left for later (``Gate.note_regime_later``, a backtest's on-demand regime) is
the label observing it at once would have left: the latest reading that has one, taken only when something asks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from gate.gate import Gate
from tests.gate.helpers import BTC, T0, make_gate, quiet_settings


class Readings:
    """Readings in the order they were observed; counts which were taken."""

    def __init__(self) -> None:
        self.taken: list[int] = []

    def reading(self, index: int, label: str | None) -> Callable[[], str | None]:
        def read() -> str | None:
            self.taken.append(index)
            return label

        return read


def test_the_latest_reading_with_a_label_wins_and_nothing_is_read_before_it_is_asked_for() -> None:
    gate, readings = make_gate(quiet_settings()), Readings()
    gate.observe_regime(BTC, "low_vol", T0)
    gate.note_regime_later(BTC, readings.reading(0, "high_vol"))
    gate.note_regime_later(BTC, readings.reading(1, "low_vol"))
    gate.note_regime_later(BTC, readings.reading(2, None))  # too little history for this moment's model
    assert readings.taken == []
    assert gate.to_state()["trackers"][BTC]["regime"] == "low_vol"
    assert readings.taken == [2, 1]  # latest first, until one has a label; the older one is never read
    gate.to_state()
    assert readings.taken == [2, 1]  # taken once


def test_no_label_keeps_the_last_one_and_a_reading_taken_now_replaces_the_deferred_ones() -> None:
    gate, readings = make_gate(quiet_settings()), Readings()
    gate.observe_regime(BTC, "high_vol", T0)
    gate.note_regime_later(BTC, readings.reading(0, None))
    assert gate.to_state()["trackers"][BTC]["regime"] == "high_vol"
    gate.note_regime_later(BTC, readings.reading(1, "low_vol"))
    gate.observe_regime(BTC, "high_vol", T0 + timedelta(hours=1))
    assert gate.to_state()["trackers"][BTC]["regime"] == "high_vol"
    assert readings.taken == [0]
    restored = Gate.from_state(gate.to_state(), gate.settings, gate.limits)
    assert restored.to_state() == gate.to_state()


def test_a_reading_known_to_have_a_label_drops_the_older_ones_unread() -> None:
    gate, readings = make_gate(quiet_settings()), Readings()
    gate.note_regime_later(BTC, readings.reading(0, "high_vol"))
    gate.note_regime_later(BTC, readings.reading(1, "low_vol"), labelled=True)
    gate.note_regime_later(BTC, readings.reading(2, None))
    assert gate.to_state()["trackers"][BTC]["regime"] == "low_vol"
    assert readings.taken == [2, 1]


def test_only_an_armed_condition_judges_the_regime() -> None:
    gate = make_gate(quiet_settings(timer_max_s=3600))
    gate.observe_regime(BTC, "low_vol", T0)
    assert not gate.judges_regime
    gate.schedule(1200, [{"kind": "regime_change"}], T0)
    assert gate.judges_regime
    gate.schedule(1200, [], T0)
    assert not gate.judges_regime
