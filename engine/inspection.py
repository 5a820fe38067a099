"""Read a run back from its store: decisions (with tool calls, vetoes, reasoning, cost) and memory history.

Pure reads over the ``Store`` port, so a backtest's run store and a live store read the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.memory import AgentMemory
from agent.records import DECISION_EVENT
from core.ports import Store
from core.types import DecisionRecord

_PAGE = 2_000


@dataclass(frozen=True)
class DecisionFilter:
    vetoed_only: bool = False
    tool: str | None = None
    limit: int | None = None
    start: datetime | None = None
    """Decisions at or after this time (inclusive), like ``backtest --from``."""
    end: datetime | None = None
    """Decisions before this time (exclusive), like ``backtest --to``."""
    entries_only: bool = False
    """Only decisions whose order to open or add to a position went through (not vetoed, not refused)."""

    def keeps(self, record: DecisionRecord) -> bool:
        if self.start is not None and record.as_of < self.start:
            return False
        if self.end is not None and record.as_of >= self.end:
            return False
        if self.entries_only and not entered(record):
            return False
        if self.vetoed_only and not any(call.veto is not None for call in record.tool_calls):
            return False
        return self.tool is None or any(call.name == self.tool for call in record.tool_calls)


def entered(record: DecisionRecord) -> bool:
    """The decision placed an order that went through (an entry or an add)."""
    return any(c.name == "place_order" and c.veto is None and not c.is_error for c in record.tool_calls)


def iter_journal(store: Store, kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(seq, payload)`` of every journal event of ``kind``, oldest first, read page by page."""
    after = 0
    while True:
        page = store.read_journal(after_seq=after, limit=_PAGE)
        if not page:
            return
        for event in page:
            if event.kind == kind:
                yield event.seq, event.payload
        after = page[-1].seq


def decisions(store: Store, keep: DecisionFilter = DecisionFilter()) -> list[tuple[int, DecisionRecord]]:
    """The run's decisions that pass ``keep``; with a limit, the latest ``limit`` of them."""
    return matching_decisions(store, keep)[0]


def matching_decisions(store: Store, keep: DecisionFilter) -> tuple[list[tuple[int, DecisionRecord]], int]:
    """The decisions ``decisions`` returns and how many matched before the limit (to say what was left out)."""
    chosen = [
        (seq, record)
        for seq, payload in iter_journal(store, DECISION_EVENT)
        if keep.keeps(record := DecisionRecord.model_validate(payload))
    ]
    return (chosen[-keep.limit :] if keep.limit else chosen), len(chosen)


def decision_json(seq: int, record: DecisionRecord) -> dict[str, Any]:
    return {"journal_seq": seq, **record.model_dump(mode="json")}


def decision_lines(seq: int, record: DecisionRecord) -> list[str]:
    """A human-readable block for one decision."""
    usage = record.usage
    head = f"#{seq} {record.as_of.isoformat()} {record.symbol} wake={record.wake.kind.value} ({record.wake.detail})"
    lines = [
        head,
        f"  backend={record.backend}" + (f" model={record.model}" if record.model else "")
        + (f" fallback={record.fallback_reason}" if record.fallback_reason else ""),
        f"  tokens in={usage.input_tokens} out={usage.output_tokens} cache_read={usage.cache_read_input_tokens}"
        f" cost=${usage.cost_usd:.4f} latency={record.latency_ms} ms",
    ]
    for call in record.tool_calls:
        status = f"VETOED {call.veto.code}: {call.veto.message}" if call.veto else ("error" if call.is_error else "ok")
        lines.append(f"  - {call.name}({_short(call.arguments)}) -> {status}")
        if call.veto is None:
            lines.append(f"      {_short(call.result)}")
    if record.reasoning:
        lines.append(f"  reasoning: {record.reasoning}")
    if record.error:
        lines.append(f"  error: {record.error}")
    return lines


def memory_history(store: Store, limit: int) -> list[dict[str, Any]]:
    history = AgentMemory(max_chars=1, store=store).history(limit)
    return [
        {
            "version": note.version,
            "updated_at": note.updated_at.isoformat() if note.updated_at else None,
            "redacted": note.redacted,
            "text": note.text,
        }
        for note in history
    ]


def _short(value: object, width: int = 160) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."
