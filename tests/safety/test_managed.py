"""Managed holdings in the safety layer: the pure plan (``plan_managed``, ``check_managed``) on plain values, and
``SafetyService.hold_managed`` / reconciliation / the command applier on the real simulated spot exchange and a
real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.ids import ClientOrderId, PositionId, Symbol
from core.ports import CommandStatus, OperatorCommand
from core.types import ClosedTrade, ExitReason, OrderIntent, OrderType, PositionSide, Side, Signal
from exchange.retry import RetryPolicy
from exchange.sim import SimBroker
from safety.alerts import AlertDispatcher
from safety.book import CLOSED_PREFIX, SafetyBook
from safety.guard_state import ExitRequest, ManagedStage, ManagedTag
from safety.managed import (
    HoldingShare,
    LetGo,
    ManagedSpec,
    OpenManaged,
    Report,
    Reterm,
    check_managed,
    plan_managed,
)
from safety.proposals import CloseProposal, EntryProposal
from safety.service import SafetyConfig, SafetyService
from safety.verdicts import Approved, VetoCode
from tests.safety.builders import SPOT, SPOT_RULES, T0
from tests.safety.guard_helpers import record
from tests.safety.simworld import PREFIX, World

MPID = PositionId("m0000000001")


def spec(**changes: object) -> ManagedSpec:
    base = ManagedSpec(
        asset="BTC", position_id=MPID, symbol=SPOT, quantity=Decimal("0.1"), entry=Decimal("50000"),
        stop=Decimal("46000"), take_profit=Decimal("58000"), terms="t1", stage=ManagedStage.ACTIVE,
        available=Decimal("0.15"),
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def guarded(stop: str = "46000", stop_order: str | None = "tw-m0000000001-s1", **tag: object):  # type: ignore[no-untyped-def]
    rec = record(quantity="0.1", stop=stop, take_profit_price=Decimal(58000), stop_order_id=stop_order)
    rec = rec.model_copy(update={"position": rec.position.model_copy(update={"id": MPID})})
    return rec.model_copy(update={"managed": ManagedTag(asset="BTC", terms="t1", **tag)})  # type: ignore[arg-type]


# ---------------------------------------------------------------- the pure plan


def test_a_holding_not_guarded_yet_opens_without_an_entry_order_for_what_the_wallet_backs() -> None:
    plan = plan_managed(spec(available=Decimal("0.0734567")), None, closed=None, rules=SPOT_RULES, now=T0)
    assert isinstance(plan, OpenManaged)
    pos = plan.record.position
    assert (pos.id, pos.side, pos.quantity, pos.entry_price) == (MPID, PositionSide.LONG, Decimal("0.07345"), Decimal(50000))
    assert (pos.stop_price, pos.initial_stop_price, pos.take_profit_price) == (Decimal(46000), Decimal(46000), Decimal(58000))
    assert (pos.signals, pos.stop_order_id, plan.record.original_quantity) == ((), None, Decimal("0.07345"))
    assert plan.record.managed == ManagedTag(asset="BTC", terms="t1", stage=ManagedStage.ACTIVE)


def test_nothing_tradable_left_is_refused_not_guarded() -> None:
    plan = plan_managed(spec(available=Decimal("0.00001")), None, closed=None, rules=SPOT_RULES, now=T0)
    assert isinstance(plan, Report) and plan.outcome.status == "refused"


def test_a_closed_holding_is_reported_once_and_never_reopened() -> None:
    trade = ClosedTrade(
        position_id=MPID, symbol=SPOT, side=PositionSide.LONG, quantity=Decimal("0.1"), entry_price=Decimal(50000),
        exit_price=Decimal(46000), opened_at=T0, closed_at=T0 + timedelta(hours=3), gross_pnl=Decimal(-400),
        fees=Decimal(4), exit_reason=ExitReason.STOP_LOSS, signals=(),
    )  # fmt: skip
    plan = plan_managed(spec(), None, closed=trade, rules=SPOT_RULES, now=T0)
    assert isinstance(plan, Report) and (plan.outcome.status, plan.outcome.trade) == ("closed", trade)


def test_a_release_lets_go_of_a_guarded_holding_and_is_done_when_none_is_left() -> None:
    assert isinstance(plan_managed(spec(stage=ManagedStage.RELEASE), guarded(), closed=None, rules=SPOT_RULES, now=T0), LetGo)
    gone = plan_managed(spec(stage=ManagedStage.RELEASE), None, closed=None, rules=SPOT_RULES, now=T0)
    assert isinstance(gone, Report) and gone.outcome.status == "released"


def test_an_exit_under_way_decides_before_any_new_terms() -> None:
    exiting = guarded().model_copy(update={"exit_request": ExitRequest(reason=ExitReason.STOP_LOSS, target_remaining=Decimal(0), requested_at=T0)})
    plan = plan_managed(spec(terms="t2", stop=Decimal(40000)), exiting, closed=None, rules=SPOT_RULES, now=T0)
    assert isinstance(plan, Report) and plan.outcome.status == "held"


def test_the_same_terms_and_stage_change_nothing() -> None:
    plan = plan_managed(spec(), guarded(), closed=None, rules=SPOT_RULES, now=T0)
    assert isinstance(plan, Report) and plan.outcome.status == "held"


def test_a_pause_only_retags_the_position() -> None:
    plan = plan_managed(spec(stage=ManagedStage.PAUSED), guarded(), closed=None, rules=SPOT_RULES, now=T0)
    assert isinstance(plan, Reterm) and plan.cancel is None
    assert plan.record.managed is not None and plan.record.managed.stage is ManagedStage.PAUSED
    assert plan.record.position == guarded().position


@given(new_stop=st.integers(min_value=40_000, max_value=49_000))
def test_new_terms_apply_as_given_and_only_a_looser_stop_cancels_the_live_one_first(new_stop: int) -> None:
    """Invariant 4: the operator may loosen a stop; the live (tighter) stop must go first, or the guard would
    keep it as the tighter one. A tighter or equal stop is replaced by the guard as usual."""
    current = guarded(stop="46000")
    plan = plan_managed(spec(terms="t2", stop=Decimal(new_stop)), current, closed=None, rules=SPOT_RULES, now=T0)
    assert isinstance(plan, Reterm)
    pos = plan.record.position
    assert (pos.stop_price, pos.initial_stop_price) == (Decimal(new_stop), Decimal(new_stop))
    looser = new_stop < 46_000
    assert plan.cancel == (current.position.stop_order_id if looser else None)
    assert pos.stop_order_id == (None if looser else current.position.stop_order_id)
    assert plan.record.managed is not None and plan.record.managed.terms == "t2"


def test_a_new_managed_quantity_resizes_the_position_within_the_wallet() -> None:
    plan = plan_managed(spec(terms="t2", quantity=Decimal("0.3"), available=Decimal("0.25")), guarded(), closed=None,
                        rules=SPOT_RULES, now=T0)  # fmt: skip
    assert isinstance(plan, Reterm)
    assert (plan.record.position.quantity, plan.record.original_quantity) == (Decimal("0.25"), Decimal("0.25"))


# ---------------------------------------------------------------- what the agent may not do


def _entry(symbol: Symbol = SPOT) -> Approved:
    proposal = EntryProposal(symbol=symbol, side=PositionSide.LONG, size_pct=5, stop_loss=Decimal(49000),
                             signals=(Signal.MOMENTUM,), idempotency_key="e1")  # fmt: skip
    return Approved(proposal, position_id=PositionId("pe1"))


def test_no_new_trade_in_the_market_of_a_paused_or_released_holding() -> None:
    for stage in (ManagedStage.PAUSED, ManagedStage.RELEASE):
        vetoed = check_managed(_entry(), {MPID: guarded(stage=stage)})
        assert vetoed is not None and vetoed.code is VetoCode.MANAGED_PAUSED
    assert check_managed(_entry(), {MPID: guarded()}) is None, "an active holding leaves the market to the caps"
    assert check_managed(_entry(Symbol("ETH/USDT")), {MPID: guarded(stage=ManagedStage.PAUSED)}) is None


def test_the_agent_never_closes_or_changes_a_managed_holding_but_its_own_positions_are_its_own() -> None:
    close = Approved(CloseProposal(symbol=SPOT), position_id=MPID)
    vetoed = check_managed(close, {MPID: guarded()})
    assert vetoed is not None and vetoed.code is VetoCode.MANAGED_HOLDING
    own = record()
    assert check_managed(Approved(CloseProposal(symbol=SPOT), position_id=own.id), {own.id: own, MPID: guarded()}) is None


# ---------------------------------------------------------------- on the simulated spot exchange


class OperatorCoins:
    """Reconciliation's port as ``engine/holdings.py`` answers it when nothing is managed: all the operator's."""

    def share(self, asset: str, unexplained: Decimal, attached: Decimal) -> HoldingShare:
        return HoldingShare(Decimal(0), unexplained, f"{asset}: the operator's")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.create(tmp_path / "m.sqlite3", market_type="spot")
    bought = OrderIntent(client_order_id=ClientOrderId("app-buy-1"), symbol=SPOT, side=Side.BUY, type=OrderType.MARKET,
                         quantity=Decimal("0.15"))  # the operator bought on the exchange's app before the bot ran
    w.venue.place(bought)
    yield w
    w.store.close()


def with_holdings(world: World) -> SafetyService:
    """The world's safety stack as a spot run builds it: holdings commands delegated, reconciliation's port set."""
    book = SafetyBook.load(world.store, Decimal(10000), world.now)  # type: ignore[arg-type]
    config = SafetyConfig(world.venue.markets(), world.risk, world.ex.config.mode, PREFIX, market_type="spot",
                          delegated_commands=("holdings.",))  # fmt: skip
    broker = SimBroker(world.venue, faults=world.faults, retry=RetryPolicy(max_retries=world.retries))
    alerts = AlertDispatcher([world.notifier], world.store, world.clock, min_interval_s=0)  # type: ignore[arg-type]
    service = SafetyService.assemble(broker, world.store, book, alerts, config, Decimal(10000),  # type: ignore[arg-type]
                                     holdings=OperatorCoins())  # fmt: skip
    service.mark(SPOT, world.prices[SPOT], world.now)
    return service


async def test_without_the_holdings_port_an_operators_coin_is_a_mismatch_with_it_set_aside(world: World) -> None:
    assert not (await world.reconcile()).ok, "the old behaviour: nobody says whose 0.5 BTC it is"
    report = await with_holdings(world).reconcile(world.now)
    # the venue credits a spot buy net of its fee taken in the coin: 0.15 BTC bought, 0.14985 BTC held
    assert report.ok and report.mismatches == [] and report.holdings == ["0.14985 BTC set aside: BTC: the operator's"]


async def test_hold_opens_and_protects_at_once_and_a_stop_fill_closes_it_exactly_once(world: World) -> None:
    service = with_holdings(world)
    assert (await service.reconcile(world.now)).ok
    opened = await service.hold_managed(spec(), world.now)
    assert opened.status == "opened"
    (position,) = service.positions()
    stops = world.venue.open_orders(SPOT)
    assert [(o.client_order_id, o.intent.stop_price, o.intent.quantity) for o in stops] == [
        (position.stop_order_id, Decimal(46000), Decimal("0.1"))
    ]
    assert not [o for o in world.venue.all_orders(SPOT) if o.client_order_id.startswith(PREFIX) and o.intent.type is OrderType.MARKET]
    assert (await service.hold_managed(spec(), world.now)).status == "held"

    world.move(SPOT, Decimal(45500))  # through the stop: the exchange fills it
    closed = (await service.guard(world.now)).closed
    assert [(t.position_id, t.exit_reason) for t in closed] == [(MPID, ExitReason.STOP_LOSS)]
    again = await service.hold_managed(spec(), world.now)
    assert (again.status, again.trade) == ("closed", closed[0])
    assert service.positions() == () and len(world.venue.open_orders(SPOT)) == 0, "never reopened"


async def test_a_release_cancels_its_orders_drops_it_without_a_close_and_sells_nothing(world: World) -> None:
    service = with_holdings(world)
    held = world.venue.balances()["BTC"].total
    await service.hold_managed(spec(), world.now)
    released = await service.hold_managed(spec(stage=ManagedStage.RELEASE), world.now)
    assert released.status == "released"
    assert service.positions() == () and world.venue.open_orders(SPOT) == []
    assert world.venue.balances()["BTC"].total == held, "nothing sold"
    assert world.store.keys(CLOSED_PREFIX) == []
    assert (await service.hold_managed(spec(stage=ManagedStage.RELEASE), world.now)).status == "released"


async def test_a_stop_that_fills_during_a_release_is_an_exit_not_a_release(world: World) -> None:
    service = with_holdings(world)
    await service.hold_managed(spec(), world.now)
    world.move(SPOT, Decimal(45500))  # the stop fills before the release reaches it
    outcome = await service.hold_managed(spec(stage=ManagedStage.RELEASE), world.now)
    assert outcome.status == "releasing"
    closed = service.drain_closed()
    assert [(t.position_id, t.exit_reason) for t in closed] == [(MPID, ExitReason.STOP_LOSS)]
    after = await service.hold_managed(spec(stage=ManagedStage.RELEASE), world.now)
    assert after.status == "closed", "the exit is what holdings hears"


async def test_the_applier_leaves_delegated_commands_queued_and_fails_them_without_delegation(world: World) -> None:
    at = world.now
    for key, kind in (("h1", "holdings.propose"), ("s1", "sleep")):
        args = {"asset": "BTC"} if kind.startswith("holdings") else {"minutes": 5, "reason": "lunch"}
        world.store.submit_command(OperatorCommand(idempotency_key=key, kind=kind, args=args, submitted_at=at,
                                                   submitted_by="op"))  # fmt: skip
    applied = await with_holdings(world).apply_commands(world.now)
    assert [a.idempotency_key for a in applied] == ["s1"]
    assert [r.command.idempotency_key for r in world.store.pending_commands()] == ["h1"]
    refused = await world.ex.apply_commands(world.now)  # a run with no holdings (futures): nobody would apply it
    assert [(a.idempotency_key, a.status) for a in refused] == [("h1", CommandStatus.FAILED)]  # unknown: never stuck
