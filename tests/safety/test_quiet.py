"""The quiet bands (``safety/quiet.py``, ``exchange/sim/quiet.py``) against the real thing: on the real simulated
exchange and the real safety stack, a price the bands call quiet must make neither act (no fill, no order, no
journal event, no state change), whatever the position (spot or futures, long or short, take-profit, trailing
stop) and wherever the random walk has taken it. A backtest skips exactly such candles."""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.quiet import QuietBand
from core.settings import RiskSettings
from core.types import Order, PositionSide, Signal
from safety.proposals import EntryProposal
from safety.verdicts import Approved
from safety.veto import veto
from tests.safety.simworld import World


def quiet_at(band: QuietBand, price: Decimal) -> bool:
    """A tick at ``price`` (a bar whose low, high and close are all ``price``) is quiet for ``band``: what the live
    loop's guard asks (``QuietBand.acts_at``) before it spends requests on a pass; the walks below check it against
    what a pass then does."""
    return not band.acts_at(price)


def test_a_tick_acts_at_and_beyond_each_bound_and_always_on_every_candle() -> None:
    band = QuietBand(range_low=Decimal(95), close_high=Decimal(110))
    assert [band.acts_at(Decimal(p)) for p in (94, 95, 96, 109, 110, 111)] == [True, True, False, False, True, True]
    assert QuietBand(every_candle=True).acts_at(Decimal(100)) and not QuietBand().acts_at(Decimal(100))


async def open_one(world: World, side: str, take_profit: float | None, trailing: tuple[float, float] | None) -> None:
    symbol = world.symbols[0]
    price = world.prices[symbol]
    sign = 1 if side == "long" else -1
    fields: dict[str, object] = {
        "symbol": symbol, "side": side, "size_pct": 10, "stop_loss": price * (1 - sign * Decimal("0.03")),
        "signals": (Signal.MOMENTUM,), "idempotency_key": "k",
    }  # fmt: skip
    if take_profit is not None:
        fields["take_profit"] = price * (1 + sign * Decimal(str(take_profit)) / 100)
    if trailing is not None:
        fields["trailing_activation_pct"], fields["trailing_distance_pct"] = trailing
    proposal = EntryProposal.model_validate(fields)
    verdict = veto(proposal, world.portfolio(), world.market(), world.limits(), world.ex.book.board, world.now)
    assert isinstance(verdict, Approved), verdict
    await world.ex.execute(verdict, world.now)


async def walk(world: World, rng: random.Random, moves: int) -> tuple[int, int]:
    """Random ticks; every tick the bands call quiet must leave everything as it was. Returns (quiet, acted)."""
    symbol = world.symbols[0]
    quiet = acted = 0
    for _ in range(moves):
        if not world.ex.book.records:
            break
        band = world.ex.quiet_bands([symbol])[symbol].merge(world.venue.quiet_bands([symbol])[symbol])
        price = world.prices[symbol] * Decimal(str(1 + rng.uniform(-0.02, 0.02)))
        price = world.venue.markets()[symbol].price(price)
        before = (len(world.store.read_journal()), len(world.venue.events()), world.ex.book.records.copy())
        world.move(symbol, price)
        report = await world.step()
        if quiet_at(band, price):
            quiet += 1
            after = (len(world.store.read_journal()), len(world.venue.events()), world.ex.book.records)
            assert report.actions == 0 and not report.closed and not report.errors, (price, band, report)
            assert after == before, (price, band)
        else:
            acted += 1
    return quiet, acted


POSITIONS = dict(
    market_type=st.sampled_from(["spot", "future"]),
    side=st.sampled_from(["long", "short"]),
    take_profit=st.one_of(st.none(), st.floats(0.5, 4)),
    trailing=st.one_of(st.none(), st.tuples(st.floats(0.2, 2), st.floats(0.3, 2))),
    seed=st.integers(0, 10_000),
)
"""A position the guard manages (a spot short is read as a long), with or without take-profit and trailing."""


@settings(max_examples=60, deadline=None)
@given(**POSITIONS)
def test_a_price_inside_the_bands_makes_nothing_act(
    market_type: str, side: str, take_profit: float | None, trailing: tuple[float, float] | None, seed: int
) -> None:
    if market_type == "spot" and side == "short":
        side = "long"
    with tempfile.TemporaryDirectory() as tmp:
        world = World.create(Path(tmp) / "w.sqlite3", market_type=market_type, risk=RiskSettings(watchdog_grace_s=0))
        try:
            asyncio.run(_scenario(world, side, take_profit, trailing, seed))
        finally:
            world.store.close()


async def _scenario(world: World, side: str, take_profit: float | None, trailing: tuple[float, float] | None,
                    seed: int) -> None:  # fmt: skip
    assert (await world.reconcile()).ok
    await open_one(world, side, take_profit, trailing)
    await walk(world, random.Random(seed), 40)


