"""Issue 22 items 8 and 9: whatever a model (or a cassette, or a Claude Code CLI that passes numbers as
strings) sends, ``ToolExecutor.call`` answers with a result, never an exception; a malformed call is an
``is_error`` result the model can act on; booleans are not numbers; and a secret written anywhere in a
call, key names and the tool's name included, reaches neither the record, the journal nor the model.

Run over the real engine desk, journaling into its real SQLite store (hash-chained: a string that cannot
be encoded would fail there, not in a list)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import SimClock
from tests.engine_desk import RecordingDesk, engine_desk
from tests.tools.helpers import AT, make_request
from tools.arguments import MAX_ARGUMENT_CHARS, MAX_DEPTH
from tools.context import DecisionSession, StoreJournal
from tools.executor import ToolExecutor, ToolOutcome

SECRET = "hunter2-secret-value"
ORDER: dict[str, Any] = {
    "side": "long",
    "size_pct": 10,
    "order_type": "market",
    "stop_loss_price": 49_000,
    "signals": ["trend_follow"],
    "confidence": 0.7,
    "thesis": "trend and momentum agree",
}
LIMIT = {**ORDER, "order_type": "limit", "limit_price": 50_000}
SCHEDULE: dict[str, Any] = {"seconds": 3600, "wake_conditions": []}


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[RecordingDesk]:
    made = await engine_desk(tmp_path / "desk.sqlite3")
    yield made
    made.close()


@pytest.fixture
def executor(desk: RecordingDesk) -> ToolExecutor:
    session = DecisionSession(request=make_request(), memory_max_chars=200, secrets=(SECRET,))
    return ToolExecutor(desk, StoreJournal(desk.store, SimClock(AT)), session)


def refused(outcome: ToolOutcome, code: str = "invalid_arguments") -> str:
    """The message of an ``is_error`` outcome with ``code``."""
    body = json.loads(outcome.content)
    assert outcome.is_error and body["code"] == code, body
    return str(body["message"])


def nested(depth: int) -> list[Any]:
    """A list nested ``depth`` levels deep, built without recursion."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


# ---------------------------------------------------------------- item 8: numbers that are not


@pytest.mark.parametrize("price", ["1E+1000000", "1e999999999", 1e300, "-1", 0, "NaN", "Infinity", "-inf", True])
@pytest.mark.parametrize("field", ["stop_loss_price", "limit_price", "take_profit_price"])
async def test_a_price_that_is_no_price_is_refused_not_raised(
    executor: ToolExecutor, desk: RecordingDesk, field: str, price: object
) -> None:
    outcome = await executor.call("place_order", {**LIMIT, field: price}, "p1")
    assert field in refused(outcome)
    assert desk.checks == 0 and desk.executed == []


@pytest.mark.parametrize(
    ("tool", "base", "field"),
    [
        ("place_order", ORDER, "size_pct"),
        ("place_order", ORDER, "confidence"),
        ("place_order", {**ORDER, "trailing_distance_pct": 1}, "trailing_activation_pct"),
        ("close_position", {"fraction": 0.5, "reason": "take half"}, "fraction"),
        ("schedule_next_check", SCHEDULE, "seconds"),
    ],
)
@pytest.mark.parametrize("value", [True, False, float("nan"), float("inf"), "nan", "-Infinity", -1])
async def test_booleans_nan_and_infinities_are_not_numbers(
    executor: ToolExecutor, desk: RecordingDesk, tool: str, base: dict[str, Any], field: str, value: object
) -> None:
    """``size_pct=true`` was taken as 1 %, ``fraction=true`` as a full close, ``seconds=true`` as 1 s."""
    outcome = await executor.call(tool, {**base, field: value}, "b1")
    assert field in refused(outcome)
    assert desk.executed == [] and executor.session.next_check_seconds is None


@pytest.mark.parametrize("field", ["price", "pct", "z", "reference_price"])
async def test_wake_condition_numbers_refuse_booleans(executor: ToolExecutor, field: str) -> None:
    condition = {"kind": "price_below", field: True}
    outcome = await executor.call("schedule_next_check", {**SCHEDULE, "wake_conditions": [condition]}, "w1")
    assert f"wake_conditions.0.{field}: Input should be a number, not a boolean" in refused(outcome)


async def test_numeric_strings_still_read_as_numbers(executor: ToolExecutor, desk: RecordingDesk) -> None:
    """Lax where a client may differ from the schema (the Claude Code CLI has sent numbers as strings)."""
    outcome = await executor.call("place_order", {**ORDER, "size_pct": "10", "stop_loss_price": "49000.00"}, "s1")
    assert not outcome.is_error, outcome.content
    assert desk.positions["BTC/USDT"].stop_price == 49_000


async def test_huge_integers_do_not_break_recording(executor: ToolExecutor) -> None:
    """A Python int beyond 4300 digits cannot even be printed; beyond 64 bits it is recorded as its size."""
    outcome = await executor.call("schedule_next_check", {**SCHEDULE, "seconds": 10**5000}, "i1")
    assert "seconds" in refused(outcome)
    assert outcome.record.arguments["seconds"].startswith("<integer of about")


# ---------------------------------------------------------------- item 8: arguments that are not an object


