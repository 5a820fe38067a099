"""Issue 21 item 1 on a real redis-server: acquire with a new token (one Lua script), renew and release only by
the owner, the fence before each order-side write, and many threads racing for one symbol."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from core.ids import Symbol
from safety.leases import LeaseHolder, TakeoverStage
from store.leases import RedisLeases
from tests.redis_server import RedisServer

BTC, ETH = Symbol("BTC/USDT"), Symbol("ETH/USDT")


@pytest.fixture
def leases(redis_server: RedisServer) -> RedisLeases:
    return RedisLeases(redis_server.url, f"lease-{uuid.uuid4().hex[:8]}")


def test_acquire_gives_a_new_token_each_time_the_symbol_changes_hands(leases: RedisLeases) -> None:
    first = leases.acquire(BTC, "a", 60_000)
    assert first == 1
    assert leases.acquire(BTC, "b", 60_000) is None, "held: nobody else gets it"
    assert leases.acquire(BTC, "a", 60_000) is None, "not even its owner again (a paused twin must stay fenced)"
    assert leases.release(BTC, "b", 1) is False, "only the owner releases"
    assert leases.release(BTC, "a", 1) is True
    assert leases.acquire(BTC, "b", 60_000) == 2
    assert leases.acquire(ETH, "b", 60_000) == 1, "one counter per symbol"


def test_renew_only_by_the_owner_under_its_token_and_an_expired_lease_is_free(leases: RedisLeases) -> None:
    token = leases.acquire(BTC, "a", 150)
    assert token is not None
    assert leases.renew(BTC, "a", token, 150)
    assert not leases.renew(BTC, "b", token, 150)
    assert not leases.renew(BTC, "a", token + 1, 150)
    time.sleep(0.25)
    assert not leases.renew(BTC, "a", token, 150), "expired: lost, not silently revived"
    assert leases.read([BTC], 0)[BTC] is None
    assert leases.acquire(BTC, "b", 60_000) == token + 1


def test_the_fence_passes_only_the_current_token_under_a_live_lease(leases: RedisLeases) -> None:
    token = leases.acquire(BTC, "a", 100)
    assert token is not None
    assert leases.fence(BTC, "a", token).ok
    assert not leases.fence(BTC, "b", token).ok
    time.sleep(0.15)
    expired = leases.fence(BTC, "a", token)
    assert not expired.ok and expired.holder == "", "an expired lease fences its old owner out even before a takeover"
    newer = leases.acquire(BTC, "b", 60_000)
    stale = leases.fence(BTC, "a", token)
    assert (stale.ok, stale.current_token, stale.holder) == (False, newer, "b")


def test_threads_racing_for_a_symbol_one_wins_each_round_and_tokens_only_go_up(leases: RedisLeases) -> None:
    winners: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def race(runner: str) -> None:
        client = RedisLeases(_url(leases), leases.namespace)
        for _ in range(20):
            barrier.wait()
            token = client.acquire(BTC, runner, 60_000)
            if token is not None:
                with lock:
                    winners.append((token, runner))
                client.release(BTC, runner, token)
            barrier.wait()
        client.close()

    threads = [threading.Thread(target=race, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tokens = [token for token, _ in winners]
    assert len(tokens) == len(set(tokens)), "never two holders under one token"
    assert 20 <= len(tokens) <= 20 * 8 and tokens == sorted(tokens)


def test_a_holder_drops_a_symbol_whose_renewal_failed_and_is_refused_once_another_took_it(
    leases: RedisLeases,
) -> None:
    a = LeaseHolder("a", (BTC, ETH), leases, ttl_ms=120)
    outcome = a.round(now_ms=0)
    assert outcome.acquired == (BTC, ETH) and a.holds(BTC) and not a.trading(BTC)
    assert a.advance(BTC, reconciled=True, unprotected=0) is TakeoverStage.PROTECTING
    assert a.advance(BTC, reconciled=True, unprotected=0) is TakeoverStage.TRADING
    time.sleep(0.2)  # a pause past the lease
    b = LeaseHolder("b", (BTC,), leases, ttl_ms=60_000)
    assert b.round(now_ms=10_000).acquired == (BTC,)
    refused = a.check_write(BTC)
    assert not refused.ok and refused.holder == "b" and a.refused == 1
    assert not a.holds(BTC) and not a.trading(BTC), "refused once, the symbol is dropped"
    assert a.check_write(BTC).ok is False and a.refused == 2
    assert b.check_write(BTC).ok
    lost = a.round(now_ms=10_000)
    assert ETH in lost.lost or ETH in lost.acquired, "ETH expired too: lost, or free again and re-acquired"


def test_heartbeats_show_live_runners_and_remember_the_gone(leases: RedisLeases) -> None:
    leases.beat("a", (BTC,), 1000, 60_000, 11)
    leases.beat("b", (ETH,), 1000, 100, 12)
    time.sleep(0.15)
    live, gone = leases.heartbeats()
    assert [(h.runner, h.symbols, h.pid) for h in live] == [("a", (BTC,), 11)]
    assert gone == ["b"]


def _url(leases: RedisLeases) -> str:
    kwargs = leases._redis.client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"
