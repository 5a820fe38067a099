"""Issue 21 item 3: each runner's view of the account. The veto's portfolio-level limits and the agent's
``get_portfolio`` see the account-wide figures (total exposure of every runner, the day's orders and trades, the
daily loss, the account-wide breaker) while positions and per-symbol decisions stay the runner's own. Two runners'
real SafetyServices on one simulated exchange, the shared book on a real redis-server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

from core.clock import SimClock
from core.ids import Symbol
from core.settings import RiskSettings
from exchange.sim import MarketFill, SimBroker, SimConfig, SimExchange, binance_spot_markets
from safety.proposals import EntryProposal
from safety.shared_book import SharedPortfolio, micro
from safety.verdicts import Approved, VetoCode, Vetoed
from store.shared_book import RedisSharedBook
from tests.redis_server import RedisServer
from tests.safety.desk import Desk, open_desk

BTC, ETH = Symbol("BTC/USDT"), Symbol("ETH/USDT")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {BTC: D(40000), ETH: D(3000)}


async def _two_runners(tmp_path: Path, redis_server: RedisServer, risk: RiskSettings) -> tuple[Desk, Desk, str]:
    venue = SimExchange(binance_spot_markets(), SimClock(T0),
                        SimConfig(initial_balances={"USDT": D(10_000)}, market_fill=MarketFill.IMMEDIATE))
    venue.on_price("40000", symbol=BTC)
    venue.on_price("3000", symbol=ETH)
    namespace = f"view-{uuid.uuid4().hex[:8]}"
    desks = []
    for name in ("a", "b"):
        shared = SharedPortfolio(RedisSharedBook(redis_server.url, namespace), name)
        desks.append(await open_desk(SimBroker(venue), tmp_path / f"{name}.sqlite3", venue.clock, PRICES,
                                     market_type="spot", risk=risk, shared=shared))
    return desks[0], desks[1], namespace


def _entry(symbol: Symbol, size_pct: float, stop: D, key: str) -> EntryProposal:
    return EntryProposal.model_validate({"symbol": symbol, "side": "long", "size_pct": size_pct, "stop_loss": stop,
                                         "signals": ("momentum",), "idempotency_key": key})


async def test_the_veto_and_the_agents_view_count_the_other_runners_exposure(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    a, b, _ = await _two_runners(tmp_path, redis_server, RiskSettings(max_position_pct=30, max_total_exposure_pct=50))
    assert (await a.enter(BTC, stop=D(39000), size_pct=30)).status == "filled"
    now = b.clock.now()
    view = b.safety.portfolio_view(now)
    assert view.positions == () and 2900 < view.account.exposure <= 3000, "b's own positions, the account's exposure"
    assert 29 < view.account.exposure_pct <= 30

    verdict = b.safety.check(_entry(ETH, 30, D(2900), "kb"), now)
    assert isinstance(verdict, Approved) and verdict.quantity is not None
    assert verdict.quantity * PRICES[ETH] <= D(2100), "reduced to the room the account has left (50 % - a's 30 %)"

    own = b.safety.book.portfolio(b.safety.equity)
    assert own.exposure(b.safety.market()) == 0, "without the account-wide book b's veto would allow the full 30 %"


async def test_the_accounts_day_counts_and_breaker_veto_every_runner(tmp_path: Path, redis_server: RedisServer) -> None:
    risk = RiskSettings(max_position_pct=10, max_total_exposure_pct=50, max_orders_per_day=1)
    a, b, namespace = await _two_runners(tmp_path, redis_server, risk)
    assert (await a.enter(BTC, stop=D(39000))).status == "filled"
    now = b.clock.now()
    vetoed = b.safety.check(_entry(ETH, 10, D(2900), "kb"), now)
    assert isinstance(vetoed, Vetoed) and vetoed.code is VetoCode.DAILY_ORDER_CAP, "a's order counts for b"

    book = RedisSharedBook(redis_server.url, namespace)
    day = now.strftime("%Y%m%d")
    assert book.reserve("p-elsewhere", "c", 1, exposure_cap=10**12, day=day, orders_per_day=10, trades_per_day=10,
                        daily_loss_limit=10**12).ok  # a third runner's trade that loses a lot
    book.closed("p-elsewhere", -micro(D(100_000), up=True), day=day, daily_loss_limit=1)
    assert book.state().breaker
    vetoed = b.safety.check(_entry(ETH, 10, D(2900), "kb3"), now)
    assert isinstance(vetoed, Vetoed) and vetoed.code is VetoCode.TRADING_BREAKER_OPEN
    assert "account-wide" in vetoed.message
    book.close()
