"""``benchmarks.phases``: CPU seconds per phase, each counted once (own time), every wrapped name put back."""

from __future__ import annotations

import asyncio
import time

import pytest

import market.regime
from benchmarks.phases import FIXED_PHASES, PhaseClock, _owner


def spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


class Work:
    @staticmethod
    def inner() -> None:
        spin(0.03)

    def outer(self) -> None:
        spin(0.02)
        Work.inner()

    async def waited(self) -> None:
        await asyncio.sleep(0)
        self.outer()


def test_a_phase_called_inside_another_counts_once_in_the_inner_one() -> None:
    clock = PhaseClock()
    targets = {"outer": (f"{__name__}:Work.outer",), "inner": (f"{__name__}:Work.inner",),
               "waited": (f"{__name__}:Work.waited",)}  # fmt: skip
    with clock.instrument(targets):
        Work().outer()
        asyncio.run(Work().waited())
    assert clock.calls == {"outer": 2, "inner": 2, "waited": 1}
    assert clock.seconds["inner"] == pytest.approx(0.06, abs=0.015)
    assert clock.seconds["outer"] == pytest.approx(0.04, abs=0.015)
    assert clock.seconds["waited"] < 0.01
    assert clock.total == pytest.approx(sum(clock.seconds.values()))


def test_every_wrapped_name_is_put_back_and_a_staticmethod_stays_one() -> None:
    before = dict(vars(Work)), market.regime.RegimeTracker._fit
    with PhaseClock().instrument({"x": (f"{__name__}:Work.inner", f"{__name__}:Work.outer")}):
        assert isinstance(vars(Work)["inner"], staticmethod)
        Work.inner.__wrapped__  # noqa: B018 - the wrapper is in place inside the block
    with PhaseClock().instrument():
        assert market.regime.RegimeTracker._fit is not before[1]
    assert dict(vars(Work)) == before[0] and market.regime.RegimeTracker._fit is before[1]


def test_the_fixed_phases_name_functions_that_exist() -> None:
    """A rename elsewhere fails here (and in the benchmark, before it measures), not as a silent zero."""
    for targets in FIXED_PHASES.values():
        for target in targets:
            owner, name = _owner(target)
            assert callable(getattr(owner, name)), target
    with pytest.raises(AttributeError):
        _owner("backtests.runner:no_such_function")
