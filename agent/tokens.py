"""Tokens per decision for the prompt and tools as built: ``python -m agent.tokens [CANDLES] [AT]``.

Computed with the documented estimator of :mod:`agent.prompting` (ceil(characters / 3.5), plus the
346 tokens the API adds when tools are given): no network, no tokenizer. A count_tokens call against
the local test server returns the same estimator, so it cannot measure anything more; against the
real API the numbers will differ by the tokenizer's real ratio (typically lower for prose).

The typical decision modelled: two requests. Request 1 sends the cached prefix (tools + system) and
the user message (wake, book, snapshot, memory); the model answers with one ``place_order``. Request 2
resends everything plus that call and its result; the model answers with ``schedule_next_check``
and two sentences. With the anthropic backend's caching, and the prefix still warm (an earlier decision
within the hour wrote or read it), request 1 reads the prefix and writes the user message (rolling
breakpoint), request 2 reads all of that and writes only the new turn: nothing is sent uncached. A prefix
gone cold (no decision for an hour) is written again once, at the 1-hour price (``prefix_write_when_cold``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from agent.prompting import (
    TOOL_USE_OVERHEAD_TOKENS,
    estimate_request_tokens,
    estimate_tokens,
    prompt_token_budget,
    system_prompt,
    user_message,
)
from agent.signals import last_price
from core.book import BookView, LearnerView, SignalEvidence
from core.canonical import canonical_json
from core.ids import PositionId
from core.portfolio import AccountView, BreakerView, ControlsView, PortfolioView, QuoteView
from core.settings import LLMSettings, RiskSettings
from core.signals import Signal
from core.types import DecisionRequest, ToolCallRecord
from tools.handlers import entry_proposal
from tools.inputs import PlaceOrder
from tools.registry import BY_NAME, ToolName, anthropic_tools
from tools.results import ActionResult, ApprovedView, ExecutionReport
from tools.snapshots import DEFAULT_DATA, market_snapshot, request_for

ORDER = {"side": "long", "size_pct": 10, "order_type": "market", "stop_loss_price": 102000.0,
         "signals": ["trend_follow", "momentum"], "confidence": 0.6, "thesis": "4h uptrend with momentum"}
DEFAULT_AT = datetime(2025, 6, 1, 12, tzinfo=UTC)
CLOSING = "Trend and momentum agree on the 4h; long 10% with the stop under the last swing low."


EQUITY = Decimal(10_000)


def order_result(request: DecisionRequest) -> str:
    """What the model reads back after ``ORDER``: the ``place_order`` result model as the registry turns it
    into JSON, for a fill of 10 % of 10,000 at the snapshot's last price (the values are representative,
    the shape is the real one: ``tradewake decide`` shows a real one)."""
    proposal = entry_proposal(PlaceOrder.model_validate(ORDER), request, "toolu_1")
    price = Decimal(str(last_price(request.snapshot) or 1)).quantize(Decimal("0.01"))
    quantity = (EQUITY * Decimal("0.1") / price).quantize(Decimal("0.00001"), rounding=ROUND_DOWN)
    approved = ApprovedView(
        proposal=proposal, message="approved", position_id=PositionId("p-toolu_1"), quantity=quantity,
        reference_price=price, stop_price=proposal.stop_loss, take_profit_price=None, capped_from=None,
    )
    execution = ExecutionReport(status="filled", symbol=request.symbol, quantity=quantity, price=price,
                                detail=f"position p-toolu_1: position p-toolu_1 open: {quantity} {request.symbol}")
    result = BY_NAME[ToolName.PLACE_ORDER].result_json(ActionResult(execution=execution, approved=approved))
    record = ToolCallRecord(tool_call_id="toolu_1", name=ToolName.PLACE_ORDER, arguments=ORDER, result=result)
    return canonical_json(record.result)


def example_book(request: DecisionRequest, risk: RiskSettings) -> BookView:
    """A flat 10,000 USDT spot account with default limits, a fresh learner and no history: the shape of a
    real first message (``tradewake decide`` shows a real one)."""
    price = Decimal(str(last_price(request.snapshot) or 1)).quantize(Decimal("0.01"))
    zero = Decimal(0)
    account = AccountView(
        quote_asset="USDT", market_type="spot", equity=EQUITY, free_cash=EQUITY, exposure=zero, exposure_pct=0.0,
        max_total_exposure_pct=risk.max_total_exposure_pct, max_position_pct=risk.max_position_pct,
        leverage_in_use=None, max_leverage=None, day_start_equity=EQUITY, realized_pnl_today=zero, pnl_today=zero,
        daily_loss_used_pct=0.0, daily_loss_limit_pct=risk.daily_loss_limit_pct, orders_today=0,
        max_orders_per_day=risk.max_orders_per_day, trades_today=0, max_trades_per_day=risk.max_trades_per_day,
        consecutive_losses=0, max_consecutive_losses=risk.max_consecutive_losses,
    )
    breakers = tuple(BreakerView(name=name, state="closed", detail="ok", until=None)
                     for name in ("trading", "exchange", "persistence", "reconciliation"))
    portfolio = PortfolioView(
        as_of=request.as_of, account=account,
        markets=(QuoteView(symbol=request.symbol, last_price=price, price_at=request.as_of, taker_fee_pct=0.1,
                           maker_fee_pct=0.1, cooldown_remaining_s=0),),
        positions=(), pending_entries=(), breakers=breakers, entries_blocked=None,
        controls=ControlsView(halted=False, halt_reason=None, halted_at=None, sleep_until=None, sleep_reason=None),
        recent_fills=(),
    )
    learner = LearnerView(requested_regime=None, scope="global", scope_trades=0, min_trades=20, enough_data=False,
                          signals=tuple(SignalEvidence(signal=s, mean=0.5, trades=0, wins=0, losses=0) for s in Signal))
    return BookView(portfolio=portfolio, learner=learner)


def decision_tokens(data: str | Path, at: datetime) -> dict[str, int]:
    llm, risk = LLMSettings(), RiskSettings()
    bare = request_for(market_snapshot(data, at))
    request = bare.model_copy(update={"book": example_book(bare, risk)})
    system = system_prompt(risk, llm.memory_max_chars).text
    tools = anthropic_tools()
    prefix = estimate_request_tokens(system, tools, [])
    first: list[dict[str, Any]] = [{"role": "user", "content": user_message(request, "watch 106k resistance")}]
    call = {"type": "tool_use", "id": "toolu_1", "name": ToolName.PLACE_ORDER.value, "input": ORDER}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": order_result(request)}
    second = [*first, {"role": "assistant", "content": [call]}, {"role": "user", "content": [result]}]
    out_1 = estimate_tokens(json.dumps(call))
    schedule = {"seconds": 14400, "wake_conditions": []}
    final = {"type": "tool_use", "name": ToolName.SCHEDULE_NEXT_CHECK.value, "input": schedule}
    out_2 = estimate_tokens(CLOSING) + estimate_tokens(json.dumps(final))
    in_1 = estimate_request_tokens(system, tools, first) - prefix
    in_2 = estimate_request_tokens(system, tools, second) - prefix
    return {
        "cached_prefix_tokens": prefix,
        "request_1_new_tokens": in_1,
        "request_2_new_tokens": in_2 - in_1,
        "decision_input_uncached": 0,
        "decision_cache_write": in_2,
        "decision_cache_read": prefix + (prefix + in_1),
        "prefix_write_when_cold": prefix,
        "decision_output": out_1 + out_2,
        "decision_input_without_cache": 2 * prefix + in_1 + in_2,
    }


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    data = args[0] if args else DEFAULT_DATA
    at = datetime.fromisoformat(args[1]) if len(args) > 1 else DEFAULT_AT
    budget = prompt_token_budget(RiskSettings(), LLMSettings().memory_max_chars)
    print(f"estimator: ceil(chars / 3.5) per text, + {TOOL_USE_OVERHEAD_TOKENS} tool-use system tokens")
    for key, value in {**budget, **decision_tokens(data, at)}.items():
        print(f"{key:32} {value:>7}")


if __name__ == "__main__":
    main()
