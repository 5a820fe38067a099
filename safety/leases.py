"""Symbol leases with fencing tokens, the pure half: who should hold what, and what a runner does about it.

Several runners share one account. A runner trades a symbol only while it holds that symbol's lease, a
Redis key with an expiry (``store.leases``). Every acquisition takes a new fencing token from a per-symbol
counter that only goes up, and every order-side write (place, cancel, and so adjust a stop) is checked
against it right before the broker call: a runner paused past its lease (a long GC, a SIGSTOP, a network
partition) whose symbol another runner has since taken carries an older token and is refused. The lease's
expiry is what frees a dead runner's symbols; the token is what makes a *slow* runner harmless.

This module decides, from plain values, what one round of lease upkeep does (:func:`plan_round`), whether
an observed lease is stale (:func:`is_stale`), and walks a taken-over symbol through the steps it must pass
before it may enter (:class:`TakeoverStage`: reconcile with the exchange first, invariant 6, then protect any
open position, then trade). The I/O (Lua scripts on Redis) is ``store.leases.RedisLeases``; the runner's
holder that ties both together is :class:`LeaseHolder`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from core.ids import Symbol
from core.leases import FenceAnswer, Lease, check_runner_id


def is_stale(lease: Lease | None, now_ms: int) -> bool:
    """True when nobody holds the symbol any more (no lease, or its expiry has passed)."""
    return lease is None or lease.expires_ms <= now_ms


class TakeoverStage(StrEnum):
    """Where a symbol this runner holds stands. Entries only in ``TRADING``; the guard works from ``PROTECTING``."""

    RECONCILING = "reconciling"
    """Just acquired: match the book with the exchange first (invariant 6)."""
    PROTECTING = "protecting"
    """Reconciled: every open position on the symbol must have a live stop before anything else."""
    TRADING = "trading"


def next_stage(stage: TakeoverStage, *, reconciled: bool, unprotected: int) -> TakeoverStage:
    """One step of a taken-over symbol: reconcile, then protect (no unprotected position left), then trade.

    A stage never skips ahead: a symbol reconciled this round is ``PROTECTING`` until a guard pass leaves no
    position on it without a stop."""
    if stage is TakeoverStage.RECONCILING:
        return TakeoverStage.PROTECTING if reconciled else stage
    if stage is TakeoverStage.PROTECTING:
        return TakeoverStage.TRADING if unprotected == 0 else stage
    return stage


@dataclass(frozen=True, slots=True)
class Held:
    """A lease this runner holds: its token and the stage of the symbol."""

    token: int
    stage: TakeoverStage = TakeoverStage.RECONCILING


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """What one round of lease upkeep does: renew what it holds, try to acquire what it wants and nobody holds."""

    renew: tuple[Symbol, ...]
    acquire: tuple[Symbol, ...]
    waiting: tuple[Symbol, ...]
    """Wanted but held by another runner whose lease is still live: left alone."""


def plan_round(
    wanted: Iterable[Symbol], held: Mapping[Symbol, Held], observed: Mapping[Symbol, Lease | None], now_ms: int
) -> RoundPlan:
    """Renew every held lease; acquire every wanted symbol whose lease is gone; wait for the others.

    A held symbol is renewed whatever it looks like from outside: the renewal itself is the owner check (a
    Lua compare), so a lease lost meanwhile shows up as a failed renewal, never as a guess here."""
    renew, acquire, waiting = [], [], []
    for symbol in dict.fromkeys(wanted):
        if symbol in held:
            renew.append(symbol)
        elif is_stale(observed.get(symbol), now_ms):
            acquire.append(symbol)
        else:
            waiting.append(symbol)
    return RoundPlan(tuple(renew), tuple(acquire), tuple(waiting))


class LeaseStore(Protocol):
    """The Redis half (``store.leases.RedisLeases``)."""

    def acquire(self, symbol: Symbol, runner: str, ttl_ms: int) -> int | None: ...

    def renew(self, symbol: Symbol, runner: str, token: int, ttl_ms: int) -> bool: ...

    def release(self, symbol: Symbol, runner: str, token: int) -> bool: ...

    def fence(self, symbol: Symbol, runner: str, token: int) -> FenceAnswer: ...

    def previous(self, symbol: Symbol) -> str:
        """Who held ``symbol`` before this runner's last acquisition ("" when nobody)."""
        ...

    def beat(self, runner: str, symbols: Iterable[Symbol], now_ms: int, ttl_ms: int, pid: int) -> None: ...

    def read(self, symbols: Iterable[Symbol], now_ms: int) -> dict[Symbol, Lease | None]:
        """The leases as they stand, observed at ``now_ms``."""
        ...


