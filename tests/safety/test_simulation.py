"""Deterministic simulation: the guard, executor, veto, commands and reconciliation on the real simulated
exchange (with its wire faults) and a real SQLite store, through seeded random schedules of prices,
entries, exits, stop changes, operator commands, store failures, outside interference and restarts.

Checked after EVERY step:
  * protection: every open position has a live stop on the exchange (or a market exit working) after
    a step in which nothing failed; after a step with faults it may not (a stale read can hide it),
    but then the executor must know and alert, or the next clean step must restore it;
  * exactly once: no position is finalized (journaled, stored, emitted) twice;
  * nothing lost: every opened position is open in the book or closed exactly once, every order of
    ours on the exchange belongs to a position, an entry or the cleanup list;
  * after every successful reconciliation our positions equal the exchange's, and entries are vetoed
    before it.

Default (``make test``): 600 schedules, about ten seconds alone, in which every kind of close, fault, failed save
and restart still occurs many times. ``TRADEWAKE_SIM_SCHEDULES=N`` sets the number; ``TRADEWAKE_LONG_TESTS=1``
runs 20,000. A failing seed replays alone: ``TRADEWAKE_SIM_SEED=1234``.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial, reduce
from pathlib import Path

import pytest

from core.ids import PositionId, Symbol
from core.ports import OperatorCommand
from core.settings import RiskSettings
from core.types import OrderType, PositionSide, Signal
from exchange.sim import FaultPlan, MarketFill
from safety.book import CLOSED_PREFIX
from safety.guard import tighter
from safety.guard_state import GuardRecord
from safety.keeper import TickReport
from safety.order_ids import parse_order_id
from safety.proposals import AdjustStopProposal, CloseProposal, EntryProposal, Proposal
from safety.reconcile import ReconcileReport
from safety.rules import tradable
from safety.verdicts import Approved, VetoCode
from safety.veto import veto
from tests.conftest import LONG_TESTS
from tests.safety.simworld import ALL_FAULTS, PREFIX, World

SCHEDULES = int(os.environ.get("TRADEWAKE_SIM_SCHEDULES", "20000" if LONG_TESTS else "600"))
STEPS = 32
ONLY_SEED = os.environ.get("TRADEWAKE_SIM_SEED")


@dataclass
class Stats:
    schedules: int = 0
    steps: int = 0
    faulty_steps: int = 0
    entries: int = 0
    closes: Counter[str] = field(default_factory=Counter)
    vetoes: Counter[str] = field(default_factory=Counter)
    faults: int = 0
    restarts: int = 0
    reconciles: int = 0
    save_failures: int = 0
    hidden_after_fault: int = 0


@dataclass
class Ledger:
    """What the test itself saw, to check the system against."""

    closed: Counter[PositionId] = field(default_factory=Counter)
    opened: set[PositionId] = field(default_factory=set)
    reconciled: bool = False
    exposed: dict[PositionId, int] = field(default_factory=dict)
    """Positions seen without protection after a faulty step, with the step number."""


# ---------------------------------------------------------------- the schedule


def make_world(seed: int, rng: random.Random, path: Path) -> World:
    market_type = rng.choice(["spot", "future"])
    risk = RiskSettings(
        watchdog_grace_s=rng.choice([0, 10, 60]),
        cooldown_after_exit_s=rng.choice([0, 120]),
        take_profit_fraction=rng.choice([0.5, 1.0]),
        max_trades_per_day=rng.choice([3, 12]),
        exchange_error_threshold=rng.choice([2, 5]),
        exchange_error_cooldown_s=rng.choice([30, 300]),
    )
    world = World.create(
        path,
        market_type=market_type,
        market_fill=rng.choice([MarketFill.IMMEDIATE, MarketFill.IMMEDIATE, MarketFill.NEXT_PRICE]),
        slippage_bps=Decimal(rng.choice([0, 2, 10])),
        namespace=f"s{seed}",
        risk=risk,
        symbols=rng.choice([1, 1, 2]),
        liquidity_fraction=rng.choice([None, None, Decimal("0.5")]),
    )
    kinds = rng.sample(ALL_FAULTS, rng.randint(0, len(ALL_FAULTS)))
    rate = rng.choice([0.02, 0.05, 0.12])
    world.faults = FaultPlan.random(seed, {k: rate / len(kinds) for k in kinds}) if kinds else FaultPlan.none()
    world.retries = rng.choice([0, 1, 3])
    world.cancel_orphans = rng.random() < 0.5
    world.ex = world._stack()
    return world


async def run_schedule(seed: int, path: Path, stats: Stats) -> None:
    rng = random.Random(seed)
    world = make_world(seed, rng, path)
    ledger = Ledger()
    await reconcile(world, ledger, stats)
    for step in range(STEPS):
        fired, failures = len(world.faults.fired), world.store.failures
        alerts_before = len(world.notifier.alerts)
        await act(world, rng, ledger, stats, step)
        if not ledger.reconciled:
            await reconcile(world, ledger, stats)
        report = await world.step()
        record_closed(world, ledger, stats, report)
        faulty = (
            len(world.faults.fired) > fired
            or world.store.failures > failures
            or not ledger.reconciled
            or outside_order_working(world)
        )
        stats.steps += 1
        stats.faulty_steps += faulty
        check_step(world, ledger, report, step, faulty=faulty, alerts_before=alerts_before, stats=stats)
    stats.faults += len(world.faults.fired)
    stats.save_failures += world.store.failures
    await settle_clean(world, ledger, stats)
    check_final(world, ledger)
    stats.schedules += 1
    world.store.close()


async def act(world: World, rng: random.Random, ledger: Ledger, stats: Stats, step: int) -> None:
    roll = rng.random()
    symbol = rng.choice(world.symbols)
    if roll < 0.73:
        await market_or_agent(world, rng, ledger, stats, step, roll, symbol)
    else:
        await disturb(world, rng, ledger, stats, step, roll, symbol)


async def market_or_agent(
    world: World, rng: random.Random, ledger: Ledger, stats: Stats, step: int, roll: float, symbol: Symbol
) -> None:
    """Prices move (with or without a trade print) or the agent proposes an entry, a close or a stop move."""
    if roll < 0.36:
        move_price(world, rng, symbol)
    elif roll < 0.41:
        world.feed_only(symbol, world.prices[symbol] * Decimal(repr(1 + rng.gauss(0, 0.02))))
    elif roll < 0.62:
        await propose(world, entry_proposal(world, rng, symbol, f"{step}"), ledger, stats)
    elif roll < 0.68:
        await propose(world, CloseProposal(symbol=symbol, fraction=rng.choice([1.0, 0.5, 0.3])), ledger, stats)
    else:
        await adjust_stop(world, rng, symbol, ledger, stats)


async def disturb(
    world: World, rng: random.Random, ledger: Ledger, stats: Stats, step: int, roll: float, symbol: Symbol
) -> None:
    """The operator, crashes, outside hands, a failing disk and the passing of time."""
    if roll < 0.755:
        submit(world, "halt", {"reason": "sim", "flatten": rng.random() < 0.5}, step)
    elif roll < 0.80:
        submit(world, rng.choice(["resume", "resume", "sleep"]), {"reason": "sim", "minutes": 2}, step)
    elif roll < 0.86:
        await restart(world, rng, ledger, stats)
    elif roll < 0.89:
        world.external_close(symbol)
    elif roll < 0.93:
        world.store.fail_writes = rng.randint(1, 4)
    else:
        world.clock.advance_by(rng.choice([5, 60, 600]))


def move_price(world: World, rng: random.Random, symbol: Symbol) -> None:
    shock = rng.gauss(0, 0.008) if rng.random() > 0.1 else rng.choice([-1, 1]) * rng.uniform(0.02, 0.05)
    base = world.venue.last_price(symbol) or world.prices[symbol]
    volume = Decimal(repr(rng.choice([0.005, 0.02, 0.5]))) * (20 if "ETH" in symbol else 1)
    world.move(symbol, base * Decimal(repr(1 + shock)), seconds=rng.choice([5, 30, 120]), volume=volume)


def entry_proposal(world: World, rng: random.Random, symbol: Symbol, tag: str) -> EntryProposal:
    side = PositionSide.LONG if world.market_type == "spot" else rng.choice(list(PositionSide))
    price = world.prices[symbol]
    sign = Decimal(-1 if side is PositionSide.LONG else 1)
    stop_pct = Decimal(repr(rng.choice([rng.uniform(0.5, 4), rng.uniform(0.5, 4), 0.1, 12])))
    limit = rng.random() < 0.2
    reference = price * (1 + sign * Decimal("0.002")) if limit else price
    kwargs: dict[str, object] = {}
    if rng.random() < 0.5:
        kwargs["take_profit"] = reference * (1 - sign * Decimal(repr(rng.uniform(0.8, 4))) / 100)
    if rng.random() < 0.3:
        kwargs.update(trailing_activation_pct=rng.uniform(0.3, 2), trailing_distance_pct=rng.uniform(0.4, 1.5))
    return EntryProposal(
        symbol=symbol,
        side=side,
        size_pct=rng.uniform(3, 30),
        order_type="limit" if limit else "market",
        limit_price=reference if limit else None,
        stop_loss=reference * (1 + sign * stop_pct / 100),
        signals=(rng.choice(list(Signal)),),
        idempotency_key=f"{world.restarts}-{tag}-{rng.random()}",
        **kwargs,  # type: ignore[arg-type]
    )


async def propose(world: World, proposal: Proposal, ledger: Ledger, stats: Stats) -> None:
    verdict = veto(proposal, world.portfolio(), world.market(), world.limits(), world.ex.book.board, world.now)
    if not isinstance(verdict, Approved):
        stats.vetoes[verdict.code.value] += 1
        return
    if isinstance(proposal, EntryProposal):
        assert_entries_allowed(world, ledger)
        stats.entries += 1
    await world.ex.execute(verdict, world.now)


async def adjust_stop(world: World, rng: random.Random, symbol: Symbol, ledger: Ledger, stats: Stats) -> None:
    records = [r for r in world.ex.book.records.values() if r.symbol == symbol]
    if not records:
        return
    stop, price = records[0].position.stop_price, world.prices[symbol]
    new = stop + (price - stop) * Decimal(repr(rng.uniform(-0.3, 0.8)))  # sometimes looser: must be vetoed
    await propose(world, AdjustStopProposal(symbol=symbol, new_stop=new), ledger, stats)


def submit(world: World, kind: str, args: dict[str, object], step: int) -> None:
    key = f"{kind}-{world.restarts}-{step}"
    world.store.submit_command(OperatorCommand(idempotency_key=key, kind=kind, args=args, submitted_at=world.now))


async def restart(world: World, rng: random.Random, ledger: Ledger, stats: Stats) -> None:
    stats.restarts += 1
    world.restarts += 1
    world.ex = world._stack()
    ledger.reconciled = False
    probe = entry_proposal(world, rng, world.symbols[0], "probe")
    verdict = veto(probe, world.portfolio(), world.market(), world.limits(), world.ex.book.board, world.now)
    controls = world.ex.book.board.controls
    expected = VetoCode.HALTED if controls.halted else VetoCode.SLEEPING if controls.sleeping(world.now) else None
    assert not isinstance(verdict, Approved) and verdict.code is (expected or VetoCode.NOT_RECONCILED), verdict
    await reconcile(world, ledger, stats)


async def reconcile(world: World, ledger: Ledger, stats: Stats) -> None:
    report = await world.reconcile()
    stats.reconciles += 1
    record_closed(world, ledger, stats, report)
    ledger.reconciled = report.ok
    if report.ok:
        check_matches_exchange(world, report)


def record_closed(world: World, ledger: Ledger, stats: Stats, report: TickReport | ReconcileReport) -> None:
    trades = report.closed if isinstance(report, TickReport) else report.finalized
    for trade in (*trades, *world.ex.drain_closed()):
        ledger.closed[trade.position_id] += 1
        stats.closes[trade.exit_reason.value] += 1
        assert ledger.closed[trade.position_id] == 1, f"{trade.position_id} finalized twice"


async def settle_clean(world: World, ledger: Ledger, stats: Stats) -> None:
    """Faults off, a restart, reconciliation and two clean steps: everything must line up."""
    world.store.fail_writes = 0
    world.faults = FaultPlan.none()
    for symbol in world.symbols:  # a price for every market: orders waiting for the next price fill now
        world.move(symbol, world.prices[symbol], seconds=1)
    world.restarts += 1
    world.ex = world._stack()
    await reconcile(world, ledger, stats)
    assert ledger.reconciled, "a clean reconciliation must succeed"
    for _ in range(2):
        for symbol in world.symbols:
            world.move(symbol, world.prices[symbol], seconds=61)
        report = await world.step()
        record_closed(world, ledger, stats, report)
        check_step(world, ledger, report, STEPS, faulty=False, alerts_before=len(world.notifier.alerts), stats=stats)


# ---------------------------------------------------------------- invariants


def assert_entries_allowed(world: World, ledger: Ledger) -> None:
    board = world.ex.book.board
    assert ledger.reconciled and board.reconciled_at is not None, "entry approved before reconciliation"
    assert not board.controls.halted and board.persistence_ok and not board.trading.is_open


def outside_order_working(world: World) -> bool:
    """A human's order is working on the exchange (it can lock the balance our stop needs)."""
    return any(parse_order_id(o.client_order_id, PREFIX) is None for o in world.venue.open_orders())


