"""Managed holdings over the wire (issue 20's flow on the local venue): the engine runs over the project's
``CcxtBroker``, built by ``engine.wiring.exchange_broker`` with ``exchange.venue_url`` pointing at an in-process
spot venue, exactly as ``tradewake run --mode testnet --venue URL`` builds it. The operator holds 0.5 BTC on the
venue; propose, approve, the protective stop is on the venue in the approving step, the 2022-09-13 sell-off goes
through it, ``exit_executed``, the operator returns the asset to frozen. What happened is read from the venue's
own ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import SimClock
from core.ids import Symbol
from core.settings import StoreSettings
from core.types import ExitReason
from engine.engine import Engine
from engine.events import CandleClosed, CommandsPending
from engine.wiring import AgentChoice, Core, build_engine, exchange_broker, market_for
from exchange.retry import no_wait
from holdings.commands import HoldingsCommand
from holdings.lifecycle import HoldingState
from holdings.records import managed_position_id
from market.candles import frame_to_candles
from store.sqlite_store import SqliteStore
from tests.engine.helpers import ScriptedAgent, every_candle
from tests.exchange.ccxtkit import settings_for
from tests.holdings.world import BTC, candles, command
from tests.venue.ccxt_client import API_KEY, API_SECRET
from tests.venue.conftest import venue_config
from venue import Venue

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "holdings" / "binance_BTC-USDT_1h_2022-07.csv.gz"
START = 1770
"""Replay from 2022-09-12 18:00 (BTC near 22,300): 73 days of history give the daily ATR and the regime."""


def ledger(venue: Venue, kind: str) -> list[dict[str, Any]]:
    return [r for r in venue.ledger.records if r["kind"] == kind]


async def operator(engine: Engine, store: SqliteStore, kind: HoldingsCommand, key: str, **args: Any) -> None:
    store.submit_command(command(kind, key, at=engine.clock.now(), **args))
    await engine.step(CommandsPending(at=engine.clock.now(), count=1))
    assert store.pending_commands() == []


async def test_hold_propose_approve_stop_out_and_release_on_the_venue(tmp_path: Path) -> None:
    config = venue_config("spot", tmp_path, data=(FIXTURE,), symbols=("BTC/USDT",), warmup=START,
                          balances={"USDT": Decimal(10_000), "BTC": Decimal("0.5")})  # fmt: skip
    series = frame_to_candles(candles(BTC), Symbol("BTC/USDT"), "1h")
    async with Venue(config) as venue:
        settings = settings_for("spot", symbols=("BTC/USDT",), venue_url=venue.url, api_key=API_KEY,
                                api_secret=API_SECRET, request_timeout_s=2.0)  # fmt: skip
        settings = every_candle(settings.model_copy(update={"store": StoreSettings(url=f"sqlite:///{tmp_path}/s.db")}))
        clock = SimClock(venue.market.now)
        broker = exchange_broker(settings, clock, sleep=no_wait, seed=1)
        broker.exchange.enableRateLimit = False
        store = SqliteStore(tmp_path / "run.sqlite3", durable=False)
        try:
            await broker.check_access()
            index_of = {c.open_at + timedelta(hours=1): i for i, c in enumerate(series)}
            agent = AgentChoice(factory=lambda desk, journal, _: ScriptedAgent(desk, journal, {}, index_of))
            core = Core(settings=settings, clock=clock, broker=broker, store=store,
                        market=market_for(BTC, candles(BTC), "1h"), rules=await broker.load_markets(),
                        initial_equity=Decimal(20_000), seed=1)  # fmt: skip
            engine = await build_engine(core, agent)
            assert engine.holdings is not None

            async def next_candle() -> None:
                """The venue plays one candle (four steps); the engine steps at its close."""
                candle = series[START + played.pop()]
                for _ in range(4):
                    venue.step()
                clock.advance_to(candle.open_at + timedelta(hours=1))
                await engine.step(CandleClosed(at=clock.now(), candle=candle))

            played = list(range(40, -1, -1))
            for _ in range(6):
                await next_candle()
            await operator(engine, store, HoldingsCommand.PROPOSE, "p1", asset="BTC")
            await operator(engine, store, HoldingsCommand.APPROVE, "a1", proposal_id="BTC-1", confirm="BTC:recommended")
            service = engine.holdings.service
            assert service.holding("BTC").state is HoldingState.MANAGED_ACTIVE
            terms = service.holding("BTC").terms
            assert terms is not None
            (stop,) = [r for r in ledger(venue, "order") if r["client_order_id"].endswith("-s1")]
            assert (Decimal(stop["stop_price"]), Decimal(stop["quantity"])) == (terms.stop, terms.managed_quantity)
            assert stop["client_order_id"].split("-")[1] == managed_position_id("BTC-1")
            assert len(ledger(venue, "order")) == 1, "no entry order: the stop is the only order sent"

            while service.holding("BTC").state is not HoldingState.EXIT_EXECUTED and played:
                await next_candle()  # a drift alert on the way pauses the bot; the stop stays and decides
            holding = service.holding("BTC")
            assert (holding.state, holding.reason) == (HoldingState.EXIT_EXECUTED, ExitReason.STOP_LOSS.value)
            fills = [r for r in ledger(venue, "fill") if r["client_order_id"] == stop["client_order_id"]]
            assert sum(Decimal(r["fill_quantity"]) for r in fills) == terms.managed_quantity
            balances = await broker.fetch_balance()
            assert balances["BTC"].total == Decimal("0.5") - terms.managed_quantity, "only the managed part was sold"

            await operator(engine, store, HoldingsCommand.RELEASE, "r1", asset="BTC")
            assert service.holding("BTC").state is HoldingState.FROZEN
            orders = [r["client_order_id"] for r in ledger(venue, "order")]
            assert len(orders) == len(set(orders)), "never a duplicate order"
            kinds = [e.kind for e in store.read_journal() if e.kind.startswith("managed.")]
            assert kinds == [
                "managed.requested", "managed.generated", "managed.allocation_capped", "managed.promoted",
                "managed.synthetic_entry_set",
                "managed.drift_detected",  # the regime turned (p 0.80) before the sell-off: the bot paused itself
                "managed.exit_executed", "managed.released",
            ]  # fmt: skip
        finally:
            await broker.close()
            store.close()
