"""The control plane of several runners (``docs/runners.md``): which runners a command addresses, and the
fleet's status lines. Pure: the CLI (``safety.cli``) reads the registry and the leases and queues the command.

A command goes to the queue of each addressed runner (its own store namespace), under **one** idempotency key:
each runner's queue applies it exactly once (``store/submit_command.lua``, ``finish_command.lua``), a restart
does not apply it again, and re-sending the same key is a ``duplicate`` everywhere. "All runners" means every
runner alive now (a live heartbeat); ``--runner ID`` one runner, alive or not (it applies the command when it
starts); ``--symbol S`` the runner that holds S's lease now (the command acts on that whole runner: the kill
switch is per runner).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.ids import Symbol
from core.leases import Lease


@dataclass(frozen=True, slots=True)
class Target:
    runner: str
    book_namespace: str


class NoTarget(ValueError):
    """The command addresses no runner (an unknown id, a symbol nobody holds, no runner alive)."""


def targets(
    books: Mapping[str, str],
    live: Sequence[str],
    *,
    runner: str | None = None,
    symbol: Symbol | None = None,
    leases: Mapping[Symbol, Lease | None] | None = None,
) -> list[Target]:
    """The runners a command goes to, each with the namespace of its queue."""
    if runner is not None and symbol is not None:
        raise NoTarget("give --runner or --symbol, not both")
    if symbol is not None:
        lease = (leases or {}).get(symbol)
        if lease is None:
            raise NoTarget(f"no runner holds {symbol} now")
        runner = lease.owner
    if runner is not None:
        if runner not in books:
            known = ", ".join(sorted(books)) or "none"
            raise NoTarget(f"no runner {runner!r} is registered (known: {known})")
        return [Target(runner, books[runner])]
    alive = [r for r in sorted(set(live)) if r in books]
    if not alive:
        raise NoTarget("no runner is alive (no live heartbeat): name one with --runner to queue for its next start")
    return [Target(r, books[r]) for r in alive]


def fleet_lines(
    heartbeats: Sequence[tuple[str, Sequence[Symbol], int]],
    gone: Sequence[str],
    leases: Mapping[Symbol, Lease | None],
    now_ms: int,
) -> list[str]:
    """``tradewake status``'s runner lines: each runner's heartbeat age and its symbols with their lease's time
    left; runners whose heartbeat expired; symbols nobody holds."""
    lines = []
    for runner, symbols, at_ms in sorted(heartbeats):
        held = []
        for symbol in symbols:
            lease = leases.get(symbol)
            left = (
                f"{lease.ttl_ms / 1000:.1f} s left, token {lease.token}" if lease and lease.owner == runner else "lost"
            )
            held.append(f"{symbol} ({left})")
        lines.append(
            f"runner {runner}: heartbeat {(now_ms - at_ms) / 1000:.1f} s ago; {', '.join(held) or 'no symbols'}"
        )
    lines.extend(f"runner {runner}: no heartbeat (stopped or dead)" for runner in sorted(gone))
    free = sorted(s for s, lease in leases.items() if lease is None)
    if free:
        lines.append(f"held by nobody: {', '.join(free)}")
    return lines