@pytest.mark.parametrize(
    ("arguments", "described"),
    [
        ([1, 2], "an array of 2 items"),
        ("side=long", "a string of 9 characters"),
        (None, "null"),
        (42, "a number"),
        (True, "a boolean"),
        (b"\x00\xff", "a bytes"),
    ],
)
async def test_arguments_that_are_not_an_object(executor: ToolExecutor, arguments: object, described: str) -> None:
    for tool in ("place_order", "get_portfolio"):
        outcome = await executor.call(tool, arguments, "a1")
        assert refused(outcome) == f"arguments must be a JSON object, got {described}"
        assert outcome.record.arguments == {}
    denied = await executor.precheck("place_order", arguments, "a2")
    assert denied is not None and denied.is_error


async def test_unknown_keys_huge_strings_and_deep_nesting(executor: ToolExecutor, desk: RecordingDesk) -> None:
    extra = await executor.call("place_order", {**ORDER, "leverage": 50}, "k1")
    assert "leverage: Extra inputs are not permitted" in refused(extra)
    huge = await executor.call("update_memory", {"text": "x" * (MAX_ARGUMENT_CHARS + 1)}, "k2")
    assert refused(huge) == f"arguments are larger than {MAX_ARGUMENT_CHARS} characters"
    assert huge.record.arguments == {}  # the journal does not take 64 kB of it either
    wide = await executor.call("get_portfolio", {"junk": list(range(MAX_ARGUMENT_CHARS))}, "k3")
    assert refused(wide).startswith("arguments are larger")
    deep = await executor.call("get_portfolio", {"junk": nested(100_000)}, "k4")  # recursion would blow the stack
    assert refused(deep) == f"arguments nest deeper than {MAX_DEPTH} levels"
    garbage = {"wake_conditions": [{"kind": {"nested": [None, {"x": []}]}, "price": [[1]]}], "seconds": {}}
    assert "seconds" in refused(await executor.call("schedule_next_check", garbage, "k5"))
    long_key = await executor.call("get_portfolio", {"k" * 20_000: 1}, "k6")
    assert len(refused(long_key)) < 400  # the problem line is cut, not echoed in full
    assert desk.checks == 0


async def test_strings_json_can_carry_but_utf8_cannot(executor: ToolExecutor, desk: RecordingDesk) -> None:
    """A lone surrogate (``"\\ud800"`` in the model's JSON) is recorded escaped: the journal can hash it."""
    outcome = await executor.call("update_memory", {"text": "level \ud800 watch"}, "u1")
    assert not outcome.is_error, outcome.content
    assert outcome.record.arguments == {"text": "level \\ud800 watch"}
    assert desk.store.read_journal()[-1].payload["arguments"] == {"text": "level \\ud800 watch"}


async def test_unknown_symbols_and_regimes_are_the_models_to_fix(executor: ToolExecutor) -> None:
    """``get_regime`` on a market without data raised ``ConfigError`` (a human's error) out of the call."""
    assert "no market data for ETH/USDT" in refused(
        await executor.call("get_regime", {"symbol": "ETH/USDT"}, "r1"), "unknown_symbol"
    )
    assert "symbol" in refused(await executor.call("get_market_snapshot", {"symbol": "X" * 5000}, "r2"))
    assert "regime" in refused(await executor.call("get_learner_weights", {"regime": " padded "}, "r3"))
    assert "regime" in refused(await executor.call("get_learner_weights", {"regime": "r" * 65}, "r4"))


# ---------------------------------------------------------------- item 9: secrets in key names


async def test_secrets_in_key_names_reach_neither_journal_nor_model(executor: ToolExecutor, desk: RecordingDesk) -> None:
    leaky = {**ORDER, SECRET: 1, "sk-ant-api03-abcdefghijklmnopqrstuv": 2, f"note {SECRET}": 3}
    outcome = await executor.call("place_order", leaky, "x1")
    message = refused(outcome)
    assert "Extra inputs are not permitted" in message
    assert set(outcome.record.arguments) - set(ORDER) == {"[redacted]", "[redacted]#2", "note [redacted]"}
    unknown = await executor.call(f"tool_{SECRET}", {SECRET: {"sk-ant-api03-zyxwvutsrqponmlkjihgf": SECRET}}, "x2")
    assert refused(unknown, "unknown_tool").startswith("no tool named 'tool_[redacted]'")
    assert unknown.record.name == "tool_[redacted]"
    everything = json.dumps([e.payload for e in desk.store.read_journal()]) + outcome.content + unknown.content
    everything += json.dumps([c.model_dump(mode="json") for c in executor.session.calls])
    assert SECRET not in everything and "sk-ant-api03" not in everything
    assert "[redacted]" in everything


async def test_an_unknown_tool_name_with_a_lone_surrogate_is_journaled_escaped(executor: ToolExecutor,
                                                                              desk: RecordingDesk) -> None:
    """The long fuzz found it: a JSON name escape like ``\\udccc`` decodes to a lone surrogate, which the journal
    could not hash (UnicodeEncodeError out of ``ToolExecutor.call``)."""
    outcome = await executor.call("u\x01\udccc", {}, "s1")
    assert refused(outcome, "unknown_tool").startswith("no tool named 'u\\x01\\\\udccc'")
    assert desk.store.read_journal()[-1].payload["tool"] == "u\x01\\udccc"
