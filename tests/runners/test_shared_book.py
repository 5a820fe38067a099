"""Issue 21 item 2: the account-wide book on a real redis-server. Threads and processes hammering the
reservation script never pass a cap together; two runners' safety services, each approving by its own veto,
cannot both enter when only one fits; releases, fills and closes keep the book exact."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clock import SimClock
from core.ids import Symbol
from core.settings import RiskSettings, RunMode
from exchange.sim import MarketFill, SimBroker, SimConfig, SimExchange, binance_spot_markets
from safety.proposals import EntryProposal
from safety.shared_book import SharedPortfolio, caps_for, micro
from safety.verdicts import Approved, VetoCode
from store.shared_book import RedisSharedBook
from tests.redis_server import RedisServer
from tests.safety.desk import open_desk

BTC, ETH = Symbol("BTC/USDT"), Symbol("ETH/USDT")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
CAP = 1_000_000_000  # 1,000 USDT in micro-units
ONE = 70_000_000  # 70 USDT: 14 fit under the cap, the 15th does not


def _reserve(book: RedisSharedBook, rid: str, runner: str, notional: int = ONE, **caps: int) -> bool:
    limits = {"exposure_cap": CAP, "orders_per_day": 10_000, "trades_per_day": 10_000,
              "daily_loss_limit": 10**12, **caps}
    return book.reserve(rid, runner, notional, day="20240101", **limits).ok


@pytest.fixture
def namespace() -> str:
    return f"book-{uuid.uuid4().hex[:8]}"


def test_threads_racing_for_the_exposure_cap_pass_exactly_the_ones_that_fit(
    redis_server: RedisServer, namespace: str
) -> None:
    passed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def runner(name: str) -> None:
        book = RedisSharedBook(redis_server.url, namespace)
        barrier.wait()
        for i in range(10):
            if _reserve(book, f"{name}-{i}", name):
                with lock:
                    passed.append(f"{name}-{i}")
        book.close()

    threads = [threading.Thread(target=runner, args=(f"r{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = RedisSharedBook(redis_server.url, namespace).state()
    assert len(passed) == CAP // ONE == 14, "exactly the ones that fit: no breach, none lost"
    assert state.exposure == 14 * ONE <= CAP and state.reservations == 14


def test_processes_racing_for_the_exposure_cap_never_breach_it(redis_server: RedisServer, namespace: str) -> None:
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.runners.workers", "hammer-book", redis_server.url, namespace,
                          f"p{n}", "10", str(ONE), str(CAP)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    wins = [int(process.communicate(timeout=60)[0]) for process in processes]
    assert sum(wins) == 14, wins
    assert RedisSharedBook(redis_server.url, namespace).state().exposure == 14 * ONE


def test_release_fill_and_close_keep_the_book_exact_and_a_loss_opens_the_shared_breaker(
    redis_server: RedisServer, namespace: str
) -> None:
    book = RedisSharedBook(redis_server.url, namespace)
    assert _reserve(book, "a", "r1") and _reserve(book, "b", "r2")
    assert _reserve(book, "a", "r1"), "the same reservation twice reserves once"
    assert book.state().exposure == 2 * ONE and book.state().orders == 2
    assert book.release("b") and not book.release("b")
    assert book.state().exposure == ONE and book.state().orders == 1
    assert book.filled("a", ONE // 2) and book.state().exposure == ONE // 2
    assert book.closed("a", -50_000_000, day="20240101", daily_loss_limit=40_000_000)
    assert not book.closed("a", -50_000_000, day="20240101", daily_loss_limit=40_000_000), "a close counts once"
    state = book.state()
    assert (state.exposure, state.pnl, state.reservations) == (0, -50_000_000, 0)
    assert state.breaker, "the day's loss passed the limit: the account-wide breaker opened"
    refused = book.reserve("c", "r3", 1, exposure_cap=CAP, day="20240101", orders_per_day=99, trades_per_day=99,
                           daily_loss_limit=40_000_000)
    assert (refused.ok, refused.code) == (False, "trading_breaker_open")
    book.reset_breaker()
    assert not _reserve(book, "c", "r3", daily_loss_limit=40_000_000), "the day's loss still stands"
    assert _reserve(book, "d", "r3", 1), "the loss limit is per day: a new day starts from zero"
    assert book.state().day == "20240101"


def test_the_day_orders_and_trades_caps_hold_across_runners(redis_server: RedisServer, namespace: str) -> None:
    book = RedisSharedBook(redis_server.url, namespace)
    assert _reserve(book, "a", "r1", 1, orders_per_day=2)
    assert _reserve(book, "b", "r2", 1, orders_per_day=2)
    refused = book.reserve("c", "r3", 1, exposure_cap=CAP, day="20240101", orders_per_day=2, trades_per_day=99,
                           daily_loss_limit=10**12)
    assert (refused.ok, refused.code) == (False, "daily_order_cap")
    assert _reserve(book, "c", "r3", 1, orders_per_day=2) is False
    next_day = book.reserve("c", "r3", 1, exposure_cap=CAP, day="20240102", orders_per_day=2, trades_per_day=99,
                            daily_loss_limit=10**12)
    assert next_day.ok, "a new day counts from zero"


@given(st.decimals(min_value=D("0.000001"), max_value=D(10**9), places=8))
def test_micro_units_round_notionals_up_so_a_cap_is_never_passed_by_rounding(amount: D) -> None:
    assert D(micro(amount, up=True)) / 10**6 >= amount
    assert D(micro(amount, up=False)) / 10**6 <= amount


async def test_two_runners_approving_at_once_cannot_both_enter_over_the_account_cap(
    tmp_path: Path, redis_server: RedisServer, namespace: str
) -> None:
    venue = SimExchange(binance_spot_markets(), SimClock(T0),
                        SimConfig(initial_balances={"USDT": D(10_000)}, market_fill=MarketFill.IMMEDIATE))
    venue.on_price("40000", symbol=BTC)
    venue.on_price("3000", symbol=ETH)
    risk = RiskSettings(max_position_pct=30, max_total_exposure_pct=50)
    desks = []
    for name in ("a", "b"):
        shared = SharedPortfolio(RedisSharedBook(redis_server.url, namespace), name)
        desks.append(await open_desk(SimBroker(venue), tmp_path / f"{name}.sqlite3", venue.clock,
                                     {BTC: D(40000), ETH: D(3000)}, market_type="spot", risk=risk, shared=shared))
    verdicts = []
    for desk, symbol, stop in ((desks[0], BTC, D(39000)), (desks[1], ETH, D(2900))):
        proposal = EntryProposal.model_validate({"symbol": symbol, "side": "long", "size_pct": 30, "stop_loss": stop,
                                                 "signals": ("momentum",), "idempotency_key": f"k-{symbol}"})
        verdict = desk.safety.check(proposal, venue.clock.now())
        assert isinstance(verdict, Approved), "each runner's own veto sees only its own book: both approve"
        verdicts.append(verdict)
    first = await desks[0].safety.execute(verdicts[0], venue.clock.now())
    second = await desks[1].safety.execute(verdicts[1], venue.clock.now())
    assert first.status == "filled"  # type: ignore[union-attr]
    assert second.status == "not_sent"  # type: ignore[union-attr]
    refused = desks[1].journal("entry.refused")
    assert refused and refused[0]["code"] == VetoCode.EXPOSURE_CAP
    assert venue.open_orders(ETH) == [] and desks[1].safety.positions() == ()
    state = RedisSharedBook(redis_server.url, namespace).state()
    cap = caps_for(risk, RunMode.TESTNET, D(10_000)).exposure_cap
    assert 0 < state.exposure <= cap and state.reservations == 1
