"""Managed holdings through the real engine on the simulated exchange (issue 20's end-to-end flow): the operator
holds 0.5 BTC, asks for a proposal, approves it; the guard places the protective stop at once (no entry order);
the price falls through it (BTC/USDT 1h, 2024-01-12); the exit is recorded as ``exit_executed``; the operator
returns the asset to frozen. Commands arrive as ``CommandsPending`` events, as the live loop emits them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from backtests.data import BacktestData, select_data
from core.clock import SimClock
from core.ids import Symbol
from core.settings import Settings, load_settings
from core.types import ExitReason, OrderType
from engine.wiring import SimParts, sim_markets
from exchange.sim import FixedBpsSlippage, MarketFill, SimBroker, SimConfig, SimExchange
from holdings.commands import HoldingsCommand
from holdings.lifecycle import HoldingState
from holdings.records import managed_position_id
from holdings.service import HoldingsService
from tests.engine.helpers import Call, EngineWorld, build_world, every_candle
from tests.holdings.test_engine_facts import CountingStore
from tests.holdings.world import command

BTC = Symbol("BTC/USDT")
APPROVE_AT = 84
"""Candle index of 2024-01-11 12:00 (BTC near 46,800); the stop ~8 % below is crossed on 2024-01-12."""


def holding_data() -> BacktestData:
    return select_data(start=datetime(2024, 1, 8, tzinfo=UTC), end=datetime(2024, 1, 16, tzinfo=UTC))


def holding_parts(settings: Settings, data: BacktestData, btc: str = "0.5") -> SimParts:
    """The simulated exchange with the operator's coins already on the account (and 10,000 USDT)."""
    rules = sim_markets(settings, settings.backtest.fee_pct)
    clock = SimClock(data.candles.index[0].to_pydatetime())
    config = SimConfig(
        initial_balances={"USDT": Decimal(10_000), "BTC": Decimal(btc)},
        market_fill=MarketFill.NEXT_PRICE,
        slippage=FixedBpsSlippage(Decimal(2)),
    )
    venue = SimExchange(list(rules.values()), clock, config)
    return SimParts(clock, venue, SimBroker(venue))


def holdings_world(path: Path, script: dict[int, list[Call]] | None = None, **kw: Any) -> EngineWorld:
    settings = every_candle(load_settings(None))
    data = holding_data()
    return build_world(path, script or {}, settings=settings, parts=holding_parts(settings, data), data=data, **kw)


def service_of(world: EngineWorld) -> HoldingsService:
    assert world.engine.holdings is not None, "a spot run manages holdings"
    return world.engine.holdings.service


def operator(world: EngineWorld, kind: HoldingsCommand, key: str, **args: object) -> None:
    """Queue a holdings command and step ``CommandsPending`` now."""
    world.store.submit_command(command(kind, key, at=world.parts.clock.now(), **args))
    asyncio.run(world.commands())
    assert not world.store.pending_commands(), "the engine applied every queued command"


def journal(world: EngineWorld, prefix: str) -> list[tuple[str, dict[str, object]]]:
    return [(e.kind, e.payload) for e in world.store.read_journal() if e.kind.startswith(prefix)]


def test_the_operators_coins_are_set_aside_at_start_never_adopted(tmp_path: Path) -> None:
    world = holdings_world(tmp_path / "s.sqlite3")
    done = [p for kind, p in journal(world, "reconcile.done")]
    assert len(done) == 1 and done[0]["mismatches"] == []
    assert done[0]["holdings"] == [
        "0.5 BTC set aside: BTC is not managed (frozen (no record)): the operator's holding, never a bot position"
    ]
    assert world.engine.safety.positions() == ()
    world.store.close()


