"""The decision timeline: one line per wake (why it woke -> what the agent did, or the veto), with the
reasoning, tool calls and results, memory update, tokens and cost behind it. Pure, over decision records.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.types import DecisionRecord
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
    calls: tuple[dict[str, Any], ...] = field(hash=False, repr=False)
    """The tool calls as journaled (``ToolCallRecord``'s JSON form); ``tools`` formats them when shown."""
    vetoes: tuple[tuple[str, str], ...]
    """``(code, message)`` of each vetoed call, in order."""
    tokens_in: int
    tokens_out: int
    cache_read: int
    cost_usd: float
    latency_ms: int
    error: str | None
    detailed: bool = True
    """``False`` for a line read in outline (``journaled_line``): its tool calls have no results, ``tools`` raises."""

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def tools(self) -> tuple[ToolLine, ...]:
        """The tool calls for people, arguments and results cut: formatted when a page shows the line, not when
        it is read (a long run's report lists a few thousand of its tens of thousands of decisions)."""
        if not self.detailed:
            raise ValueError(f"decision #{self.seq} was read in outline, without its tool results")
        cut = QUIET_RESULT_CHARS if self.kind == "quiet" else RESULT_CHARS
        return tuple(_tool_line(call, cut) for call in self.calls)


@dataclass(frozen=True, slots=True)
class VetoRow:
    code: str
    count: int
    last_message: str
    first_at: datetime
    last_at: datetime


DECISION_FIELDS = frozenset(DecisionRecord.model_fields)


def decision_line(seq: int, record: DecisionRecord) -> DecisionLine:
    return journaled_line(seq, record.model_dump())


def journaled_line(seq: int, payload: dict[str, Any], *, detailed: bool = True) -> DecisionLine:
    """The line of a decision from its journaled payload (``DecisionRecord.model_dump(mode="json")``, as the
    journal holds it, or the Python form of ``model_dump()``): read as it is, not validated again. A payload
    with other keys than ``DecisionRecord``'s (not one the engine wrote) is validated by the model first.

    ``detailed=False``: an outline, the payload without (some of) its tool calls' results. Everything but ``tools``
    is the full line's for a line that stays an outline in a report (``listed`` leaves it out): a quiet line, whose
    action reads no result (only a side effect's does, and a line with one is listed)."""
    if detailed and payload.keys() != DECISION_FIELDS:
        payload = DecisionRecord.model_validate(payload).model_dump()
    usage, wake, calls = payload["usage"], payload["wake"], tuple(payload["tool_calls"])
    as_of = payload["as_of"]
    return DecisionLine(
        seq=seq,
        at=as_of if isinstance(as_of, datetime) else datetime.fromisoformat(as_of),
        wake=str(wake["kind"]),
        wake_detail=wake["detail"],
        action=_action(payload, calls),
        kind=_kind(payload, calls),
        backend=payload["backend"],
        model=payload["model"],
        fallback=payload["fallback_reason"],
        reasoning=payload["reasoning"],
        memory_update=payload["memory_update"],
        next_check_seconds=payload["next_check_seconds"],
        wake_conditions=tuple(_condition_text(c) for c in payload["wake_conditions"]),
        calls=calls,
        vetoes=tuple((c["veto"]["code"], c["veto"]["message"]) for c in calls if c["veto"] is not None),
        tokens_in=usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"],
        tokens_out=usage["output_tokens"],
        cache_read=usage["cache_read_input_tokens"],
        cost_usd=usage["cost_usd"],
        latency_ms=payload["latency_ms"],
        error=payload["error"],
        detailed=detailed,
    )


def listed(lines: list[DecisionLine], quiet_lines: int) -> tuple[list[DecisionLine], int]:
    """The lines a report lists, in order: every one that acted and the latest ``quiet_lines`` quiet ones; and how
    many quiet ones it leaves out (the oldest)."""
    quiet = [d.seq for d in lines if d.kind == "quiet" and d.memory_update is None]
    if len(quiet) <= quiet_lines:
        return lines, 0
    first_kept = quiet[-quiet_lines]
    shown = [d for d in lines if d.kind != "quiet" or d.memory_update is not None or d.seq >= first_kept]
    return shown, len(lines) - len(shown)


def veto_rows(lines: list[DecisionLine]) -> list[VetoRow]:
    """Vetoes by code, most frequent first, with the latest message the agent was given."""
    counts: Counter[str] = Counter()
    last: dict[str, tuple[datetime, str]] = {}
    first: dict[str, datetime] = {}
    for line in lines:
        for code, message in line.vetoes:
            counts[code] += 1
            first.setdefault(code, line.at)
            last[code] = (line.at, message)
    return [VetoRow(code, n, last[code][1], first[code], last[code][0]) for code, n in counts.most_common()]


Call = dict[str, Any]
"""A tool call as journaled: ``ToolCallRecord``'s fields (``veto`` a dict or ``None``)."""


def _side_effects(calls: tuple[Call, ...]) -> list[Call]:
    return [c for c in calls if c["name"] in SIDE_EFFECT_TOOLS]


def _kind(payload: dict[str, Any], calls: tuple[Call, ...]) -> str:
    effects = _side_effects(calls)
    if any(c["veto"] is None and not c["is_error"] for c in effects):
        return "trade"
    if any(c["veto"] is not None for c in effects):
        return "veto"
    if payload["error"] or any(c["is_error"] for c in calls):
        return "error"
    return "quiet"


def _action(payload: dict[str, Any], calls: tuple[Call, ...]) -> str:
    parts = [_effect_text(call) for call in _side_effects(calls)]
    if payload["memory_update"] is not None:
        parts.append("memory updated")
    if not parts:
        parts.append("no trade")
    if payload["error"]:
        parts.append(f"error: {payload['error'].split(':', 1)[0]}")
    return "; ".join(parts)


def _effect_text(call: Call) -> str:
    args, name, veto = call["arguments"], call["name"], call["veto"]
    if name == "place_order":
        what = f"{args.get('side', '?')} {_short_number(args.get('size_pct'))} %"
        what += f" @ {args.get('order_type', 'market')}"
    elif name == "close_position":
        fraction = args.get("fraction", 1)
        what = "close" if fraction in (1, 1.0) else f"close {_short_number(float(fraction) * 100)} %"
    else:
        what = f"stop -> {args.get('stop_price', '?')}"
    if veto is not None:
        return f"{what}: vetoed {veto['code']}"
    if call["is_error"]:
        return f"{what}: refused"
    capped = _approved(call).get("capped_from")
    return f"{what} (capped by safety)" if capped is not None else what


def _approved(call: Call) -> dict[str, Any]:
    result = call.get("result")  # an outline's call has none
    approved = result.get("approved") if isinstance(result, dict) else None
    return approved if isinstance(approved, dict) else {}


def _short_number(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{value:g}"
    return str(value)


def _tool_line(call: Call, cut: int) -> ToolLine:
    veto = call["veto"]
    return ToolLine(
        name=call["name"],
        arguments=_compact(call["arguments"], RESULT_CHARS),
        result=_compact(call["result"], cut),
        status=f"vetoed {veto['code']}" if veto is not None else ("error" if call["is_error"] else "ok"),
        veto_message=veto["message"] if veto is not None else None,
    )


def _compact(value: object, cut: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= cut else text[: cut - 1] + "…"


def _condition_text(condition: dict[str, Any]) -> str:
    kind = condition.get("kind", "?")
    details = ", ".join(f"{k}={v}" for k, v in sorted(condition.items()) if k not in ("kind", "note") and v is not None)
    note = condition.get("note")
    return f"{kind} ({details})" + (f": {note}" if note else "")
