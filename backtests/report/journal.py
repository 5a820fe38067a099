"""What a run's store recorded, read in one pass: decisions, stop levels, the memory note and the learner.

The journal of a year of 1h candles holds ~100k events, most of them decisions; reading it once and
sorting events by kind is what keeps the report and the dashboard's run page quick. Decisions become timeline
lines straight from their payloads (``timeline.journaled_line``: the engine wrote them from a validated
``DecisionRecord``, so they are not validated again); the memory history and the learner's posteriors come from
their own readers (``engine.inspection.memory_history``, ``learning.persistence``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from agent.records import DECISION_EVENT
from backtests.report.timeline import DecisionLine, journaled_line, listed
from core.errors import OperationalError
from core.ports import JournalEvent, Store
from core.settings import LearnerSettings
from engine.inspection import memory_history
from learning.persistence import load as load_learner
from learning.weights import SignalPosterior, posteriors, scope_label
from store.sqlite_store import SqliteStore

_PAGE = 2_000
MEMORY_VERSIONS = 200
"""The memory timeline shows at most this many versions (the latest)."""


@dataclass(frozen=True, slots=True)
class StopChange:
    """The protective stop of ``position_id`` moved to ``stop_price`` at ``at``; ``None`` once it closed."""

    at: datetime
    position_id: str
    stop_price: Decimal | None


@dataclass(frozen=True, slots=True)
class LearnerScope:
    """The posteriors of one scope (``global`` or a regime) and how many trades it has seen."""

    scope: str
    trades: int
    posteriors: tuple[SignalPosterior, ...]


@dataclass
class RunJournal:
    decisions: list[DecisionLine] = field(default_factory=list)
    stops: list[StopChange] = field(default_factory=list)
    blocked_wakes: list[tuple[datetime, str]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    learner: list[LearnerScope] = field(default_factory=list)

    def add(self, event: JournalEvent) -> None:
        """File one journal event under what it tells (the rest is not shown)."""
        payload = event.payload
        if event.kind == DECISION_EVENT:
            self.decisions.append(journaled_line(event.seq, payload))
        elif event.kind == "position.opened":
            position = payload["position"]
            self.stops.append(StopChange(event.at, position["id"], Decimal(position["stop_price"])))
        elif event.kind == "guard.order_placed" and payload["order"].get("type") == "stop_market":
            self.stops.append(StopChange(event.at, payload["position_id"], Decimal(payload["order"]["stop_price"])))
        elif event.kind == "position.closed":
            self.stops.append(StopChange(event.at, payload["position_id"], None))
        elif event.kind == "wake.blocked":
            self.blocked_wakes.append((event.at, str(payload.get("reason", ""))))


FILED = frozenset({DECISION_EVENT, "position.opened", "guard.order_placed", "position.closed", "wake.blocked"})
"""The journal kinds ``RunJournal.add`` files (a SQLite store is asked for these only)."""


OUTLINE = tuple(f"$.tool_calls[{i}].result" for i in range(16))
"""What a decision read in outline leaves out: its first 16 tool calls' results (a later call keeps its own)."""


def read_run_journal(store: Store, learner: LearnerSettings, *, quiet_lines: int | None = None) -> RunJournal:
    """Everything the report shows from ``store``, in one pass over its journal. With ``quiet_lines`` (a report's
    cap) and a SQLite store, the decisions ``listed`` leaves out are read in outline, without their tool results
    (most of a decision's payload: the portfolio view ...): SQLite drops them before they are decoded."""
    journal = RunJournal()
    outlined = quiet_lines is not None and isinstance(store, SqliteStore)
    kinds = FILED - {DECISION_EVENT} if outlined else FILED
    after = 0
    while page := _page(store, kinds, after):
        for event in page:
            journal.add(event)
        after = page[-1].seq
    if quiet_lines is not None and isinstance(store, SqliteStore):
        journal.decisions = _outlined_decisions(store, quiet_lines)
    journal.memory = memory_history(store, MEMORY_VERSIONS)
    journal.learner = learner_scopes(store, learner)
    return journal


def _page(store: Store, kinds: frozenset[str], after: int) -> list[JournalEvent]:
    if isinstance(store, SqliteStore):
        return store.read_journal_kinds(kinds, after_seq=after, limit=_PAGE)
    return store.read_journal(after_seq=after, limit=_PAGE)


def _outlined_decisions(store: SqliteStore, quiet_lines: int) -> list[DecisionLine]:
    """Every decision in outline, then those ``listed`` shows read again in full."""
    lines: list[DecisionLine] = []
    while page := store.read_journal_outlines(DECISION_EVENT, OUTLINE, lines[-1].seq if lines else 0, _PAGE):
        lines.extend(journaled_line(seq, payload, detailed=False) for seq, payload in page)
    shown = {line.seq for line in listed(lines, quiet_lines)[0]}
    start = 0
    while start < len(lines):  # each run of consecutive shown decisions in one query per page
        if lines[start].seq not in shown:
            start += 1
            continue
        end = start
        while end < len(lines) and lines[end].seq in shown and end - start < _PAGE:
            end += 1
        events = store.read_journal_kinds({DECISION_EVENT}, after_seq=lines[start].seq - 1, limit=end - start)
        if [event.seq for event in events] != [line.seq for line in lines[start:end]]:
            raise OperationalError(f"the journal of {store.path} changed while its report was read")
        lines[start:end] = [journaled_line(event.seq, event.payload) for event in events]
        start = end
    return lines


def learner_scopes(store: Store, settings: LearnerSettings) -> list[LearnerScope]:
    """The global posteriors, then every regime's own (no fallback), busiest regime first."""
    state, _ = load_learner(store)
    regimes = sorted(state.regimes, key=lambda r: (-state.scope(r).trades, r))
    return [
        LearnerScope(scope_label(regime), state.scope(regime).trades, posteriors(state, regime, settings))
        for regime in (None, *regimes)
    ]