def test_hold_propose_approve_stop_out_and_back_to_frozen(tmp_path: Path) -> None:
    world = holdings_world(tmp_path / "flow.sqlite3")
    service = service_of(world)
    asyncio.run(world.run(0, APPROVE_AT))

    operator(world, HoldingsCommand.PROPOSE, "p1", asset="BTC")
    holding = service.holding("BTC")
    assert (holding.state, holding.proposal_id) == (HoldingState.RISK_PROPOSED, "BTC-1")
    proposal = service.book.proposal("BTC-1")
    assert proposal is not None and proposal.holding_quantity == Decimal("0.5")
    chosen = proposal.variant("recommended")
    assert chosen is not None

    operator(world, HoldingsCommand.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended")
    assert service.holding("BTC").state is HoldingState.MANAGED_ACTIVE
    pid = managed_position_id("BTC-1")
    (position,) = world.engine.safety.positions()
    assert (position.id, position.quantity, position.entry_price) == (pid, chosen.managed_quantity, proposal.synthetic_entry)
    assert (position.stop_price, position.take_profit_price) == (chosen.stop, chosen.take_profit)
    # Invariant 1 for a managed holding: its protective stop is on the exchange in the step that approved it.
    stops = [o for o in world.parts.venue.open_orders(BTC) if o.intent.type is OrderType.STOP_MARKET]
    assert [(o.client_order_id, o.intent.stop_price, o.intent.quantity) for o in stops] == [
        (position.stop_order_id, chosen.stop, chosen.managed_quantity)
    ]
    assert not [o for o in world.parts.venue.all_orders(BTC) if o.intent.type is OrderType.MARKET], "no entry order"

    reports = asyncio.run(world.run(APPROVE_AT, len(world.candles)))
    trades = [t for r in reports for t in r.closed]
    assert [(t.position_id, t.exit_reason) for t in trades] == [(pid, ExitReason.STOP_LOSS)]
    holding = service.holding("BTC")
    assert holding.state is HoldingState.EXIT_EXECUTED and holding.reason == "stop_loss"
    exits = [p for kind, p in journal(world, "managed.exit_executed")]
    assert len(exits) == 1 and exits[0]["actor"] == "guard" and exits[0]["price"] == str(trades[0].exit_price)
    balances = world.parts.venue.balances()
    assert balances["BTC"].total == Decimal("0.5") - chosen.managed_quantity, "only the managed part was sold"
    assert world.engine.safety.positions() == ()
    assert world.engine.learner.is_recorded(pid), "the exit is learned from exactly once, like any close"

    operator(world, HoldingsCommand.RELEASE, "r1", asset="BTC")
    holding = service.holding("BTC")
    assert (holding.state, holding.terms) == (HoldingState.FROZEN, None)
    kinds = [kind for kind, _ in journal(world, "managed.")]
    assert kinds == [
        "managed.requested",
        "managed.generated",
        "managed.allocation_capped",  # 0.5 BTC is ~70 % of the equity: only the per-position cap is handed over
        "managed.promoted",
        "managed.synthetic_entry_set",
        "managed.exit_executed",
        "managed.released",
    ]
    world.store.close()


def test_the_bot_can_never_take_a_managed_holding_to_frozen(tmp_path: Path) -> None:
    """The agent's close_position on the managed holding is vetoed and journaled as the bot's blocked policy change;
    the holding stays managed and guarded."""
    close = ("close_position", {"symbol": "BTC/USDT", "fraction": 1.0, "reason": "take the holding off the table"})
    tighten = ("adjust_stop", {"symbol": "BTC/USDT", "stop_price": 46000, "reason": "tighter stop please"})
    world = holdings_world(tmp_path / "bot.sqlite3", {APPROVE_AT + 1: [close, tighten]})
    service = service_of(world)
    asyncio.run(world.run(0, APPROVE_AT))
    operator(world, HoldingsCommand.PROPOSE, "p1", asset="BTC")
    operator(world, HoldingsCommand.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended")
    asyncio.run(world.run(APPROVE_AT, APPROVE_AT + 3))

    blocked = [p for kind, p in journal(world, "managed.policy_change_blocked")]
    assert [(p["actor"], p["action"], p["state"]) for p in blocked] == [
        ("bot", "release", "managed_active"),
        ("bot", "override", "managed_active"),
    ]
    vetoes = [e.payload for e in world.store.read_journal() if e.kind == "tool_vetoed"]
    assert [(v["tool"], v["veto"]["code"]) for v in vetoes] == [  # type: ignore[index]
        ("close_position", "managed_holding"),
        ("adjust_stop", "managed_holding"),
    ]
    assert service.holding("BTC").state is HoldingState.MANAGED_ACTIVE
    (position,) = world.engine.safety.positions()
    assert position.id == managed_position_id("BTC-1") and position.stop_order_id is not None
    world.store.close()


def test_holdings_read_the_store_only_when_something_happens(tmp_path: Path) -> None:
    """Nothing managed: not one store read per candle step (a backtest is as fast as before); managed and quiet:
    none either (the guard and the drift check work from memory); a decision reads what it decides about."""
    counted: list[CountingStore] = []
    world = holdings_world(tmp_path / "reads.sqlite3", wrap_store=lambda s: counted.append(CountingStore(s)) or counted[0])
    (store,) = counted
    store.reads = 0
    asyncio.run(world.run(0, APPROVE_AT))
    assert store.reads == 0, "the operator holds BTC, nothing is managed"
    operator(world, HoldingsCommand.PROPOSE, "p1", asset="BTC")
    operator(world, HoldingsCommand.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended")
    store.reads = 0
    asyncio.run(world.run(APPROVE_AT, APPROVE_AT + 8))
    assert store.reads == 0, "guarded and drift-checked every step without a read"
    assert service_of(world).holding("BTC").state is HoldingState.MANAGED_ACTIVE
    world.store.close()