class WriteFence(Protocol):
    """What ``safety.gateway`` asks right before an order-side write (``LeaseHolder`` answers)."""

    def check_write(self, symbol: Symbol) -> FenceAnswer: ...

    def token(self, symbol: Symbol) -> int | None:
        """The fencing token this runner holds ``symbol`` under (it goes into the client order ids)."""
        ...


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    acquired: tuple[Symbol, ...] = ()
    lost: tuple[Symbol, ...] = ()


@dataclass
class LeaseHolder:
    """One runner's leases: upkeep rounds, the fence check before each order-side write, the takeover stages.

    A lease lost (a failed renewal or a refused write) is dropped at once: the runner stops trading the
    symbol and never writes for it again under that token."""

    runner: str
    wanted: tuple[Symbol, ...]
    store: LeaseStore
    ttl_ms: int
    held: dict[Symbol, Held] = field(default_factory=dict)
    refused: int = 0
    """Order-side writes refused by the fence since start (a stale token)."""
    pid: int = 0
    """The process id shown with the heartbeat (``tradewake status``)."""
    lost_since_round: list[Symbol] = field(default_factory=list)
    """Lost by a renewal between two rounds (:meth:`renew_held`): the next round reports them (journal, alert)."""

    def __post_init__(self) -> None:
        check_runner_id(self.runner)

    def round(self, now_ms: int) -> RoundOutcome:
        """Renew, acquire, drop the lost (and report those :meth:`renew_held` lost since the last round). A live run
        calls it at every engine step and guard pass, and renews between rounds on its own task
        (``engine.live_leases``); without that task, call it at least twice per lease ttl."""
        plan = plan_round(self.wanted, self.held, self.store.read(self.wanted, now_ms), now_ms)
        lost = [*self.lost_since_round, *self._renew(plan.renew)]
        self.lost_since_round = []
        acquired = []
        for symbol in plan.acquire:
            token = self.store.acquire(symbol, self.runner, self.ttl_ms)
            if token is not None:
                self.held[symbol] = Held(token)
                acquired.append(symbol)
        self.store.beat(self.runner, tuple(self.held), now_ms, self.ttl_ms, self.pid)
        return RoundOutcome(tuple(acquired), tuple(lost))

    def renew_held(self, now_ms: int) -> tuple[Symbol, ...]:
        """Renewal alone, between rounds (the runner's renewal task, every third of the ttl, whatever the guard
        and the agent are doing): renew every lease held, drop the lost at once, beat. Returns the lost; the next
        :meth:`round` reports them too. Never acquires: a new symbol must walk its takeover stages in a round."""
        lost = self._renew(tuple(self.held))
        self.lost_since_round.extend(lost)
        self.store.beat(self.runner, tuple(self.held), now_ms, self.ttl_ms, self.pid)
        return lost

    def _renew(self, symbols: Iterable[Symbol]) -> tuple[Symbol, ...]:
        """Renew each of ``symbols`` held; drop (and return) those whose lease is gone or superseded."""
        lost = []
        for symbol in symbols:
            held = self.held.get(symbol)
            if held is not None and not self.store.renew(symbol, self.runner, held.token, self.ttl_ms):
                self.held.pop(symbol, None)
                lost.append(symbol)
        return tuple(lost)

    def holds(self, symbol: Symbol) -> bool:
        return symbol in self.held

    def trading(self, symbol: Symbol) -> bool:
        """May this runner enter on ``symbol`` now (held, reconciled, protected)?"""
        held = self.held.get(symbol)
        return held is not None and held.stage is TakeoverStage.TRADING

    def token(self, symbol: Symbol) -> int | None:
        held = self.held.get(symbol)
        return held.token if held is not None else None

    def advance(self, symbol: Symbol, *, reconciled: bool, unprotected: int) -> TakeoverStage | None:
        held = self.held.get(symbol)
        if held is None:
            return None
        stage = next_stage(held.stage, reconciled=reconciled, unprotected=unprotected)
        self.held[symbol] = Held(held.token, stage)
        return stage

    def check_write(self, symbol: Symbol) -> FenceAnswer:
        """The fence, right before an order-side write on ``symbol``. A refusal drops the symbol for good
        (until a later round acquires it again under a new token)."""
        held = self.held.get(symbol)
        if held is None:
            self.refused += 1
            return FenceAnswer(ok=False)
        answer = self.store.fence(symbol, self.runner, held.token)
        if not answer.ok:
            self.refused += 1
            self.held.pop(symbol, None)
        return answer

    def release_all(self) -> None:
        """A clean stop gives the symbols back at once (a crash leaves them to expire)."""
        for symbol, held in list(self.held.items()):
            self.store.release(symbol, self.runner, held.token)
            self.held.pop(symbol)
