"""Build a real ``CcxtBroker`` whose HTTP layer is answered by ``FakeBinance`` (no network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import SimClock
from core.settings import ExchangeSettings, RunMode, Settings
from engine.wiring import exchange_broker
from exchange.ccxt_broker import CcxtBroker
from exchange.retry import Sleep
from exchange.sim import MarketFill, SimConfig, SimExchange, binance_futures_markets, binance_spot_markets
from tests.exchange.fake_binance import FakeBinance
from tests.exchange.simkit import T0

API_KEY = "test-key-3f9a1c7e0b2d4a6f8e1c3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a"
API_SECRET = "test-secret-8d1f3b5a7c9e0f2d4b6a8c1e3f5a7b9d0c2e4f6a8b1d3c5e7f9a0b2c4d6e8f1a"


@dataclass
class CcxtRig:
    broker: CcxtBroker
    fake: FakeBinance
    venue: SimExchange
    clock: SimClock
    slept: list[float] = field(default_factory=list)
    """Every wait the broker asked for (retry backoffs, budget throttles); each moved the clock on."""


def simulated_sleep(clock: SimClock, slept: list[float]) -> Sleep:
    """A ``Sleep`` in simulated time: the wait is recorded and the clock moves on by it (nobody waits)."""

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance_by(seconds)

    return sleep


def settings_for(market_type: str, mode: RunMode = RunMode.TESTNET, **exchange: Any) -> Settings:
    fields: dict[str, Any] = {
        "market_type": market_type,
        "symbols": ("BTC/USDT", "ETH/USDT"),
        "api_key": API_KEY,
        "api_secret": API_SECRET,
    }
    fields.update(exchange)
    return Settings(mode=mode, exchange=ExchangeSettings(**fields))


def broker_for(settings: Settings, *, clock: SimClock, seed: int, sleep: Sleep | None = None) -> CcxtBroker:
    """The broker ``tradewake run`` builds for ``settings`` (``engine.wiring`` picks the venue); its waits move
    ``clock`` on instead of sleeping."""
    return exchange_broker(settings, clock, sleep=sleep or simulated_sleep(clock, []), seed=seed)


def ccxt_rig(
    market_type: str = "spot",
    *,
    balances: dict[str, Decimal] | None = None,
    leverage: int = 5,
    settings: Settings | None = None,
    start: datetime = T0,
    **sim: Any,
) -> CcxtRig:
    """``sim``: more ``SimConfig`` fields for the venue (``spot_fees_in_received_asset``, ``liquidity_fraction`` ...)."""
    clock = SimClock(start)
    markets = binance_futures_markets() if market_type == "future" else binance_spot_markets()
    config = SimConfig(
        market_type="future" if market_type == "future" else "spot",
        initial_balances=balances or {"USDT": Decimal(10_000)},
        market_fill=MarketFill.IMMEDIATE,
        default_leverage=leverage,
        **sim,
    )
    venue = SimExchange(markets, clock, config)
    slept: list[float] = []
    sleep = simulated_sleep(clock, slept)
    broker = broker_for(settings or settings_for(market_type), clock=clock, seed=1, sleep=sleep)
    fake = FakeBinance(venue, secret=API_SECRET, api_key=API_KEY)
    fake.install(broker.exchange)
    return CcxtRig(broker, fake, venue, clock, slept)
