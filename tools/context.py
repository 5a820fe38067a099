"""The narrow ports the tools need, and the per-decision state the tools fill in.

The engine implements :class:`TradingDesk` (``engine.desk.EngineDesk``: the market snapshot builder, the
regime tracker, the learner, and the safety service, which owns the veto and the only way to the
broker). ``tradewake decide`` and the tests run that same desk over the simulated exchange. Memory and
scheduling land in the decision record and the engine applies them after the decision
(``memory.update``, ``gate.schedule``); the desk only *checks* a schedule (``check_schedule``) so the
model can correct it within the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.conditions import WakeCondition
from core.ids import Symbol
from core.portfolio import PortfolioView
from core.ports import Clock, NewEvent, Store
from core.types import DecisionRequest, ToolCallRecord, Veto
from learning.weights import LearnerWeights
from market.regime import RegimeReading
from market.snapshot import MarketSnapshot
from safety.proposals import Proposal
from safety.verdicts import Approved
from tools.results import ExecutionReport


class TradingDesk(Protocol):
    """What the tools read and act on, as typed values (the registry turns them into JSON)."""

    async def snapshot(self, symbol: Symbol) -> MarketSnapshot:
        """The market snapshot as of the decision time (never data from after it); ``OrderRejected``
        (``unknown_symbol``) for a market the desk has no data for."""
        ...

    async def regime(self, symbol: Symbol) -> RegimeReading | None:
        """The regime reading the snapshot would carry; ``None`` before a model could be fitted;
        ``OrderRejected`` (``unknown_symbol``) for a market the desk has no data for."""
        ...

    async def portfolio(self) -> PortfolioView:
        """The account as safety sees it (``SafetyService.portfolio_view``)."""
        ...

    async def learner_weights(self, regime: str | None) -> LearnerWeights:
        """The learner's weights for ``regime`` (global when ``None``)."""
        ...

    async def check(self, proposal: Proposal) -> Approved | Veto:
        """``safety.veto.veto`` against current state; a ``Vetoed`` comes back as its core ``Veto``
        (``Vetoed.as_veto()``). No side effects: the PreToolUse hook calls it too."""
        ...

    def check_schedule(self, next_check_seconds: int | None, conditions: Sequence[Mapping[str, Any]]) -> ScheduleCheck:
        """What the gate would arm (``gate.gate.Gate.preview_schedule``): the problems, one line each for the
        model, or the seconds it would apply and its notes (a clamp). No side effects: the engine arms it after
        the decision."""
        ...

    async def execute(self, approved: Approved) -> ExecutionReport:
        """Carry out an approved proposal through safety and the broker.

        Raises ``core.errors.OrderRejected`` when the exchange refuses (reported to the model),
        ``OperationalError`` when a human must look (the decision aborts).
        """
        ...


@dataclass(frozen=True)
class ScheduleCheck:
    """The gate's answer to a schedule: problems (refused as a whole), else the seconds it would apply."""

    problems: tuple[str, ...] = ()
    applied_seconds: int | None = None
    notes: tuple[str, ...] = ()


class JournalSink(Protocol):
    """Where the choke point journals every call, veto and result (the engine: the Store's journal)."""

    def append(self, kind: str, payload: dict[str, Any]) -> None: ...


class StoreJournal:
    """A :class:`JournalSink` over the ``Store`` port: each entry becomes a hash-chained journal event
    stamped by the injected clock (the engine's sink)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        self.store.append(NewEvent(kind=kind, at=self.clock.now(), payload=payload))


@dataclass
class ListJournal:
    """An in-memory journal sink (the ``decide`` command prints it; tests read it)."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, payload))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


@dataclass
class DecisionSession:
    """What one decision's tool calls produced so far; the backend turns it into a ``DecisionRecord``."""

    request: DecisionRequest
    memory_max_chars: int
    secrets: tuple[str, ...] = ()
    calls: list[ToolCallRecord] = field(default_factory=list)
    memory_update: str | None = None
    next_check_seconds: int | None = None
    wake_conditions: tuple[WakeCondition, ...] = ()
    final: bool = False
