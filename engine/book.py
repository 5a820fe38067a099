"""The agent's book for one decision (``core.book.BookView``), built in one place from the typed views the
tools return: the safety service's ``PortfolioView`` (``get_portfolio``), the learner's evidence (the
posteriors ``get_learner_weights`` samples from) and the last few decisions.

:class:`DecisionLog` keeps those last decisions as one line each; a restarted engine reads them back from
the store's journal once, at its first decision.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from agent.records import DECISION_EVENT
from core.book import BookView, DecisionLine, LearnerView
from core.portfolio import PortfolioView
from core.ports import Store
from core.types import DecisionRecord, ToolCallRecord
from tools.registry import SIDE_EFFECT_TOOLS, ToolName

RECENT_DECISIONS = 5
_JOURNAL_TAIL = 400
"""Journal events read back at a restart to find the last decisions (decisions are a few of every ten)."""


@dataclass
class DecisionLog:
    """The last :data:`RECENT_DECISIONS` decisions, oldest first."""

    lines: deque[DecisionLine] = field(default_factory=lambda: deque(maxlen=RECENT_DECISIONS))
    seeded: bool = False

    def seed(self, store: Store) -> None:
        """Once: the decisions the store's journal already holds (a restart keeps the agent's recent past)."""
        if self.seeded:
            return
        self.seeded = True
        events = [e for e in store.tail_journal(_JOURNAL_TAIL) if e.kind == DECISION_EVENT]
        for event in events[-RECENT_DECISIONS:]:
            self.lines.append(decision_line(DecisionRecord.model_validate(event.payload)))

    def add(self, record: DecisionRecord) -> None:
        self.lines.append(decision_line(record))

    @property
    def recent(self) -> tuple[DecisionLine, ...]:
        return tuple(self.lines)


def decision_line(record: DecisionRecord) -> DecisionLine:
    """``record`` in one line: each action with its outcome (or veto), then the next check."""
    actions = [_call_text(call) for call in record.tool_calls if call.name in SIDE_EFFECT_TOOLS]
    if record.next_check_seconds is not None:
        actions.append(f"next check {record.next_check_seconds} s")
    if record.error:
        actions.append(f"error: {record.error[:80]}")
    by = record.backend + (f" (fallback: {record.fallback_reason})" if record.fallback_reason else "")
    return DecisionLine(
        at=record.as_of,
        symbol=record.symbol,
        wake=f"{record.wake.kind.value}: {record.wake.detail[:80]}",
        backend=by,
        outcome="; ".join(actions) if actions else "no action",
    )


def _call_text(call: ToolCallRecord) -> str:
    args = call.arguments
    if call.name == ToolName.PLACE_ORDER:
        side, size, stop = args.get("side", "?"), args.get("size_pct", "?"), args.get("stop_loss_price", "?")
        what = f"place_order {side} {size}% stop {stop}"
    elif call.name == ToolName.CLOSE_POSITION:
        what = f"close_position {args.get('fraction', '?')}"
    else:
        what = f"adjust_stop {args.get('stop_price', '?')}"
    if call.veto is not None:
        return f"{what} (vetoed: {call.veto.code})"
    if call.is_error:
        return f"{what} (refused)"
    execution = call.result.get("execution") if isinstance(call.result, dict) else None
    status = execution.get("status", "ok") if isinstance(execution, dict) else "ok"
    return f"{what} ({status})"


def book_view(portfolio: PortfolioView, learner: LearnerView | None, log: DecisionLog) -> BookView:
    """The book from its three typed parts."""
    return BookView(portfolio=portfolio, learner=learner, recent_decisions=log.recent)