def live_orders(world: World) -> dict[str, object]:
    return {o.client_order_id: o for o in world.venue.open_orders()}


def protected(world: World, record: GuardRecord, live: dict[str, object]) -> bool:
    stops = {record.position.stop_order_id, *record.retired}
    if any(c in live and live[c].intent.type is OrderType.STOP_MARKET for c in stops):  # type: ignore[attr-defined]
        return True
    return record.exit_request is not None and any(e.order_id in live for e in record.exits)


def check_step(
    world: World, ledger: Ledger, report: TickReport, step: int, *, faulty: bool, alerts_before: int, stats: Stats
) -> None:
    live = live_orders(world)
    alerts = world.notifier.alerts[alerts_before:]
    for record in world.ex.book.records.values():
        ledger.opened.add(record.id)
        if protected(world, record, live):
            ledger.exposed.pop(record.id, None)
            continue
        assert faulty, f"step {step}: {record.id} unprotected after a clean step ({record.model_dump(mode='json')})"
        known = record.id in report.unprotected
        assert not known or any(record.id in a.message for a in alerts), f"{record.id} unprotected without alert"
        stats.hidden_after_fault += not known
        ledger.exposed.setdefault(record.id, step)
    check_orders_belong(world, live)
    check_stops_never_loosened(world)
    for pid in ledger.closed:
        assert pid not in world.ex.book.records, f"{pid} closed but still open in the book"


