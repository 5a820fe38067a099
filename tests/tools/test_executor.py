"""The choke point: validate -> veto -> journal -> handler, with the errors the model can act on."""

from __future__ import annotations

import json
from decimal import Decimal

from core.conditions import MovePct, PriceBelow
from safety.order_ids import position_id_for
from tests.engine_desk import RecordingDesk
from tools.context import ListJournal
from tools.executor import ToolExecutor
from tools.registry import side_effects
from tools.results import PortfolioResult

GOOD_ORDER = {
    "side": "long",
    "size_pct": 10,
    "order_type": "market",
    "stop_loss_price": 49_000,
    "signals": ["trend_follow", "momentum"],
    "confidence": 0.7,
    "thesis": "trend and momentum agree on the 4h",
}


async def test_valid_order_is_vetoed_then_executed_and_journaled(executor: ToolExecutor, desk: RecordingDesk,
                                                                  journal: ListJournal) -> None:
    outcome = await executor.call("place_order", GOOD_ORDER, "c1")
    assert not outcome.is_error
    body = json.loads(outcome.content)
    assert body["execution"]["status"] == "filled"
    assert Decimal(body["execution"]["quantity"]) == Decimal("0.02")
    approved = body["approved"]
    assert approved["proposal"]["stop_loss"] == "49000" and approved["proposal"]["idempotency_key"] == "c1"
    assert approved["proposal"]["regime"] == "bull_quiet"  # from the decision's snapshot
    assert approved["position_id"] == position_id_for("c1") == desk.positions["BTC/USDT"].id
    assert approved["stop_price"] == "49000" and approved["capped_from"] is None and body["safety_notes"] == []
    assert desk.positions["BTC/USDT"].stop_price == Decimal(49_000)
    assert journal.kinds() == ["tool_call", "tool_result"]
    assert journal.events[0][1]["approved"] == approved
    assert desk.checks == 1


async def test_bad_arguments_come_back_as_a_correctable_error(executor: ToolExecutor, desk: RecordingDesk,
                                                              journal: ListJournal) -> None:
    bad = {**GOOD_ORDER, "size_pct": 150, "signals": []}
    del bad["stop_loss_price"]
    outcome = await executor.call("place_order", bad, "c1")
    assert outcome.is_error
    body = json.loads(outcome.content)
    assert body["code"] == "invalid_arguments"
    assert "stop_loss_price: Field required" in body["message"]
    assert "size_pct: Input should be less than or equal to 100" in body["message"]
    assert "signals" in body["message"]
    assert desk.checks == 0 and desk.executed == []
    assert journal.kinds() == ["tool_error"]


async def test_a_vetoed_order_is_never_placed(executor: ToolExecutor, desk: RecordingDesk, journal: ListJournal) -> None:
    outcome = await executor.call("place_order", {**GOOD_ORDER, "stop_loss_price": 49_990}, "c1")
    assert outcome.is_error
    assert outcome.record.veto is not None and outcome.record.veto.code == "stop_too_close"
    assert json.loads(outcome.content)["error"] == "vetoed"
    assert desk.executed == [] and desk.positions == {}
    assert journal.kinds() == ["tool_vetoed"]


async def test_oversize_is_capped_and_the_note_reported(executor: ToolExecutor, desk: RecordingDesk) -> None:
    outcome = await executor.call("place_order", {**GOOD_ORDER, "size_pct": 60}, "c1")
    body = json.loads(outcome.content)
    assert body["approved"]["proposal"]["size_pct"] == 20.0 and body["approved"]["capped_from"] == 60.0
    assert body["safety_notes"] == ["size capped from 60% to 20% of equity"]
    assert "size capped from 60.0% to 20% of equity" in body["approved"]["message"]


