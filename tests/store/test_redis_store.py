"""Redis-only properties: namespaced keys, durability across a killed server (AOF), broken-server errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from core.errors import OperationalError
from core.ports import NewEvent, OperatorCommand, Write
from store.redis_store import RedisStore
from tests.redis_server import RedisServer

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def namespace() -> str:
    return f"r{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield raw
    raw.close()


def _use_everything(store: RedisStore) -> None:
    store.transact([Write(key="pos/BTC", value={"qty": "1"})], [NewEvent(kind="k", at=T0, payload={})])
    store.put("gone", {"n": 1})
    store.transact([Write(key="gone", value=None)])
    store.submit_command(OperatorCommand(idempotency_key="c1", kind="halt", submitted_at=T0))


def test_every_key_lives_under_the_namespace(redis_server: RedisServer, client: redis.Redis, namespace: str) -> None:
    store = RedisStore(redis_server.url, namespace)
    _use_everything(store)
    store.close()
    created = sorted(client.scan_iter(match=f"*{namespace}*"))
    assert created, "the store wrote nothing?"
    assert all(key.startswith(f"{{{namespace}}}:") for key in created), created


def test_a_key_of_the_wrong_type_fails_loudly_and_writes_nothing(
    redis_server: RedisServer, client: redis.Redis, namespace: str
) -> None:
    store = RedisStore(redis_server.url, namespace)
    client.set(f"{{{namespace}}}:doc:b", "clobbered by hand")
    with pytest.raises(OperationalError, match="wrong_type"):
        store.transact(
            [Write(key="a", value={"n": 1}), Write(key="b", value={"n": 1})], [NewEvent(kind="k", at=T0, payload={})]
        )
    assert store.get("a") is None
    assert store.read_journal() == []
    store.close()


def test_the_client_never_resends_a_command_by_itself(redis_server: RedisServer, namespace: str) -> None:
    """A resent script after a lost reply could apply a transaction twice: retries are ours to decide."""
    store = RedisStore(redis_server.url, namespace)
    assert store._redis.client.get_retry().get_retries() == 0  # type: ignore[union-attr]
    store.close()


def test_a_killed_server_is_an_operational_error_and_aof_keeps_every_commit(tmp_path: Path, namespace: str) -> None:
    server = RedisServer(tmp_path / "aof", appendonly=True).start()
    try:
        store = RedisStore(server.url, namespace, timeout_s=2.0)
        _use_everything(store)
        before = (store.get_many(["pos/BTC", "gone"]), store.keys(), store.read_journal(), store.pending_commands())
        server.kill()  # SIGKILL: only what was fsynced to the append-only file survives
        with pytest.raises(OperationalError):
            store.get("pos/BTC")
        server.start()  # same port, same directory
        after = (store.get_many(["pos/BTC", "gone"]), store.keys(), store.read_journal(), store.pending_commands())
        assert after == before  # the same store object reconnects
        assert store.verify_journal().ok
        store.close()
    finally:
        server.kill()
