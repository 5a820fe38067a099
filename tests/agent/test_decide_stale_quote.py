"""Issue 22 item 6: ``tradewake decide`` approved an entry on data 60 days old, because the price it gave the
engine was stamped with ``--at`` instead of the close time of the candle it came from. The quote is now as
old as the data, so the veto's staleness limit (``risk.stale_data_s``, 600 s) applies as it does live."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from benchmarks.llmsim import MessagesServer, tool_use
from core.settings import load_settings
from engine.decide import one_decision
from engine.decide_cli import parse_time
from tests.agent.conftest import llm_settings
from tools.snapshots import snapshot_builder

DATA = "binance_BTC-USDT_1h.csv.gz"  # bundled real candles; the last one closes 2025-10-14T13:00Z
LAST_CLOSE = "2025-10-14T13:00:00Z"
ORDER = {"side": "long", "size_pct": 5, "order_type": "market", "stop_loss_price": 108_000,
         "signals": ["trend_follow"], "confidence": 0.55, "thesis": "trend intact"}
SCHEDULE = ("schedule_next_check", {"seconds": 3600, "wake_conditions": []})


async def decide_at(server: MessagesServer, at: str) -> tuple[str | None, str]:
    """One anthropic decision that places ``ORDER`` at ``at``: the veto code (``None`` when approved), the
    message the model read."""
    server.script(tool_use(("place_order", ORDER)), tool_use(SCHEDULE))
    base = load_settings(None)
    settings = base.model_copy(update={"llm": llm_settings(server)})
    outcome = await one_decision(settings, snapshot_builder(DATA), parse_time(at), Decimal(10_000), None)
    call = outcome.decision.tool_calls[0]
    assert call.name == "place_order"
    return (call.veto.code if call.veto else None), str(call.result)


async def test_an_entry_on_data_sixty_days_old_is_vetoed_as_stale(server: MessagesServer) -> None:
    sixty_days_on = (parse_time(LAST_CLOSE) + timedelta(days=60)).isoformat()
    code, message = await decide_at(server, sixty_days_on)
    assert code == "stale_data", message
    assert f"{60 * 24 * 3600}s old" in message


async def test_the_limit_is_the_same_as_live(server: MessagesServer) -> None:
    """At the last close the price is fresh; ten minutes on it is exactly at the limit (still allowed);
    one second more and it is stale."""
    fresh, _ = await decide_at(server, LAST_CLOSE)
    at_limit, _ = await decide_at(server, "2025-10-14T13:10:00Z")
    past_limit, message = await decide_at(server, "2025-10-14T13:10:01Z")
    assert fresh is None and at_limit is None
    assert past_limit == "stale_data" and "601s old" in message