def check_stops_never_loosened(world: World) -> None:
    """On the exchange: a position's live stop is the tightest stop ever accepted for it (crashes included)."""
    for record in world.ex.book.records.values():
        mine = [
            o
            for o in world.venue.all_orders(record.symbol)
            if o.intent.type is OrderType.STOP_MARKET and o.client_order_id.startswith(f"{PREFIX}-{record.id}-")
        ]
        live = [o.intent.stop_price for o in mine if not o.status.is_terminal]
        if live:
            tightest = reduce(partial(tighter, record.side), (o.intent.stop_price for o in mine))
            assert tightest in live, f"{record.id}: live stops {live} looser than {tightest} placed before"


def check_orders_belong(world: World, live: dict[str, object]) -> None:
    book = world.ex.book
    referenced = {c for r in book.records.values() for c in r.referenced()}
    entries = {e.order_id for e in book.entries.values()}
    for cid in live:
        parsed = parse_order_id(cid, PREFIX)
        if parsed is None:
            continue  # not ours (a human's order)
        known = cid in referenced or cid in entries or cid in book.cleanup
        closed_leftover = world.store.get(CLOSED_PREFIX + parsed.position_id) is not None
        # An order placed with an unknown outcome may surface before the guard re-reads it; it must then
        # belong to a position we hold (it is re-attached or cancelled on a later step).
        assert known or closed_leftover or parsed.position_id in book.records or parsed.position_id in book.entries, (
            f"order {cid} on the exchange belongs to nothing we know"
        )