def test_the_walk_sees_quiet_ticks_and_acting_ones() -> None:
    """The property above is not vacuous: on one seeded walk both kinds occur, for a plain stop and for a
    trailing stop."""
    for trailing in (None, (0.5, 1.0)):
        with tempfile.TemporaryDirectory() as tmp:
            world = World.create(Path(tmp) / "w.sqlite3", market_type="future", risk=RiskSettings(watchdog_grace_s=0))
            try:
                counts = asyncio.run(_counted(world, trailing))
            finally:
                world.store.close()
            assert counts[0] >= 5 and counts[1] >= 1, counts


async def _counted(world: World, trailing: tuple[float, float] | None) -> tuple[int, int]:
    assert (await world.reconcile()).ok
    await open_one(world, PositionSide.LONG.value, None, trailing)
    return await walk(world, random.Random(3), 60)


def _journal(world: World) -> list[tuple[str, object, object]]:
    return [(e.kind, e.at, e.payload) for e in world.store.read_journal()]


@settings(max_examples=25, deadline=None)
@given(**POSITIONS)
def test_a_guard_that_skips_quiet_looks_does_what_a_looking_guard_does(
    market_type: str, side: str, take_profit: float | None, trailing: tuple[float, float] | None, seed: int
) -> None:
    """``SafetyService.skip_quiet_looks`` (a skipping backtest): over the same random walk (quiet ticks, fills,
    trailing moves, take-profits, stops), the guard that does not look again at a settled position inside its band
    on an unchanged exchange leaves, after every pass, the journal, the venue's events and the records a guard that
    looks every time leaves; and it asks the exchange for fewer orders (the walk has quiet ticks)."""
    if market_type == "spot" and side == "short":
        side = "long"
    with tempfile.TemporaryDirectory() as tmp:
        risk = RiskSettings(watchdog_grace_s=0)
        worlds = [World.create(Path(tmp) / f"{name}.sqlite3", market_type=market_type, risk=risk)
                  for name in ("looks", "skips")]  # fmt: skip
        looks, skips = worlds
        skips.ex.skip_quiet_looks(skips.venue.revision)
        asked = {id(w): 0 for w in worlds}
        for world in worlds:
            world.venue.order = _counting(world.venue.order, asked, id(world))  # type: ignore[method-assign]
        try:
            quiet = asyncio.run(_twin_walk(looks, skips, side, take_profit, trailing, seed))
        finally:
            for world in worlds:
                world.store.close()
    assert asked[id(skips)] <= asked[id(looks)]
    assert quiet == 0 or asked[id(skips)] < asked[id(looks)], (quiet, asked)


def _counting(fetch: Callable[..., Order], asked: dict[int, int], key: int) -> Callable[..., Order]:
    def counted(*args: object, **kwargs: object) -> Order:
        asked[key] += 1
        return fetch(*args, **kwargs)

    return counted


async def _twin_walk(looks: World, skips: World, side: str, take_profit: float | None,
                     trailing: tuple[float, float] | None, seed: int) -> int:  # fmt: skip
    """The same walk in both worlds, compared after every pass; returns how many ticks the bands called quiet."""
    rng, quiet = random.Random(seed), 0
    for world in (looks, skips):
        assert (await world.reconcile()).ok
        await open_one(world, side, take_profit, trailing)
        await world.step()
    symbol = looks.symbols[0]
    for _ in range(40):
        if not looks.ex.book.records:
            break
        band = looks.ex.quiet_bands([symbol])[symbol].merge(looks.venue.quiet_bands([symbol])[symbol])
        price = looks.venue.markets()[symbol].price(looks.prices[symbol] * Decimal(str(1 + rng.uniform(-0.02, 0.02))))
        quiet += quiet_at(band, price)
        for world in (looks, skips):
            world.move(symbol, price)
            await world.step()
        assert _journal(skips) == _journal(looks)
        assert skips.venue.events() == looks.venue.events()
        assert skips.ex.book.records == looks.ex.book.records
        assert skips.ex.quiet_bands([symbol]) == looks.ex.quiet_bands([symbol])
    return quiet


def test_a_live_guard_looks_at_every_pass() -> None:
    """Only a skipping backtest turns the quiet looks on: a safety stack as a live run builds it (``SafetyService``
    assembled without ``skip_quiet_looks``) asks the exchange on every pass, quiet or not."""
    with tempfile.TemporaryDirectory() as tmp:
        world = World.create(Path(tmp) / "w.sqlite3", market_type="future", risk=RiskSettings(watchdog_grace_s=0))
        asked = {0: 0}
        world.venue.order = _counting(world.venue.order, asked, 0)  # type: ignore[method-assign]
        try:
            asyncio.run(_quiet_passes(world, asked))
        finally:
            world.store.close()


async def _quiet_passes(world: World, asked: dict[int, int]) -> None:
    assert (await world.reconcile()).ok
    await open_one(world, "long", None, None)
    await world.step()
    symbol = world.symbols[0]
    for _ in range(3):
        band = world.ex.quiet_bands([symbol])[symbol]
        assert quiet_at(band, world.prices[symbol])
        before = asked[0]
        await world.step()
        assert asked[0] > before
