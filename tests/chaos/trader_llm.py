"""A Messages server that trades: the local Messages server (``benchmarks/llmsim``) answering every
agent turn from the venue's state instead of a fixed script, so the anthropic backend can run a chaos test of any
length through the real SDK.

A decision is two turns: flat at the venue, the first turn places a market long with a stop 0.25 % under the venue's
last price (a position the guard must protect, a tool call a kill can land in); holding one, it reads the portfolio.
The second turn (after the tool results) schedules the next check, which ends the decision.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from benchmarks.llmsim import MessagesServer, Reply
from tests.chaos.processes import VenueProcess

ANY_TURN = Reply(kind="message", stop_reason="tool_use")
STOP_DISTANCE = Decimal("0.9975")


class TradingMessages(MessagesServer):
    """Scripted replies first (if any), then turns decided from the venue's state."""

    def __init__(self, venue: VenueProcess) -> None:
        super().__init__()
        self.venue = venue
        self.orders_placed = 0

    def next_reply(self) -> Reply | None:
        return super().next_reply() or ANY_TURN

    def message_body(self, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
        if reply is ANY_TURN:
            reply = Reply(kind="message", content=(self._turn(request),), stop_reason="tool_use")
        return super().message_body(reply, request)

    def _turn(self, request: dict[str, Any]) -> dict[str, Any]:
        if _answers_tools(request):
            return _call("schedule_next_check", {"seconds": 300, "wake_conditions": []})
        state = self.venue.state()
        if any(Decimal(p["quantity"]) > 0 for p in state["positions"]):
            return _call("get_portfolio", {})
        last = Decimal(next(iter(state["last_prices"].values())))
        self.orders_placed += 1
        return _call(
            "place_order",
            {
                "side": "long",
                "size_pct": 10,
                "order_type": "market",
                "stop_loss_price": float((last * STOP_DISTANCE).quantize(Decimal("0.1"), rounding=ROUND_DOWN)),
                "signals": ["trend_follow"],
                "confidence": 0.6,
                "thesis": "chaos: a position the guard must protect",
            },
        )


def _answers_tools(request: dict[str, Any]) -> bool:
    messages = request.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return False
    content = messages[-1].get("content")
    return isinstance(content, list) and any(block.get("type") == "tool_result" for block in content)


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": "", "name": name, "input": arguments}
