"""A backtest's journal sink: the read-only tools' calls are recorded once, in the decision, not twice.

Every tool call a decision makes is in its ``decision`` event (``DecisionRecord.tool_calls``: name, arguments,
result, veto). The choke point also journals each call as ``tool_call`` and ``tool_result`` events, which a live
run keeps: an audit trail written as the call happens, before the decision ends (a crash in between leaves it).
A backtest is never recovered, only rerun, and nothing reads those events of a read-only tool there (the report
reads decisions, positions, orders and blocked wakes): they are the same values journaled a second time, with a
hash-chain link each, on every wake. This sink leaves them out. A side-effecting call (``place_order``, ...), a
veto, an error and ``schedule_next_check``/``update_memory`` are journaled as live.
"""

from __future__ import annotations

from typing import Any

from tools.context import StoreJournal
from tools.registry import ToolName

READ_ONLY_TOOLS: frozenset[str] = frozenset(
    {ToolName.GET_MARKET_SNAPSHOT, ToolName.GET_REGIME, ToolName.GET_PORTFOLIO, ToolName.GET_LEARNER_WEIGHTS}
)
"""The tools that only read (no account, schedule or memory change)."""
LEFT_OUT_KINDS = frozenset({"tool_call", "tool_result"})
"""The kinds left out for a read-only tool (its errors are still journaled)."""


class ReplayJournal(StoreJournal):
    """:class:`StoreJournal` without the read-only tools' ``tool_call``/``tool_result`` events."""

    def append(self, kind: str, payload: dict[str, Any]) -> None:
        if kind in LEFT_OUT_KINDS and payload.get("tool") in READ_ONLY_TOOLS:
            return
        super().append(kind, payload)