def check_matches_exchange(world: World, report: ReconcileReport) -> None:
    assert not report.mismatches, report.mismatches
    for symbol in world.symbols:
        for side in PositionSide:
            ours = sum(
                (
                    max(r.remaining, Decimal(0))
                    for r in world.ex.book.records.values()
                    if r.symbol == symbol and r.side is side
                ),
                Decimal(0),
            )
            theirs = world.exchange_quantity(symbol, side)
            rules = world.venue.markets()[symbol]
            assert ours == theirs or not tradable(abs(ours - theirs), world.prices[symbol], rules), (
                f"{symbol} {side}: ours {ours}, exchange {theirs}"
            )


def check_final(world: World, ledger: Ledger) -> None:
    journal = world.store.read_journal()
    closed_events = Counter(e.payload["position_id"] for e in journal if e.kind == "position.closed")
    assert all(n == 1 for n in closed_events.values()), closed_events
    stored = {k[len(CLOSED_PREFIX) :] for k in world.store.keys(CLOSED_PREFIX)}
    assert set(closed_events) == stored, "journal and store disagree on closed positions"
    opened = {e.payload["position_id"] for e in journal if e.kind == "position.opened"}
    open_now = set(world.ex.book.records)
    assert opened == open_now | stored, f"lost positions: {opened - open_now - stored}"
    assert set(ledger.closed) <= stored
    assert not ledger.exposed or all(
        pid not in open_now or protected(world, world.ex.book.records[pid], live_orders(world))
        for pid in ledger.exposed
    )
    assert world.store.verify_journal().ok


