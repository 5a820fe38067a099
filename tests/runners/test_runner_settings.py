"""Issue 21's settings and wiring: ``runner.id`` needs a Redis store and a book namespace of its own; the run gets
its leases, the account-wide book and the request budget in the account namespace, and a clean stop hands its
symbols over at once."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack

import pytest
from pydantic import ValidationError

from core.ids import Symbol
from core.settings import Settings
from engine.runners import coordination
from store.leases import RedisLeases
from store.redis_store import RedisStore
from tests.redis_server import RedisServer

BTC, ETH = Symbol("BTC/USDT"), Symbol("ETH/USDT")


def _settings(url: str, namespace: str = "r1-book", **runner: object) -> Settings:
    return Settings.model_validate({"mode": "paper", "store": {"url": url, "namespace": namespace},
                                    "runner": {"id": "r1", "account_namespace": "acct", **runner}})


def test_a_runner_needs_redis_and_its_own_book_namespace() -> None:
    with pytest.raises(ValidationError, match=r"store\.url must be redis"):
        _settings("sqlite:///x.sqlite3")
    with pytest.raises(ValidationError, match=r"must differ from store\.namespace"):
        _settings("redis://127.0.0.1:6379/0", namespace="acct")
    with pytest.raises(ValidationError):
        _settings("redis://127.0.0.1:6379/0", lease_ttl_s=0.5)
    assert Settings().runner.id is None, "a single runner by default: nothing shared"


async def test_the_run_gets_leases_book_and_budget_in_the_account_namespace_and_hands_over_on_stop(
    redis_server: RedisServer,
) -> None:
    account = f"acct{uuid.uuid4().hex[:6]}"
    settings = Settings.model_validate({"mode": "paper", "store": {"url": redis_server.url, "namespace": "r1-book"},
                                        "runner": {"id": "r1", "account_namespace": account, "lease_ttl_s": 30}})
    async with AsyncExitStack() as resources:
        shared = coordination(settings, (BTC, ETH), resources)
        assert shared is not None
        assert (shared.leases.runner, shared.leases.wanted, shared.leases.ttl_ms) == ("r1", (BTC, ETH), 30_000)
        assert isinstance(shared.counter, RedisStore) and shared.counter.namespace == account
        assert set(shared.leases.round(0).acquired) == {BTC, ETH}
        observer = RedisLeases(redis_server.url, account)
        assert {s: lease.owner for s, lease in observer.read((BTC, ETH), 0).items() if lease} == {BTC: "r1", ETH: "r1"}
        live, _ = observer.heartbeats()
        assert [(h.runner, set(h.symbols)) for h in live] == [("r1", {BTC, ETH})]
    assert observer.read((BTC, ETH), 0) == {BTC: None, ETH: None}, "a clean stop releases at once"
    async with AsyncExitStack() as resources:
        assert coordination(Settings(), (BTC,), resources) is None
