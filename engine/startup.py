"""Where a live start's time goes: wall and CPU seconds per phase, counted from the process start.

A restart must protect every open position within seconds of the process start (issue 17), so ``tradewake run``
marks each phase of its start (imports, settings, store, the exchange's time and markets, reconciliation and the
stops it places, the candle history, the agent...) on a ``StartupTrace``; the trace is journaled once the run is
assembled (``run.startup``) and logged. The first mark's wall time includes the interpreter's own start, read
from ``/proc`` (Linux); elsewhere the trace counts from its creation. These are process timings for people and
the chaos tests, never the trading clock.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def process_age_s() -> float:
    """Wall seconds since this process was started (0.0 when ``/proc`` cannot tell)."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii")
        started_ticks = int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK"))


@dataclass(frozen=True)
class Phase:
    name: str
    wall_s: float
    """Wall seconds this phase took."""
    cpu_s: float
    """CPU seconds (user + system) this process used in it."""
    at_s: float
    """Wall seconds from the process start to the end of this phase."""


@dataclass
class StartupTrace:
    """Phases of one start, in order: ``mark(name)`` ends the phase called ``name``."""

    phases: list[Phase] = field(default_factory=list)
    _origin: float = field(init=False)
    _last_wall: float = field(init=False)
    _last_cpu: float = field(init=False)

    def __post_init__(self) -> None:
        now = time.monotonic()
        self._origin = now - process_age_s()
        self._last_wall, self._last_cpu = self._origin, 0.0

    def mark(self, name: str) -> Phase:
        wall, cpu = time.monotonic(), time.process_time()
        phase = Phase(name, wall - self._last_wall, cpu - self._last_cpu, wall - self._origin)
        self._last_wall, self._last_cpu = wall, cpu
        self.phases.append(phase)
        log.info("start-up: %s took %.3f s (%.3f s CPU), %.3f s from the process start",
                 name, phase.wall_s, phase.cpu_s, phase.at_s)
        return phase

    def at_s(self, name: str) -> float | None:
        """Seconds from the process start to the end of phase ``name`` (``None``: not marked)."""
        return next((p.at_s for p in self.phases if p.name == name), None)

    def as_json(self) -> dict[str, object]:
        return {
            "phases": [
                {"name": p.name, "wall_s": round(p.wall_s, 4), "cpu_s": round(p.cpu_s, 4), "at_s": round(p.at_s, 4)}
                for p in self.phases
            ]
        }
