"""CPU seconds per phase of a run, from the outside: the floor under a backtest's rate (issue 18).

A backtest's rate has a part that grows with the agent's decisions and a part that does not: loading the
data, setting the run up (store, market builders, engine, the gate's tapes over the whole series), the HMM
fits (one per weekly refit period, whatever the number of wakes in it) and writing the reports (metrics,
trades, bars, charts, HTML). ``PhaseClock.instrument`` wraps the functions that do the second part, for one
``with`` block, and adds up the CPU time (``time.process_time``) spent inside each: *own* time, so a phase
called inside another (a fit during the set-up) counts once, in the inner phase.

The wrapped names are looked up when the block starts: a rename elsewhere fails here, loudly, rather than
silently measuring nothing.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

FIXED_PHASES: dict[str, tuple[str, ...]] = {
    "setup": (
        "backtests.runner:backtest_markets",
        "backtests.runner:build_run",
        "gate.gate:Gate.tape",
        "gate.gate:Gate.candidates",
        "engine.skipping:SkipPlanner.__init__",
    ),
    "HMM fits": ("market.regime:RegimeTracker._fit",),
    "metrics": (
        "backtests.runner:_journal_facts",
        "backtests.runner:compute_metrics",
        "backtests.runner:write_metrics",
    ),
    "trades+bars CSV": ("backtests.outputs:write_trades_csv", "backtests.outputs:write_bars_csv"),
    "charts": ("backtests.outputs:plot_equity", "backtests.outputs:plot_price_with_trades"),
    "HTML": ("backtests.outputs:write_report",),
}
"""Phase -> the functions (``module:attribute[.attribute]``) whose own CPU time is the phase's."""


@dataclass
class PhaseClock:
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: Counter[str] = field(default_factory=Counter)
    _open: list[list[float]] = field(default_factory=list)
    """One ``[started, spent in nested phases]`` per phase being timed, innermost last."""

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def _enter(self) -> None:
        self._open.append([time.process_time(), 0.0])

    def _leave(self, phase: str) -> None:
        started, nested = self._open.pop()
        spent = time.process_time() - started
        self.seconds[phase] += spent - nested
        self.calls[phase] += 1
        if self._open:
            self._open[-1][1] += spent

    def timed(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` with its own CPU time added to ``phase`` (a coroutine function stays one: a backtest
        runs nothing else on its event loop, so the time between its awaits is its own)."""
        if inspect.iscoroutinefunction(function):
            @functools.wraps(function)
            async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
                self._enter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    self._leave(phase)
            return timed_coroutine

        @functools.wraps(function)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            try:
                return function(*args, **kwargs)
            finally:
                self._leave(phase)
        return timed_call

    @contextmanager
    def instrument(self, phases: dict[str, tuple[str, ...]] = FIXED_PHASES) -> Iterator[PhaseClock]:
        """Time ``phases`` inside the block; every wrapped attribute is put back on the way out."""
        with ExitStack() as restore:
            for phase, targets in phases.items():
                for target in targets:
                    owner, name = _owner(target)
                    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
                    timed = self.timed(phase, getattr(owner, name))
                    if isinstance(original, (staticmethod, classmethod)):  # keep how the class binds it
                        timed = type(original)(self.timed(phase, original.__func__))
                    setattr(owner, name, timed)
                    restore.callback(setattr, owner, name, original)
            yield self


def _owner(target: str) -> tuple[Any, str]:
    """``"pkg.mod:Class.method"`` -> (the class, ``"method"``); ``"pkg.mod:function"`` -> (the module, name)."""
    module, _, path = target.partition(":")
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    getattr(owner, name)  # fails now, naming the target, if it was renamed
    return owner, name
