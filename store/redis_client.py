"""The one place the store package builds a ``redis`` client, loads its Lua scripts and translates its errors.

``RedisStore``, ``RedisLeases`` and ``RedisSharedBook`` each hold a :class:`RedisConnection`, so all three talk
to Redis the same way: decoded (``str``) replies; one timeout for connecting and for every reply; no automatic
re-send (a script re-sent after a lost reply could apply a transaction twice, so retries are the caller's to
decide; with none, a periodic health-check PING would only fail the same way the command does, so none is set);
every ``redis`` error an ``OperationalError`` naming the redacted URL and the namespace; a bad URL a
``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from core.errors import ConfigError, OperationalError
from store import records

__all__ = ["RedisConnection", "Script"]


class RedisConnection:
    """A client on ``url`` for one namespace. ``what`` names the user in errors (``redis store``, ``redis leases``)."""

    def __init__(self, url: str, namespace: str, *, timeout_s: float, what: str) -> None:
        self.namespace = records.check_namespace(namespace)
        self.url = records.redact_url(url)
        self.prefix = f"{{{self.namespace}}}:"
        """Every key of the namespace starts with it: a Redis hash tag, so the scripts stay legal on a cluster."""
        self._what = what
        self._closed = False
        try:
            self.client: redis.Redis = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as exc:
            raise ConfigError(f"bad {what} URL {self.url}: {exc}") from exc

    def script(self, name: str) -> Script:
        """The Lua script ``name`` of the ``store`` package, registered on this client."""
        return self.client.register_script(resources.files("store").joinpath(name).read_text(encoding="utf-8"))

    @contextmanager
    def translated(self) -> Iterator[None]:
        """The one place ``redis`` errors become ``OperationalError`` (unreachable, timeout, script error ...)."""
        if self._closed:
            raise OperationalError(f"{self._what} {self.url} ({self.namespace}) was closed")
        try:
            yield
        except redis.RedisError as exc:
            raise OperationalError(f"{self._what} {self.url} ({self.namespace}): {exc}") from exc

    def run(self, script: Script, keys: list[str], args: list[str | int]) -> Any:
        with self.translated():
            return script(keys=keys, args=args)

    def ping(self) -> None:
        """Reach the server now (an ``OperationalError`` if it does not answer); a failed ping closes the client."""
        try:
            with self.translated():
                self.client.ping()
        except OperationalError:
            self.client.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        with self.translated():
            self.client.close()
        self._closed = True
