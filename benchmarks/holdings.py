"""What managed holdings cost a run: candles per second and store reads per candle step, through the whole engine.

Three runs over the same real candles (bundled BTC/USDT 1h, 2024-01-08 .. 2024-04-01, the operator holding
0.5 BTC on the simulated exchange), each in the same process:

- **reference**: the engine without its holdings link (what a run was before the integration);
- **nothing managed**: the link wired as every spot run has it, no holding handed over (every backtest);
- **one managed**: BTC handed over (proposed, approved, its stop and take-profit moved out of reach by an operator
  override so it stays managed the whole window): the guard protects it and drift is checked every step.

Printed: candles/s of each (best of two interleaved rounds), the ratio to the reference, the store reads
(``get``, ``get_many``, ``keys``, the command queue) per candle step, and the time spent inside the holdings
link itself per step (robust where the whole-run rates are noisy on a shared machine). The claim it checks:
nothing managed costs no read and no measurable time. With a holding managed the engine guards one more
position and reads the market for the drift check every step (no store read); the reads it does show are the
rules agent's attempts to close the holding it sees in its portfolio, each refused and journaled as the bot's
``managed.policy_change_blocked``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from backtests.data import BacktestData, select_data
from core.clock import SimClock
from core.ports import Doc, OperatorCommand, Store
from core.settings import load_settings
from core.types import Candle
from engine.engine import Engine
from engine.events import CommandsPending
from engine.holdings import HoldingsLink
from engine.replay import CandleReplay
from engine.wiring import AgentChoice, Core, build_engine, market_for, sim_markets
from exchange.sim import FixedBpsSlippage, MarketFill, SimConfig, SimExchange
from exchange.sim.broker import SimBroker
from market.candles import frame_to_candles
from store.sqlite_store import SqliteStore

WINDOW = (datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
HAND_OVER_AT = 84
"""Candles stepped before the measured part (the managed run hands BTC over there)."""


class CountingStore:
    """The run's real SQLite store, counting reads."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.reads = 0

    def get(self, key: str) -> Doc | None:
        self.reads += 1
        return self.inner.get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]:
        self.reads += 1
        return self.inner.get_many(keys)

    def keys(self, prefix: str = "") -> list[str]:
        self.reads += 1
        return self.inner.keys(prefix)

    def pending_commands(self) -> Any:
        self.reads += 1
        return self.inner.pending_commands()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _engine(data: BacktestData, path: Path) -> tuple[Engine, CandleReplay, CountingStore, list[Candle]]:
    settings = load_settings(None)
    candles = frame_to_candles(data.candles, data.symbol, data.timeframe)
    rules = sim_markets(settings, settings.backtest.fee_pct)
    clock = SimClock(candles[0].open_at)
    config = SimConfig(initial_balances={"USDT": Decimal(10_000), "BTC": Decimal("0.5")},
                       market_fill=MarketFill.NEXT_PRICE, slippage=FixedBpsSlippage(Decimal(2)))  # fmt: skip
    venue = SimExchange(list(rules.values()), clock, config)
    store = CountingStore(SqliteStore(path, durable=False))
    core = Core(settings=settings, clock=clock, broker=SimBroker(venue), store=store,
                market=market_for(data.symbol, data.all_candles, data.timeframe), rules=venue.markets(),
                initial_equity=Decimal(10_000), seed=1)  # fmt: skip
    engine = await build_engine(core, AgentChoice(), gate_persist_every=1_000_000)
    return engine, CandleReplay(engine, clock, venue, candles), store, candles


async def _operator(engine: Engine, store: Store, key: str, kind: str, **args: Any) -> None:
    at = engine.clock.now()
    command = OperatorCommand(idempotency_key=key, kind=kind, args=args, submitted_at=at, submitted_by="bench")
    store.submit_command(command)
    await engine.step(CommandsPending(at=at, count=1))


@dataclass
class Measured:
    rate: float
    """Candles per second through the whole engine."""
    reads: float
    """Store reads per candle step."""
    own_us: float
    """Microseconds per step spent inside the holdings link itself (``HoldingsLink.step``)."""


def _timed(link: HoldingsLink) -> list[float]:
    """Wrap the link's step with a timer; the list collects its seconds."""
    spent: list[float] = []
    inner = link.step

    async def step(event: Any, now: Any) -> Any:
        started = time.perf_counter()
        try:
            return await inner(event, now)
        finally:
            spent.append(time.perf_counter() - started)

    link.step = step  # type: ignore[method-assign]
    return spent


async def _run(data: BacktestData, path: Path, variant: str) -> Measured:
    engine, replay, store, candles = await _engine(data, path)
    if variant == "reference":
        engine.holdings = None
    for candle in candles[:HAND_OVER_AT]:
        await replay.step(candle)
    if variant == "managed":
        await _operator(engine, store, "p", "holdings.propose", asset="BTC")
        await _operator(engine, store, "a", "holdings.approve", proposal_id="BTC-1", confirm="BTC:recommended")
        price = Decimal(str(candles[HAND_OVER_AT - 1].close))
        far = {"stop": str((price / 3).quantize(Decimal("0.01"))), "take_profit": str(price * 3)}
        await _operator(engine, store, "o", "holdings.override", asset="BTC", entry_price=str(price), **far)
        assert [p.id for p in engine.safety.positions()], "the holding is guarded"
    measured = candles[HAND_OVER_AT:]
    spent = _timed(engine.holdings) if engine.holdings is not None else []
    store.reads = 0
    started = time.perf_counter()
    for candle in measured:
        await replay.step(candle)
    elapsed = time.perf_counter() - started
    if variant == "managed":
        assert engine.holdings is not None
        assert engine.holdings.busy, "still managed at the end"
    store.inner.close()
    return Measured(len(measured) / elapsed, store.reads / len(measured), sum(spent) / len(measured) * 1e6)


VARIANTS = {"reference": "reference", "nothing managed": "nothing", "one managed": "managed"}
ROUNDS = 2
"""Each variant runs this often, interleaved; the best rate counts (the machine may be shared)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks holdings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds per variant (best counts)")
    rounds = parser.parse_args(argv or []).rounds
    data = select_data(start=WINDOW[0], end=WINDOW[1])
    best: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds):
            for name, variant in VARIANTS.items():
                got = asyncio.run(_run(data, Path(tmp) / f"{round_}-{variant}.sqlite3", variant))
                if name not in best or got.rate > best[name].rate:
                    best[name] = got
    reference = best["reference"].rate
    print(f"series: {data.symbol} {data.timeframe}, {len(data.candles) - HAND_OVER_AT:,} candles measured "
          f"({WINDOW[0]:%Y-%m-%d} to {WINDOW[1]:%Y-%m-%d}), the operator holding 0.5 BTC; best of {rounds}")
    for name, m in best.items():
        share = m.own_us / (1e6 / m.rate) * 100
        print(f"{name:<16}: {m.rate:8,.0f} candles/s  ratio {m.rate / reference:5.2f}  store reads/step {m.reads:.3f}"
              f"  holdings' own time {m.own_us:8.1f} us/step ({share:.2f} % of a step)")


if __name__ == "__main__":
    main()
