"""A fuzz of every tool through the choke point (``ToolExecutor.call``, and the claude-code hook's
``precheck``) over the real engine desk: the simulated exchange (spot or USDT-M futures), a real SQLite
store and hash-chained journal, the gate, the learner and the safety service, in worlds drawn at random
(price, equity, risk limits, a position already held, the kill switch or sleep on, the data gone stale).

Each example is one world and a few calls, mostly near-valid (so that many are approved and the oracle
has something to judge), some garbage: arguments that are no object, nested or oversized, booleans and
NaN where numbers go, "1E+1000000" prices, unknown keys and tools, secrets in values, key names and the
tool's name. Checked for every call:

* nothing escapes: every call is answered with a recorded outcome, refusals as ``is_error`` results;
* nothing refused acts: a vetoed or invalid call leaves the exchange untouched;
* no accepted call breaks a limit, judged by an **independent oracle**: for each approved side effect it
  recomputes, from the same inputs the veto had (quotes, book, controls, breakers, clock) and the risk
  settings, the limits that apply (halted or asleep, daily order cap, stale data, spot short, one per
  symbol, cooldown, fat finger, stop side and distance, take-profit side, size and exposure caps,
  quantity step and minimums; for exits: the position, the remainder; for stops: tighter only);
* a secret written anywhere in a call reaches neither the journal, the record nor the model.

``make test`` runs 200 examples (about 20 s); ``TRADEWAKE_LONG_TESTS=1`` (``make test-long``) 10,000;
``TRADEWAKE_TOOL_FUZZ_EXAMPLES=N`` sets the number. The figures are printed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from core.clock import SimClock
from core.ids import Symbol
from core.ports import OperatorCommand
from core.settings import RiskSettings, RunMode, Settings, load_settings
from core.types import PositionSide, Signal
from engine.desk import EngineDesk
from engine.events import PriceTick
from engine.wiring import AgentChoice, Core, build_engine, market_for, sim_exchange, sim_markets
from exchange.sim import MarketFill, SimBroker
from market.builder import Market
from safety.proposals import EntryProposal
from safety.verdicts import Approved
from store.sqlite_store import SqliteStore
from tests.conftest import LONG_TESTS
from tests.engine_desk import Bystander, RecordingDesk, q1_2024
from tests.robustness.tool_fuzz_calls import SECRET, Call, World, examples
from tests.robustness.tool_fuzz_oracle import Before, violations
from tools.context import DecisionSession, StoreJournal, TradingDesk
from tools.executor import ToolExecutor, ToolOutcome
from tools.registry import SIDE_EFFECT_TOOLS
from tools.snapshots import request_for

EXAMPLES = int(os.environ.get("TRADEWAKE_TOOL_FUZZ_EXAMPLES", "10000" if LONG_TESTS else "200"))
AT = datetime(2024, 3, 1, 12, tzinfo=UTC)
_MARKETS: dict[Symbol, Market] = {}


# ---------------------------------------------------------------- the world, built through the real wiring


@dataclass
class Rig:
    desk: RecordingDesk
    clock: SimClock
    executor: ToolExecutor


async def build(world: World, path: Path) -> Rig:
    base = load_settings(None)
    exchange = base.exchange.model_copy(update={"market_type": world.market_type, "symbols": (world.symbol,)})
    config: Settings = base.model_copy(update={"risk": world.risk, "exchange": exchange})
    assert config.mode is not RunMode.MAINNET  # the oracle applies the general caps
    clock = SimClock(AT)
    venue = sim_exchange(config, clock, sim_markets(config), fill=MarketFill.IMMEDIATE, initial_cash=world.equity,
                         slippage_bps=0)
    venue.on_price(Decimal(world.price), AT, symbol=world.symbol)
    store = SqliteStore(path, durable=False)
    desks: list[EngineDesk] = []

    def factory(desk: TradingDesk, journal: Any, clock_: Any) -> Bystander:
        assert isinstance(desk, EngineDesk)
        desks.append(desk)
        return Bystander()

    core = Core(settings=config, clock=clock, broker=SimBroker(venue), store=store, market=_market(world.symbol),
                rules=venue.markets(), initial_equity=Decimal(world.equity), seed=1)
    engine = await build_engine(core, AgentChoice(factory=factory))
    tick = PriceTick(at=AT, symbol=world.symbol, price=float(world.price))
    await engine.step(tick)
    desk = RecordingDesk(desks[0], engine, venue, store)
    await _hold(desk, world)
    if world.control != "none":
        args = {"reason": "fuzz"} | ({"minutes": 600} if world.control == "sleeping" else {})
        kind = {"halted": "halt", "sleeping": "sleep"}[world.control]
        store.submit_command(OperatorCommand(idempotency_key="c1", kind=kind, args=args, submitted_at=AT))
        await engine.step(tick)
    clock.advance_by(world.stale_by_s)
    request = request_for(await desk.snapshot(world.symbol))
    session = DecisionSession(request=request, memory_max_chars=2000, secrets=(SECRET,))
    return Rig(desk, clock, ToolExecutor(desk, StoreJournal(store, clock), session))


def _market(symbol: Symbol) -> Market:
    """The candles' snapshot builders and regime model, built once per symbol (they only read the data)."""
    if symbol not in _MARKETS:
        data = q1_2024()
        _MARKETS[symbol] = market_for(symbol, data.all_candles, data.timeframe)
    return _MARKETS[symbol]


