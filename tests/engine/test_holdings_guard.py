"""A managed holding while it is guarded, through the real engine on the simulated exchange: pause (no new trades,
the stop stays), the operator's override (a loosened stop replaces the live one: only the operator loosens,
invariant 4), release (orders cancelled, nothing sold), a sale outside the bot (drift: the bot pauses itself),
the bot's own trades in the same market (no drift), a restart (reconciled, guarded once), the operator's flatten (an
exit like any other)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from core.ids import ClientOrderId
from core.ports import OperatorCommand
from core.settings import load_settings
from core.types import OrderIntent, OrderStatus, OrderType, Side
from holdings.commands import HoldingsCommand
from holdings.lifecycle import HoldingState
from holdings.proposal import Variant
from holdings.records import managed_position_id
from tests.engine.helpers import Call, EngineWorld, build_world, entry, every_candle
from tests.engine.test_holdings_flow import (
    APPROVE_AT,
    BTC,
    holding_data,
    holding_parts,
    holdings_world,
    journal,
    operator,
    service_of,
)

PID = managed_position_id("BTC-1")


def managed(world: EngineWorld) -> Variant:
    """Run to ``APPROVE_AT``, propose and approve the recommended variant; the variant approved."""
    asyncio.run(world.run(0, APPROVE_AT))
    operator(world, HoldingsCommand.PROPOSE, "p1", asset="BTC")
    operator(world, HoldingsCommand.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended")
    proposal = service_of(world).book.proposal("BTC-1")
    assert proposal is not None and service_of(world).holding("BTC").state is HoldingState.MANAGED_ACTIVE
    chosen = proposal.variant("recommended")
    assert chosen is not None
    return chosen


def near_stop(world: EngineWorld, at: int) -> Call:
    """An entry of the agent's own at candle ``at``, its stop 5 % below that candle's close."""
    return entry(stop=round(world.candles[at].close * 0.95, 2), size_pct=5)


def pyramiding_world(path: Path) -> EngineWorld:
    """Several positions per market allowed: the managed holding alone does not keep the agent out."""
    settings = every_candle(load_settings(None))
    settings = settings.model_copy(update={"risk": settings.risk.model_copy(update={"allow_pyramiding": True})})
    data = holding_data()
    return build_world(path, {}, settings=settings, parts=holding_parts(settings, data), data=data)


def live_stops(world: EngineWorld) -> list[tuple[str, Decimal | None, Decimal]]:
    orders = world.parts.venue.open_orders(BTC)
    return [(o.client_order_id, o.intent.stop_price, o.intent.quantity) for o in orders if o.intent.stop_price]


def test_a_paused_holding_keeps_its_stop_and_the_agent_opens_nothing_in_its_market(tmp_path: Path) -> None:
    world = pyramiding_world(tmp_path / "p.sqlite3")
    world.agent.script[APPROVE_AT + 1] = [near_stop(world, APPROVE_AT + 1)]  # type: ignore[union-attr]
    chosen = managed(world)
    stops_before = live_stops(world)
    operator(world, HoldingsCommand.PAUSE, "z1", asset="BTC", reason="earnings week")
    asyncio.run(world.run(APPROVE_AT, APPROVE_AT + 2))

    assert service_of(world).holding("BTC").state is HoldingState.MANAGED_PAUSED
    assert live_stops(world) == stops_before and stops_before[0][1] == chosen.stop, "the protective stop stays"
    vetoes = [e.payload for e in world.store.read_journal() if e.kind == "tool_vetoed"]
    assert [v["veto"]["code"] for v in vetoes] == ["managed_paused"]  # type: ignore[index]
    assert [p.id for p in world.engine.safety.positions()] == [PID]

    operator(world, HoldingsCommand.RESUME, "z2", asset="BTC")
    assert service_of(world).holding("BTC").state is HoldingState.MANAGED_ACTIVE
    world.agent.script[APPROVE_AT + 3] = [near_stop(world, APPROVE_AT + 3)]  # type: ignore[union-attr]
    asyncio.run(world.run(APPROVE_AT + 2, APPROVE_AT + 5))  # the market entry fills at the next open
    assert len(world.engine.safety.positions()) == 2, "resumed: the agent may trade the market again"
    world.store.close()


def test_only_the_operator_loosens_a_managed_stop_and_the_live_one_is_replaced(tmp_path: Path) -> None:
    world = holdings_world(tmp_path / "o.sqlite3")
    chosen = managed(world)
    ((old_id, old_stop, quantity),) = live_stops(world)
    looser = Decimal("42000.00")
    assert looser < chosen.stop == old_stop
    operator(world, HoldingsCommand.OVERRIDE, "o1", asset="BTC", stop=str(looser), reason="give it room")

    ((new_id, new_stop, new_quantity),) = live_stops(world)
    assert (new_stop, new_quantity) == (looser, quantity) and new_id != old_id
    assert world.parts.venue.order(ClientOrderId(old_id), BTC).status is OrderStatus.CANCELED
    (position,) = world.engine.safety.positions()
    assert (position.stop_price, position.initial_stop_price) == (looser, looser)
    applied = [p for kind, p in journal(world, "position.terms_applied")]
    assert len(applied) == 1 and "loosened by the operator" in str(applied[0]["why"])

    tighter = Decimal("45000.00")
    operator(world, HoldingsCommand.OVERRIDE, "o2", asset="BTC", stop=str(tighter))
    assert [s for _, s, _ in live_stops(world)] == [tighter]
    world.store.close()


def test_a_release_cancels_the_orders_and_hands_the_coins_back_unsold(tmp_path: Path) -> None:
    world = holdings_world(tmp_path / "r.sqlite3")
    managed(world)
    assert live_stops(world)
    operator(world, HoldingsCommand.RELEASE, "r1", asset="BTC", reason="I will hold it myself")

    holding = service_of(world).holding("BTC")
    assert (holding.state, holding.terms) == (HoldingState.FROZEN, None)
    assert live_stops(world) == [] and world.engine.safety.positions() == ()
    balance = world.parts.venue.balances()["BTC"]
    assert (balance.total, balance.used) == (Decimal("0.5"), Decimal(0)), "nothing sold, nothing locked"
    assert [kind for kind, _ in journal(world, "managed.release")] == ["managed.release_requested", "managed.released"]
    assert [p["position_id"] for _, p in journal(world, "position.released")] == [PID]
    assert not [t for t in world.store.keys("safety/closed/")], "a release is not a trade: nothing to learn from"
    asyncio.run(world.run(APPROVE_AT, APPROVE_AT + 3))  # and the guard never picks it up again
    assert live_stops(world) == []
    world.store.close()


def test_a_sale_outside_the_bot_is_drift_the_bot_pauses_itself_and_the_stop_stays(tmp_path: Path) -> None:
    world = holdings_world(tmp_path / "d.sqlite3")
    managed(world)
    stops = live_stops(world)
    sold = OrderIntent(client_order_id=ClientOrderId("app-sell-1"), symbol=BTC, side=Side.SELL, type=OrderType.MARKET,
                       quantity=Decimal("0.2"))  # the operator sells on the exchange's app: not our prefix
    world.parts.venue.place(sold)
    asyncio.run(world.run(APPROVE_AT, APPROVE_AT + 2))

    holding = service_of(world).holding("BTC")
    assert holding.state is HoldingState.MANAGED_DRIFT_ALERT
    assert holding.reason is not None and "sold or withdrawn outside the bot" in holding.reason
    assert live_stops(world) == stops, "the bot pauses itself; its stop and take-profit stay"
    raised = [e.payload["alert"]["kind"] for e in world.store.read_journal() if e.kind == "alert.raised"]
    assert [kind for kind in raised if kind.startswith("managed")] == ["managed_drift"], "a human hears of it"
    world.store.close()


def test_the_bots_own_trades_in_the_market_are_not_drift(tmp_path: Path) -> None:
    world = pyramiding_world(tmp_path / "b.sqlite3")
    world.agent.script[APPROVE_AT + 1] = [near_stop(world, APPROVE_AT + 1)]  # type: ignore[union-attr]
    managed(world)
    asyncio.run(world.run(APPROVE_AT, APPROVE_AT + 6))
    own = [p for p in world.engine.safety.positions() if p.id != PID]
    assert len(own) == 1 and own[0].quantity > 0, "the agent bought BTC of its own"
    assert world.parts.venue.balances()["BTC"].total > Decimal("0.5")
    assert service_of(world).holding("BTC").state is HoldingState.MANAGED_ACTIVE
    assert journal(world, "managed.drift_detected") == []
    world.store.close()


def test_a_restart_reconciles_the_managed_holding_and_guards_it_once(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    first = holdings_world(path)
    chosen = managed(first)
    stops = live_stops(first)
    first.store.close()

    second = build_world(path, {}, settings=every_candle(load_settings(None)), parts=first.parts, data=holding_data())
    done = [p for kind, p in journal(second, "reconcile.done")][-1]
    assert done["mismatches"] == [] and done["holdings"] == [
        f"{Decimal('0.5') - chosen.managed_quantity} BTC set aside: BTC is managed (managed_active) under proposal "
        f"BTC-1: at most {chosen.managed_quantity} is the managed position's, the rest the operator's"
    ]
    asyncio.run(second.run(APPROVE_AT, APPROVE_AT + 2))
    assert live_stops(second) == stops, "the same stop, never a second one"
    assert [p.id for p in second.engine.safety.positions()] == [PID]
    assert [kind for kind, _ in journal(second, "position.opened")] == ["position.opened"], "opened once, ever"
    second.store.close()


def test_the_operators_flatten_closes_a_managed_holding_like_any_position(tmp_path: Path) -> None:
    world = holdings_world(tmp_path / "f.sqlite3")
    chosen = managed(world)
    world.store.submit_command(OperatorCommand(idempotency_key="h1", kind="halt", submitted_by="op",
                                               args={"reason": "get me out", "flatten": True},
                                               submitted_at=world.parts.clock.now()))  # fmt: skip
    asyncio.run(world.commands())
    asyncio.run(world.run(APPROVE_AT, APPROVE_AT + 2))  # the market exit fills at the next open
    holding = service_of(world).holding("BTC")
    assert (holding.state, holding.reason) == (HoldingState.EXIT_EXECUTED, "operator")
    assert world.parts.venue.balances()["BTC"].total == Decimal("0.5") - chosen.managed_quantity
    assert [p["trade"]["exit_reason"] for _, p in journal(world, "position.closed")] == ["operator"]  # type: ignore[index]
    world.store.close()
