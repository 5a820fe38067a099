"""The values of symbol leases (``safety.leases`` decides, ``store.leases`` keeps them on Redis)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.ids import Symbol

RUNNER_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def check_runner_id(runner: str) -> str:
    """A runner id is stored inside lease values (``runner|token``): letters, digits, ``_.-`` only."""
    if not RUNNER_ID_RE.match(runner):
        raise ValueError(f"runner id must be 1-32 letters, digits, '_', '.' or '-', got {runner!r}")
    return runner


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease as observed: who holds ``symbol`` under which token, and how long it has left."""

    symbol: Symbol
    owner: str
    token: int
    ttl_ms: int
    """Milliseconds before the lease expires (as Redis' PTTL answered at ``observed_ms``)."""
    observed_ms: int

    @property
    def expires_ms(self) -> int:
        return self.observed_ms + self.ttl_ms


@dataclass(frozen=True, slots=True)
class FenceAnswer:
    """The fence check's answer: ``ok``, else the symbol's current token and holder (for the journal)."""

    ok: bool
    current_token: int = 0
    holder: str = ""