async def _hold(desk: RecordingDesk, world: World) -> None:
    """A position held before the calls, opened through the veto like any other (if the world allows it)."""
    if world.held is None:
        return
    away = Decimal(str((world.risk.stop_min_distance_pct + world.risk.stop_max_distance_pct) / 2 / 100))
    sign = -1 if world.held is PositionSide.LONG else 1
    stop = (Decimal(world.price) * (1 + sign * away)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)
    proposal = EntryProposal(symbol=world.symbol, side=world.held, size_pct=world.risk.max_position_pct / 2,
                             stop_loss=stop, signals=(Signal.TREND_FOLLOW,), idempotency_key="held")
    approved = await desk.inner.check(proposal)
    if isinstance(approved, Approved):
        await desk.inner.execute(approved)


# ---------------------------------------------------------------- one example


@dataclass
class Figures:
    examples: int = 0
    calls: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    escaped: list[str] = field(default_factory=list)
    wrongly_accepted: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)


async def before(rig: Rig, world: World) -> Before:
    """The veto's inputs just before a call: quotes, book, controls and breakers, the clock."""
    service = rig.desk.engine.safety
    view = await rig.desk.portfolio()
    board = service.book.board  # read only: the oracle needs the breakers and today's order count
    now = rig.clock.now()
    gates_open = (board.persistence_ok and board.reconciled_at is not None and board.exchange.state.value == "closed"
                  and not board.trading.is_open)
    return Before(
        now=now, risk=world.risk, default_symbol=world.symbol, quotes=service.market(), portfolio=service.portfolio(),
        halted=view.controls.halted, sleeping=view.controls.sleep_until is not None and now < view.controls.sleep_until,
        entries_blocked=not gates_open, orders_today=board.trading.agent_orders,
    )


async def run_example(world: World, calls: list[Call], figures: Figures, scratch: Path) -> None:
    path = scratch / f"fuzz-{figures.examples}.sqlite3"
    rig = await build(world, path)
    try:
        for call in calls:
            await one_call(rig, world, call, figures)
        journal = json.dumps([e.payload for e in rig.desk.store.read_journal()])
        records = json.dumps([c.model_dump(mode="json") for c in rig.executor.session.calls])
        if SECRET in journal or SECRET in records:
            figures.leaked.append(f"the secret reached the {'journal' if SECRET in journal else 'records'}")
    finally:
        rig.desk.close()
        path.unlink(missing_ok=True)
    figures.examples += 1
    assert not figures.escaped, figures.escaped[-1]
    assert not figures.wrongly_accepted, figures.wrongly_accepted[-1]
    assert not figures.leaked, figures.leaked[-1]