async def test_unknown_tool_and_mcp_names(executor: ToolExecutor) -> None:
    unknown = await executor.call("launch_rocket", {}, "c1")
    assert unknown.is_error and "get_portfolio" in json.loads(unknown.content)["message"]
    via_mcp = await executor.call("mcp__trading__get_portfolio", {}, "c2")
    assert not via_mcp.is_error and via_mcp.record.name == "get_portfolio"


async def test_memory_is_scrubbed_and_capped(executor: ToolExecutor, journal: ListJournal) -> None:
    leaky = "watch 52k; key sk-ant-abcdefghijklmnopqrstuv hunter2-secret"
    ok = await executor.call("update_memory", {"text": leaky}, "m1")
    assert not ok.is_error
    assert executor.session.memory_update == "watch 52k; key [redacted] [redacted]"
    # scrubbed at the choke point: the secret is in neither the record nor the journal
    assert "hunter2" not in json.dumps(ok.record.model_dump(mode="json"))
    assert "hunter2" not in json.dumps(journal.events)
    too_long = await executor.call("update_memory", {"text": "x" * 201}, "m2")
    assert too_long.is_error and "cap is 200" in json.loads(too_long.content)["message"]


async def test_schedule_ends_the_decision(executor: ToolExecutor) -> None:
    conditions = [{"kind": "price_below", "price": 48_000}, {"kind": "move_pct", "pct": 2, "direction": "up"}]
    outcome = await executor.call("schedule_next_check", {"seconds": 3600, "wake_conditions": conditions}, "s1")
    assert not outcome.is_error
    assert executor.session.final and executor.session.next_check_seconds == 3600
    below, move = executor.session.wake_conditions
    assert isinstance(below, PriceBelow) and below.price == 48_000
    assert isinstance(move, MovePct) and move.direction == "up" and move.reference_price is None  # armed by the gate


async def test_a_clamped_next_check_is_reported_never_silently_changed(executor: ToolExecutor) -> None:
    short = json.loads((await executor.call("schedule_next_check", {"seconds": 60, "wake_conditions": []}, "s1")).content)
    assert short["requested_seconds"] == 60 and short["next_check_seconds"] == 900 and short["clamped"] is True
    assert short["note"].startswith("next check 60 s raised to the minimum 900 s")
    long = json.loads((await executor.call("schedule_next_check", {"seconds": 86_400, "wake_conditions": []},
                                           "s2")).content)
    assert long["next_check_seconds"] == 14_400 and long["clamped"] is True and "lowered to the maximum" in long["note"]
    fine = json.loads((await executor.call("schedule_next_check", {"seconds": 3600, "wake_conditions": []}, "s3")).content)
    assert fine["next_check_seconds"] == fine["requested_seconds"] == 3600 and fine["clamped"] is False


async def test_the_decisions_own_snapshot_is_not_sent_twice(executor: ToolExecutor) -> None:
    own = json.loads((await executor.call("get_market_snapshot", {}, "g1")).content)
    assert own["snapshot"] is None and "in your first message" in own["note"]
    same = json.loads((await executor.call("get_market_snapshot", {"symbol": "BTC/USDT"}, "g2")).content)
    assert same["snapshot"] is None
    other = await executor.call("get_market_snapshot", {"symbol": "ETH/USDT"}, "g3")
    assert other.is_error and json.loads(other.content)["code"] == "unknown_symbol", "another symbol: asked of the desk"


async def test_a_schedule_the_gate_refuses_comes_back_to_correct(executor: ToolExecutor) -> None:
    crossed = {"kind": "price_above", "price": 49_000}  # already true at 50 000: it could never fire
    wrong_field = {"kind": "volume_z_above", "price": 3}
    unknown_kind = {"kind": "full_moon"}  # strict schemas prevent it; the claude-code backend's may not
    for conditions in ([crossed], [wrong_field], [unknown_kind]):
        outcome = await executor.call("schedule_next_check", {"seconds": 3600, "wake_conditions": conditions}, "s1")
        assert outcome.is_error and json.loads(outcome.content)["code"] == "invalid_arguments"
    assert "already true now (last price 50000" in executor.session.calls[0].result["message"]
    message = executor.session.calls[1].result["message"]
    assert "wake_conditions[0].z: Field required" in message and "wake_conditions[0].price: Extra inputs" in message
    assert "tag 'full_moon'" in executor.session.calls[2].result["message"]
    assert not executor.session.final and executor.session.wake_conditions == ()
    fixed = await executor.call("schedule_next_check", {"seconds": 3600, "wake_conditions": [
        {"kind": "price_above", "price": 51_000}, {"kind": "volume_z_above", "z": 3}]}, "s2")
    assert not fixed.is_error and len(executor.session.wake_conditions) == 2


