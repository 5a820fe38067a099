"""The one Redis client of the store package: every user gets the same options, errors and lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from core.errors import ConfigError, OperationalError
from store.leases import RedisLeases
from store.redis_client import RedisConnection
from store.redis_store import RedisStore
from store.shared_book import RedisSharedBook
from tests.redis_server import RedisServer

USERS: dict[str, Callable[..., Any]] = {"store": RedisStore, "leases": RedisLeases, "shared book": RedisSharedBook}


@pytest.mark.parametrize("user", USERS)
def test_every_user_gets_the_same_client_options(redis_server: RedisServer, user: str) -> None:
    opened = USERS[user](redis_server.url, f"c{uuid.uuid4().hex[:10]}", timeout_s=1.5)
    client = opened._redis.client
    kwargs = client.connection_pool.connection_kwargs
    try:
        assert kwargs["decode_responses"] is True
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (1.5, 1.5)
        assert client.get_retry().get_retries() == 0, "a re-sent script could apply a transaction twice"
    finally:
        opened.close()


def test_a_bad_url_is_a_config_error_that_names_the_user_and_hides_the_password() -> None:
    with pytest.raises(ConfigError, match="bad redis leases URL") as caught:
        RedisConnection("http://user:hunter2@127.0.0.1:1/0", "tw", timeout_s=1.0, what="redis leases")
    assert "hunter2" not in str(caught.value)


def test_an_unreachable_server_is_an_operational_error_on_ping() -> None:
    connection = RedisConnection("redis://127.0.0.1:1/0", "tw", timeout_s=0.5, what="redis store")
    with pytest.raises(OperationalError, match=r"redis store redis://127\.0\.0\.1:1/0 \(tw\)"):
        connection.ping()


def test_a_closed_connection_refuses_work_and_closes_once(redis_server: RedisServer) -> None:
    connection = RedisConnection(redis_server.url, "tw", timeout_s=1.0, what="redis shared book")
    with connection.translated():
        assert connection.client.ping()
    connection.close()
    connection.close()
    with pytest.raises(OperationalError, match=r"redis shared book .* \(tw\) was closed"), connection.translated():
        connection.client.ping()


def test_keys_live_under_the_namespace_hash_tag(redis_server: RedisServer) -> None:
    connection = RedisConnection(redis_server.url, "acct-1", timeout_s=1.0, what="redis leases")
    assert connection.prefix == "{acct-1}:"
    connection.close()