async def one_call(rig: Rig, world: World, call: Call, figures: Figures) -> None:
    figures.calls += 1
    executed, journaled = len(rig.desk.executed), len(rig.desk.store.read_journal())
    try:
        state = await before(rig, world)
        outcome = await rig.executor.precheck(call.name, call.arguments, call.call_id) if call.hook_first else None
        if outcome is None:
            outcome = await rig.executor.call(call.name, call.arguments, call.call_id)
    except Exception:  # the one thing the fuzz is here to catch: counted, then reported
        figures.escaped.append(f"{call.name!r}({call.arguments!r:.300}) raised:\n{traceback.format_exc()}")
        return
    events = rig.desk.store.read_journal()[journaled:]
    approvals = [e.payload["approved"] for e in events if e.kind == "tool_call" and e.payload.get("approved")]
    judge(outcome, state, figures, approvals, acted=len(rig.desk.executed) > executed)


def judge(outcome: ToolOutcome, state: Before, figures: Figures, approvals: list[Any], *, acted: bool) -> None:
    """One answered call: well-formed, nothing refused acted, and an approval (even of an order the exchange
    then rejected) within every limit."""
    record, body = outcome.record, json.loads(outcome.content)
    assert record.result == body and SECRET not in outcome.content, outcome.content
    if outcome.is_error:
        assert set(body) == {"error", "code", "message"} and body["message"], body
        figures.errors[body["code"]] += 1
        if acted and (record.veto is not None or body["error"] == "invalid"):
            figures.wrongly_accepted.append(f"refused {record.name} ({body['code']}) but it acted")
    assert len(approvals) <= 1 and (not approvals or record.name in SIDE_EFFECT_TOOLS), approvals
    for approved in approvals:
        figures.accepted[record.name] += 1
        wrong = violations(record.name, record.arguments, approved, state)
        if wrong:
            figures.wrongly_accepted.append(f"{record.name}({json.dumps(record.arguments)}) approved: {wrong}")


# ---------------------------------------------------------------- the tests


def _scratch() -> Path:
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None  # tmpfs: SQLite writes are cheap
    return Path(tempfile.mkdtemp(prefix="tw-toolfuzz-", dir=base))