async def test_precheck_denies_without_running_the_handler(desk: RecordingDesk, executor: ToolExecutor) -> None:
    await desk.hold_long(stop="47000")
    executed = len(desk.executed)
    denied = await executor.precheck("mcp__trading__adjust_stop", {"stop_price": 46_000, "reason": "give room"}, "t1")
    assert denied is not None and denied.record.veto is not None and denied.record.veto.code == "stop_loosening"
    assert executor.session.calls[-1] == denied.record
    assert await executor.precheck("get_portfolio", {}, "t2") is None
    invalid = await executor.precheck("adjust_stop", {"stop_price": "junk"}, "t3")
    assert invalid is not None and json.loads(invalid.content)["code"] == "invalid_arguments"
    unknown = await executor.precheck("Bash", {"command": "ls"}, "t4")
    assert unknown is not None and json.loads(unknown.content)["code"] == "unknown_tool"
    assert len(desk.executed) == executed


async def test_close_and_tighten(desk: RecordingDesk, executor: ToolExecutor) -> None:
    # 0.04 BTC bought at 50 000 (20 % of 10 000); Binance spot takes the 0.1 % fee in BTC: 0.03996 held
    assert (await desk.hold_long(stop="47000")).quantity == Decimal("0.03996")
    tighten = await executor.call("adjust_stop", {"stop_price": 48_500, "reason": "lock in"}, "a1")
    assert not tighten.is_error and desk.positions["BTC/USDT"].stop_price == Decimal(48_500)
    half = await executor.call("close_position", {"fraction": 0.5, "reason": "take half"}, "a2")
    assert Decimal(json.loads(half.content)["execution"]["quantity"]) == Decimal("0.01998")
    assert desk.positions["BTC/USDT"].quantity == Decimal("0.01998")
    rest = await executor.call("close_position", {"fraction": 1, "reason": "thesis broken"}, "a3")
    assert not rest.is_error and desk.positions == {}
    assert side_effects(executor.session.calls) == 3
    reentry = await executor.call("place_order", GOOD_ORDER, "a4")
    assert reentry.record.veto is not None and reentry.record.veto.code == "cooldown"


async def test_non_json_numbers_are_refused_not_crashing(executor: ToolExecutor, desk: RecordingDesk) -> None:
    outcome = await executor.call("place_order", {**GOOD_ORDER, "size_pct": float("nan")}, "n1")
    assert outcome.is_error and "size_pct" in json.loads(outcome.content)["message"]
    assert outcome.record.arguments["size_pct"] == "nan"
    assert desk.executed == []


async def test_an_outcome_carries_the_handlers_model_whose_json_is_the_record(executor: ToolExecutor) -> None:
    """The rules agent reads ``get_portfolio``'s view from ``outcome.value`` instead of validating the record's JSON
    back into a model: the two are the same result."""
    outcome = await executor.call("get_portfolio", {}, "p1")
    assert isinstance(outcome.value, PortfolioResult)
    assert outcome.value.model_dump(mode="json") == outcome.record.result
    assert PortfolioResult.model_validate(outcome.record.result) == outcome.value
    refused = await executor.call("place_order", {**GOOD_ORDER, "stop_loss_price": 49_990}, "p2")
    assert refused.is_error and refused.value is None