# ---------------------------------------------------------------- the test


def _scratch() -> Path:
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None  # tmpfs: fsync is cheap
    return Path(tempfile.mkdtemp(prefix="tw-sim-", dir=base))


@pytest.mark.timeout(max(300, SCHEDULES // 10 + 120))  # the long run (20,000 schedules) needs more than the default
def test_random_schedules_keep_every_invariant(capsys: pytest.CaptureFixture[str]) -> None:
    seeds = [int(ONLY_SEED)] if ONLY_SEED else list(range(SCHEDULES))
    stats = Stats()
    scratch = _scratch()
    started = time.perf_counter()

    async def run_all() -> None:
        for seed in seeds:
            try:
                await run_schedule(seed, scratch / f"sim{seed // 250}.sqlite3", stats)
            except AssertionError as exc:
                raise AssertionError(f"seed {seed} (replay: TRADEWAKE_SIM_SEED={seed}): {exc}") from exc

    try:
        asyncio.run(run_all())
    finally:
        for item in scratch.iterdir():
            item.unlink()
        scratch.rmdir()
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nsafety simulation: {stats.schedules} schedules, {stats.steps} steps checked "
            f"({stats.faulty_steps} with faults), {stats.entries} entries, {sum(stats.closes.values())} closes "
            f"{dict(sorted(stats.closes.items()))}, {stats.faults} wire faults, {stats.save_failures} failed saves, "
            f"{stats.restarts} restarts, {stats.reconciles} reconciliations, "
            f"{stats.hidden_after_fault} positions briefly unprotected behind a fault, "
            f"vetoes {dict(stats.vetoes.most_common(6))}; {elapsed:.1f}s"
        )
    assert stats.schedules == len(seeds)
    assert stats.entries > 0 and sum(stats.closes.values()) > 0
