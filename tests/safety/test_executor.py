"""The executor, entries, commands and reconciliation on the real simulated exchange and a real SQLite store,
one scripted scenario per behaviour (the random schedules are in test_simulation.py)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from core.ids import ClientOrderId, Symbol
from core.ports import OperatorCommand
from core.settings import RiskSettings
from core.types import ExitReason, OrderIntent, OrderStatus, OrderType, PositionSide, Signal
from exchange.sim import Fault, FaultKind, FaultPlan, Op
from safety.book import CLOSED_PREFIX
from safety.breakers import BreakerState
from safety.proposals import AdjustStopProposal, EntryProposal
from safety.verdicts import Approved, VetoCode, Vetoed
from safety.veto import veto
from tests.safety.simworld import World

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BTC = Symbol("BTC/USDT:USDT")
SPOT_BTC = Symbol("BTC/USDT")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.create(tmp_path / "w.sqlite3", market_type="future", risk=RiskSettings(watchdog_grace_s=0))
    yield w
    w.store.close()


@pytest.fixture
def spot(tmp_path: Path) -> Iterator[World]:
    w = World.create(tmp_path / "s.sqlite3", market_type="spot")
    yield w
    w.store.close()


def with_faults(world: World, *faults: Fault) -> None:
    world.faults = FaultPlan.scripted(faults)
    world.ex = world._stack()


def entry(world: World, side: str = "long", key: str = "k1", **kw: object) -> EntryProposal:
    symbol = world.symbols[0]
    price = world.prices[symbol]
    stop = price * (Decimal("0.98") if side == "long" else Decimal("1.02"))
    return EntryProposal.model_validate(
        {
            "symbol": symbol,
            "side": side,
            "size_pct": 10,
            "stop_loss": stop,
            "signals": (Signal.MOMENTUM,),
            "idempotency_key": key,
            **kw,
        }
    )


def judge(world: World, proposal: EntryProposal) -> Approved | Vetoed:
    return veto(proposal, world.portfolio(), world.market(), world.limits(), world.ex.book.board, world.now)


async def open_position(world: World, **kw: object) -> str:
    verdict = judge(world, entry(world, **kw))  # type: ignore[arg-type]
    assert isinstance(verdict, Approved), verdict
    result = await world.ex.execute(verdict, world.now)
    assert result.position_id is not None
    return result.position_id


def open_stops(world: World) -> list[str]:
    return [o.client_order_id for o in world.venue.open_orders() if o.intent.type is OrderType.STOP_MARKET]


def closed_events(world: World) -> list[str]:
    return [e.payload["position_id"] for e in world.store.read_journal() if e.kind == "position.closed"]


async def test_entries_wait_for_reconciliation(world: World) -> None:
    verdict = judge(world, entry(world))
    assert isinstance(verdict, Vetoed) and verdict.code is VetoCode.NOT_RECONCILED
    assert (await world.reconcile()).ok
    assert isinstance(judge(world, entry(world)), Approved)


async def test_entry_is_protected_at_once_and_its_stop_fill_closes_it_exactly_once(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    assert open_stops(world) == [f"tw-{pid}-s1"], "the stop is placed in the same call as the entry"
    world.move(BTC, Decimal(48000))
    report = await world.step()
    assert [t.position_id for t in report.closed] == [pid]
    assert report.closed[0].exit_reason is ExitReason.STOP_LOSS
    again = await world.step()
    assert again.closed == [] and closed_events(world) == [pid]
    assert world.store.get(CLOSED_PREFIX + pid) is not None and world.ex.book.records == {}


async def test_the_book_gives_the_veto_its_portfolio(world: World) -> None:
    """Resting entries and open positions count towards exposure; a close starts the symbol's cooldown."""
    await world.reconcile()
    price = world.prices[BTC]
    limit = price * Decimal("0.998")
    pid = await open_position(world, order_type="limit", limit_price=limit, stop_loss=limit * Decimal("0.98"))
    resting = world.ex.book.portfolio(Decimal(10000))
    assert resting.positions == () and [e.position_id for e in resting.pending_entries] == [pid]
    assert resting.exposure(world.market()) == resting.pending_entries[0].notional > 0
    world.move(BTC, price * Decimal("0.99"))  # trades through the limit: the entry fills
    await world.step()
    held = world.ex.book.portfolio(Decimal(10000))
    assert [p.id for p in held.positions] == [pid] and held.pending_entries == () and held.last_exit_at == {}
    assert held.exposure(world.market()) == held.positions[0].quantity * world.prices[BTC]
    world.move(BTC, price * Decimal("0.95"))
    closed = (await world.step()).closed
    after = world.ex.book.portfolio(Decimal(10000))
    assert after.positions == () and after.last_exit_at == {BTC: closed[0].closed_at}