@pytest.mark.timeout(max(300, EXAMPLES // 3 + 120))  # the long run (10,000 examples) needs more than the default
def test_every_tool_call_is_answered_and_nothing_refusable_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    figures, scratch, started = Figures(), _scratch(), time.perf_counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(examples())
    def fuzz(example: tuple[World, list[Call]]) -> None:
        asyncio.run(run_example(*example, figures, scratch))

    try:
        fuzz()
    finally:
        for item in scratch.iterdir():
            item.unlink()
        scratch.rmdir()
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\ntool fuzz: {figures.examples} examples, {figures.calls} calls; accepted side effects "
            f"{dict(sorted(figures.accepted.items()))}; refusals {dict(figures.errors.most_common(8))}; "
            f"escaped exceptions {len(figures.escaped)}, wrongly accepted {len(figures.wrongly_accepted)}, "
            f"secrets leaked {len(figures.leaked)}; {elapsed:.1f}s"
        )
    assert figures.examples >= EXAMPLES
    assert sum(figures.accepted.values()) > figures.examples // 10, "too few approvals for the oracle to judge"


async def test_the_oracle_is_not_vacuous(tmp_path: Path) -> None:
    """Each limit the oracle checks, broken on purpose in the state an approval was judged in: the oracle
    names it. (An oracle that never objects would make the fuzz's zero meaningless.)"""
    world = World("future", 50_000, 10_000, RiskSettings(reduce_oversize_to_cap=False), None, "none", 0)
    rig = await build(world, tmp_path / "oracle.sqlite3")
    try:
        state = await before(rig, world)
        short = {"side": "short", "size_pct": 10, "order_type": "limit", "limit_price": 50_100, "stop_loss_price": 51_000,
                 "take_profit_price": 48_000, "signals": ["momentum"], "confidence": 0.5, "thesis": "a valid short"}
        outcome = await rig.executor.call("place_order", short, "o1")
        assert not outcome.is_error, outcome.content
        body, args = json.loads(outcome.content)["approved"], outcome.record.arguments
        assert violations("place_order", args, body, state) == []
        quote = state.quotes[world.symbol]
        opened = rig.desk.engine.safety.portfolio()  # with the short's limit entry pending
        [pending] = opened.pending_entries
        opposite = replace(opened, pending_entries=(replace(pending, side=PositionSide.LONG),))
        spot = {world.symbol: replace(quote, rules=quote.rules.model_copy(update={"contract": False}))}
        risk = world.risk
        broken = {
            "halted": replace(state, halted=True),
            "asleep": replace(state, sleeping=True),
            "entries blocked": replace(state, entries_blocked=True),
            "daily order cap": replace(state, orders_today=risk.max_orders_per_day),
            "old": replace(state, now=state.now + timedelta(seconds=risk.stale_data_s + 1)),
            "spot market": replace(state, quotes=spot),
            "opposite position": replace(state, portfolio=opposite),
            "pyramiding is off": replace(state, portfolio=opened),
            "cooldown": replace(state, portfolio=replace(state.portfolio, last_exit_at={world.symbol: state.now})),
            "fat-finger": replace(state, risk=risk.model_copy(update={"fat_finger_band_pct": 0.1})),
            "outside [": replace(state, risk=risk.model_copy(update={"stop_max_distance_pct": 1.5})),
            "above the cap": replace(state, risk=risk.model_copy(update={"max_position_pct": 5.0})),
            "no quote": replace(state, quotes={}),
        }
        for expected, bad in broken.items():
            found = violations("place_order", args, body, bad)
            assert any(expected in line for line in found), (expected, found)
    finally:
        rig.desk.close()


async def test_the_oracle_is_not_vacuous_for_exits_and_stops(tmp_path: Path) -> None:
    world = World("future", 50_000, 10_000, RiskSettings(), PositionSide.SHORT, "none", 0)
    rig = await build(world, tmp_path / "exits.sqlite3")
    try:
        state = await before(rig, world)
        [position] = state.portfolio.positions  # short, stop 4.15 % above
        tighten = await rig.executor.call("adjust_stop", {"stop_price": 51_000, "reason": "lock some in"}, "o1")
        close = await rig.executor.call("close_position", {"fraction": 0.5, "reason": "take half"}, "o2")
        assert not tighten.is_error and not close.is_error, (tighten.content, close.content)
        stop_args, stop_body = tighten.record.arguments, json.loads(tighten.content)["approved"]
        close_args, close_body = close.record.arguments, json.loads(close.content)["approved"]
        assert violations("adjust_stop", stop_args, stop_body, state) == []
        assert violations("close_position", close_args, close_body, state) == []
        flat = replace(state, portfolio=replace(state.portfolio, positions=()))
        tight = replace(state, portfolio=replace(state.portfolio, positions=(
            position.model_copy(update={"stop_price": Decimal(50_500)}),)))
        dust = replace(state, portfolio=replace(state.portfolio, positions=(
            position.model_copy(update={"quantity": Decimal("0.003")}),)))
        assert any("loosened" in line for line in violations("adjust_stop", stop_args, stop_body, tight))
        assert any("without" in line for line in violations("adjust_stop", stop_args, stop_body, flat))
        assert any("not (exactly one)" in line for line in violations("close_position", close_args, close_body, flat))
        assert any("closed" in line or "minimums" in line
                   for line in violations("close_position", close_args, close_body, dust))
    finally:
        rig.desk.close()
