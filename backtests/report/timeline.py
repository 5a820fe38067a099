"""The decision timeline: one line per wake (why it woke -> what the agent did, or the veto), with the
reasoning, tool calls and results, memory update, tokens and cost behind it. Pure, over decision records.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.types import DecisionRecord, ToolCallRecord
from tools.registry import SIDE_EFFECT_TOOLS

RESULT_CHARS = 600
"""A tool result longer than this is cut in the timeline (``tradewake decisions RUN --json`` has all of it)."""
QUIET_RESULT_CHARS = 200
"""The cut for a decision that only looked (most wakes): keeps a long run's report small."""


@dataclass(frozen=True, slots=True)
class ToolLine:
    name: str
    arguments: str
    result: str
    status: str
    """``ok``, ``error`` or ``vetoed CODE``."""
    veto_message: str | None


@dataclass(frozen=True, slots=True)
class DecisionLine:
    seq: int
    at: datetime
    wake: str
    wake_detail: str
    action: str
    """What came of it, in a few words: ``long 10 % @ market``, ``vetoed max_position``, ``no trade``."""
    kind: str
    """``trade`` (a side effect went through), ``veto``, ``error`` or ``quiet`` (looked, did nothing)."""
    backend: str
    model: str | None
    fallback: str | None
    reasoning: str
    memory_update: str | None
    next_check_seconds: int | None
    wake_conditions: tuple[str, ...]
    tools: tuple[ToolLine, ...]
    tokens_in: int
    tokens_out: int
    cache_read: int
    cost_usd: float
    latency_ms: int
    error: str | None

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


@dataclass(frozen=True, slots=True)
class VetoRow:
    code: str
    count: int
    last_message: str
    first_at: datetime
    last_at: datetime


def decision_line(seq: int, record: DecisionRecord) -> DecisionLine:
    usage = record.usage
    kind = _kind(record)
    cut = QUIET_RESULT_CHARS if kind == "quiet" else RESULT_CHARS
    return DecisionLine(
        seq=seq,
        at=record.as_of,
        wake=record.wake.kind.value,
        wake_detail=record.wake.detail,
        action=_action(record),
        kind=kind,
        backend=record.backend,
        model=record.model,
        fallback=record.fallback_reason,
        reasoning=record.reasoning,
        memory_update=record.memory_update,
        next_check_seconds=record.next_check_seconds,
        wake_conditions=tuple(_condition_text(c) for c in record.wake_conditions),
        tools=tuple(_tool_line(call, cut) for call in record.tool_calls),
        tokens_in=usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens,
        tokens_out=usage.output_tokens,
        cache_read=usage.cache_read_input_tokens,
        cost_usd=usage.cost_usd,
        latency_ms=record.latency_ms,
        error=record.error,
    )


def veto_rows(records: list[tuple[int, DecisionRecord]]) -> list[VetoRow]:
    """Vetoes by code, most frequent first, with the latest message the agent was given."""
    counts: Counter[str] = Counter()
    last: dict[str, tuple[datetime, str]] = {}
    first: dict[str, datetime] = {}
    for _, record in records:
        for call in record.tool_calls:
            if call.veto is None:
                continue
            counts[call.veto.code] += 1
            first.setdefault(call.veto.code, record.as_of)
            last[call.veto.code] = (record.as_of, call.veto.message)
    return [VetoRow(code, n, last[code][1], first[code], last[code][0]) for code, n in counts.most_common()]


def _side_effects(record: DecisionRecord) -> list[ToolCallRecord]:
    return [c for c in record.tool_calls if c.name in SIDE_EFFECT_TOOLS]


def _kind(record: DecisionRecord) -> str:
    effects = _side_effects(record)
    if any(c.veto is None and not c.is_error for c in effects):
        return "trade"
    if any(c.veto is not None for c in effects):
        return "veto"
    if record.error or any(c.is_error for c in record.tool_calls):
        return "error"
    return "quiet"


def _action(record: DecisionRecord) -> str:
    parts = [_effect_text(call) for call in _side_effects(record)]
    if record.memory_update is not None:
        parts.append("memory updated")
    if not parts:
        parts.append("no trade")
    if record.error:
        parts.append(f"error: {record.error.split(':', 1)[0]}")
    return "; ".join(parts)


def _effect_text(call: ToolCallRecord) -> str:
    args = call.arguments
    if call.name == "place_order":
        what = f"{args.get('side', '?')} {_short_number(args.get('size_pct'))} %"
        what += f" @ {args.get('order_type', 'market')}"
    elif call.name == "close_position":
        fraction = args.get("fraction", 1)
        what = "close" if fraction in (1, 1.0) else f"close {_short_number(float(fraction) * 100)} %"
    else:
        what = f"stop -> {args.get('stop_price', '?')}"
    if call.veto is not None:
        return f"{what}: vetoed {call.veto.code}"
    if call.is_error:
        return f"{what}: refused"
    capped = _approved(call).get("capped_from")
    return f"{what} (capped by safety)" if capped is not None else what


def _approved(call: ToolCallRecord) -> dict[str, Any]:
    approved = call.result.get("approved") if isinstance(call.result, dict) else None
    return approved if isinstance(approved, dict) else {}


def _short_number(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{value:g}"
    return str(value)


def _tool_line(call: ToolCallRecord, cut: int) -> ToolLine:
    status = f"vetoed {call.veto.code}" if call.veto else ("error" if call.is_error else "ok")
    return ToolLine(
        name=call.name,
        arguments=_compact(call.arguments, RESULT_CHARS),
        result=_compact(call.result, cut),
        status=status,
        veto_message=call.veto.message if call.veto else None,
    )


def _compact(value: object, cut: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= cut else text[: cut - 1] + "…"


def _condition_text(condition: dict[str, Any]) -> str:
    kind = condition.get("kind", "?")
    details = ", ".join(f"{k}={v}" for k, v in sorted(condition.items()) if k not in ("kind", "note") and v is not None)
    note = condition.get("note")
    return f"{kind} ({details})" + (f": {note}" if note else "")