async def test_same_idempotency_key_never_opens_twice(world: World) -> None:
    await world.reconcile()
    verdict = judge(world, entry(world))
    assert isinstance(verdict, Approved)
    first = await world.ex.execute(verdict, world.now)
    second = await world.ex.execute(verdict, world.now)
    assert first.message != second.message and "already submitted" in second.message
    assert len([o for o in world.venue.all_orders() if o.intent.type is OrderType.MARKET]) == 1


async def test_watchdog_exits_at_market_and_verifies_the_position(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    world.feed_only(BTC, Decimal(48500))  # the feed is through the stop; the exchange has not traded there
    report = await world.step()
    assert [(t.position_id, t.exit_reason) for t in report.closed] == [(pid, ExitReason.WATCHDOG)]
    assert world.venue.positions() == [] and open_stops(world) == []
    kinds = [e.kind for e in world.store.read_journal()]
    assert kinds.index("guard.cancel") < max(i for i, k in enumerate(kinds) if k == "guard.order_placed")
    assert any(a.kind == "guard_warning" and "through the stop" in a.message for a in world.notifier.alerts)


async def test_watchdog_finalizes_as_stop_when_the_stop_fills_during_the_cancel(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    with_faults(world, Fault(FaultKind.FILL_DURING_CANCEL, op=Op.CANCEL_ORDER, client_order_id=f"tw-{pid}-s"))
    world.feed_only(BTC, Decimal(48500))
    report = await world.step()
    assert [(t.position_id, t.exit_reason) for t in report.closed] == [(pid, ExitReason.STOP_LOSS)]
    assert not [o for o in world.venue.all_orders() if o.client_order_id.startswith(f"tw-{pid}-x")], "no market exit"
    assert world.venue.positions() == []


async def test_failed_save_is_loud_reduces_and_keeps_protecting(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    world.store.fail_writes = 100
    world.move(BTC, Decimal(50400))
    await tighten(world, pid, Decimal(49900))  # a replacement stop is placed; its save fails
    report = await world.step()
    assert not report.save_ok and not world.ex.book.board.persistence_ok
    assert any(a.kind == "save_failed" for a in world.notifier.alerts), "alerted at once"
    refused = judge(world, entry(world, key="k3"))
    assert isinstance(refused, Vetoed) and refused.code is VetoCode.STATE_NOT_SAVED, "REDUCING: no entries"
    assert open_stops(world) == [f"tw-{pid}-s2"], "protection goes on from memory"
    world.move(BTC, Decimal(49000))
    report = await world.step()
    assert world.venue.positions() == [] and report.closed == [], "closed on the exchange, not yet recorded"
    world.store.fail_writes = 0
    report = await world.step()
    assert [t.position_id for t in report.closed] == [pid], "emitted once the close is durable"
    assert report.save_ok and world.ex.book.board.persistence_ok
    assert "safety.save_failed" in [e.kind for e in world.store.read_journal()], "the failure reaches the journal"


async def tighten(world: World, pid: str, stop: Decimal) -> None:
    """Tighten the stop as an approved request does (the veto is not the subject here)."""
    proposal = AdjustStopProposal(symbol=world.symbols[0], position_id=pid, new_stop=stop)  # type: ignore[arg-type]
    await world.ex.execute(Approved(proposal, position_id=pid, stop_price=stop), world.now)  # type: ignore[arg-type]


async def test_restart_reattaches_a_stop_placed_but_not_saved(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    world.move(BTC, Decimal(50500))
    world.store.fail_writes = 100
    await tighten(world, pid, Decimal(49800))  # places s2 at 49800, cancels s1; every save fails
    assert open_stops(world) == [f"tw-{pid}-s2"]
    world.store.fail_writes = 0
    report = await world.restart()  # the process dies: s2 and the tighter level never reached the store
    assert report.ok, report
    assert f"tw-{pid}-s2" in report.reattached
    assert open_stops(world) == [f"tw-{pid}-s2"], "one stop, the newest, never loosened back"
    record = world.ex.book.records[pid]
    assert record.position.stop_order_id == f"tw-{pid}-s2" and record.position.stop_price == Decimal(49800)


async def test_vanished_position_is_closed_externally_once(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    assert world.external_close(BTC)
    report = await world.step()
    assert [(t.position_id, t.exit_reason) for t in report.closed] == [(pid, ExitReason.CLOSED_EXTERNALLY)]
    assert open_stops(world) == [] and closed_events(world) == [pid]
    report = await world.restart()
    assert report.ok and report.finalized == [] and closed_events(world) == [pid]


@pytest.mark.parametrize("cancel", [False, True])
async def test_orphans_are_reported_and_cancelled_only_when_configured(world: World, cancel: bool) -> None:
    world.cancel_orphans = cancel
    orphan = OrderIntent(
        client_order_id=ClientOrderId("tw-pdeadbeef00-s7"),
        symbol=BTC,
        side=PositionSide.LONG.exit_side,
        type=OrderType.LIMIT,
        quantity=Decimal("0.01"),
        price=Decimal(60000),
    )
    foreign = orphan.model_copy(update={"client_order_id": ClientOrderId("someone-else-1")})
    world.venue.place(orphan)
    world.venue.place(foreign)
    report = await world.reconcile()
    assert report.orphans == ["tw-pdeadbeef00-s7"]
    assert report.cancelled_orphans == (["tw-pdeadbeef00-s7"] if cancel else [])
    open_ids = {o.client_order_id for o in world.venue.open_orders()}
    assert ("tw-pdeadbeef00-s7" in open_ids) is not cancel and "someone-else-1" in open_ids
    assert any(a.kind == "reconciliation_mismatch" and "tw-pdeadbeef00-s7" in a.message for a in world.notifier.alerts)


async def test_halt_with_flatten_closes_everything_once_and_blocks_entries(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    command = OperatorCommand(
        idempotency_key="h1", kind="halt", args={"reason": "news", "flatten": True}, submitted_at=world.now
    )
    assert world.store.submit_command(command).outcome == "accepted"
    assert world.store.submit_command(command).outcome == "duplicate"
    report = await world.step()
    assert [(t.position_id, t.exit_reason) for t in report.closed] == [(pid, ExitReason.OPERATOR)]
    assert world.venue.positions() == [] and world.ex.book.board.controls.halted
    refused = judge(world, entry(world, key="k9"))
    assert isinstance(refused, Vetoed) and refused.code is VetoCode.HALTED
    assert any(a.kind == "halt" for a in world.notifier.alerts)
    assert world.store.pending_commands() == []
    world.store.submit_command(OperatorCommand(idempotency_key="r1", kind="resume", submitted_at=world.now))
    await world.step()
    world.clock.advance_by(world.risk.cooldown_after_exit_s)
    world.move(BTC, Decimal(50000))
    assert isinstance(judge(world, entry(world, key="k10")), Approved)


async def test_exchange_error_breaker_opens_then_a_probe_closes_it(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    world.retries = 0
    with_faults(world, Fault(FaultKind.SERVER_ERROR, op=Op.FETCH_POSITIONS, times=5))
    world.ex.book.board = world.ex.book.board.model_copy(update={"reconciled_at": world.now})
    for _ in range(5):
        await world.step()
    board = world.ex.book.board
    assert board.exchange.state is BreakerState.OPEN
    assert any(a.kind == "breaker_opened" for a in world.notifier.alerts)
    refused = judge(world, entry(world, key="k4"))
    assert isinstance(refused, Vetoed) and refused.code is VetoCode.EXCHANGE_BREAKER_OPEN
    assert open_stops(world) == [f"tw-{pid}-s1"], "the stop stays on the exchange throughout"
    world.clock.advance_by(world.risk.exchange_error_cooldown_s)
    await world.step()
    assert world.ex.book.board.exchange.state is BreakerState.CLOSED


async def test_a_second_process_cannot_finalize_the_same_position_again(world: World) -> None:
    await world.reconcile()
    pid = await open_position(world)
    other = world._stack()  # a second process over the same store and exchange
    world.move(BTC, Decimal(48000))
    other.mark(BTC, world.prices[BTC], world.now)
    first = await world.step()
    second = await other.guard(world.now)
    assert [t.position_id for t in first.closed] == [pid]
    assert second.closed == []
    assert closed_events(world) == [pid]
    assert any("second finalize refused" in e for e in second.errors) or pid not in other.book.records


async def test_spot_take_profit_then_break_even(spot: World) -> None:
    await spot.reconcile()
    pid = await open_position(spot, take_profit=Decimal(51000))
    spot.move(SPOT_BTC, Decimal(51200))
    await spot.step()
    record = spot.ex.book.records[pid]
    assert record.position.break_even_done and record.position.stop_price > record.position.entry_price
    stops = [o for o in spot.venue.open_orders() if o.intent.type is OrderType.STOP_MARKET]
    assert len(stops) == 1 and stops[0].intent.quantity == record.remaining == record.original_quantity / 2
    spot.move(SPOT_BTC, Decimal(49000))
    report = await spot.step()
    trade = report.closed[0]
    assert trade.exit_reason is ExitReason.STOP_LOSS and trade.gross_pnl > 0
    legs = [o for o in spot.venue.all_orders() if o.status is OrderStatus.FILLED and o.intent.side.value == "sell"]
    assert len(legs) == 2
