"""Websocket connections of the venue: who listens to what, and delivery in order without blocking the venue.

Every connection has a queue and one sender task, so publishing (from a replay step or a REST
handler) never waits for a slow client. A market connection subscribes to named streams
(``btcusdt@kline_5m``, ``btcusdt@trade`` ...; ``/stream`` connections get Binance's combined
``{"stream", "data"}`` wrapper); a USDⓈ-M user connection is bound to a listen key; a spot
WebSocket API connection carries ``userDataStream.subscribe.signature`` subscriptions and gets
events as ``{"subscriptionId", "event"}``.

Faults: ``drop`` aborts the TCP connections (no close frame, as a network failure does);
``silence`` stops market data for a while (wall time) and keeps the connections open.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from venue import errors

log = logging.getLogger(__name__)
Kind = Literal["market", "user", "api"]
LISTEN_KEY_VALIDITY_MS = 3_600_000
"""USDⓈ-M listen keys live 60 minutes after the last POST or PUT (Binance's documented validity)."""


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    request: web.Request
    kind: Kind
    combined: bool = False
    listen_key: str | None = None
    streams: set[str] = field(default_factory=set)
    subscriptions: set[int] = field(default_factory=set)
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    sender: asyncio.Task[None] | None = None

    def send(self, payload: Any) -> None:
        self.queue.put_nowait(json.dumps(payload, separators=(",", ":")))


class StreamHub:
    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.silenced_until_ms = 0
        self.dropped = 0
        self._next_subscription = 0

    # ------------------------------------------------------------------ lifecycle

    def open(self, connection: Connection) -> Connection:
        connection.sender = asyncio.create_task(self._send_loop(connection))
        self.connections.add(connection)
        return connection

    async def close(self, connection: Connection) -> None:
        self.connections.discard(connection)
        connection.queue.put_nowait(None)
        if connection.sender is not None:
            await connection.sender

    async def _send_loop(self, connection: Connection) -> None:
        while (message := await connection.queue.get()) is not None:
            if connection.ws.closed:
                return
            try:
                await connection.ws.send_str(message)
            except (ConnectionError, RuntimeError) as exc:  # the peer went away mid-send: its handler ends it
                log.info("websocket %s: send failed (%s)", connection.request.path, exc)
                return

    async def close_all(self) -> None:
        for connection in list(self.connections):
            await connection.ws.close()
            await self.close(connection)

    # ------------------------------------------------------------------ publishing

    def new_subscription(self, connection: Connection) -> int:
        ident = self._next_subscription
        self._next_subscription += 1
        connection.subscriptions.add(ident)
        return ident

    def listeners(self, stream: str) -> bool:
        return any(stream in c.streams for c in self.connections)

    def publish_market(self, stream: str, payload: Any, wall_ms: int) -> None:
        if wall_ms < self.silenced_until_ms:
            return
        for connection in self.connections:
            if stream in connection.streams:
                connection.send({"stream": stream, "data": payload} if connection.combined else payload)

    def publish_user(self, payload: Any, *, valid_key: set[str]) -> None:
        """Spot: to every WebSocket API subscription; USDⓈ-M: to every connection of a live listen key."""
        for connection in self.connections:
            if connection.kind == "api":
                for ident in sorted(connection.subscriptions):
                    connection.send({"subscriptionId": ident, "event": payload})
            elif connection.kind == "user" and connection.listen_key in valid_key:
                connection.send(payload)

    # ------------------------------------------------------------------ faults

    def drop(self, streams: Literal["market", "user", "all"] = "all") -> int:
        """Abort the matching connections' TCP transports (no close frame); returns how many."""
        dropped = 0
        for connection in list(self.connections):
            is_user = connection.kind in ("user", "api")
            if streams == "all" or (streams == "user") == is_user:
                transport = connection.request.transport
                if transport is not None:
                    transport.abort()
                dropped += 1
        self.dropped += dropped
        return dropped

    def silence(self, until_ms: int) -> None:
        self.silenced_until_ms = max(self.silenced_until_ms, until_ms)

    def end_listen_key(self, key: str, event_ms: int) -> None:
        """Tell a key's connections it expired (Binance's ``listenKeyExpired``) and close them."""
        for connection in list(self.connections):
            if connection.listen_key == key:
                connection.send({"e": "listenKeyExpired", "E": event_ms, "listenKey": key})
                connection.queue.put_nowait(None)
                task = asyncio.ensure_future(connection.ws.close())
                task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future[Any]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        if task.exception() is not None:
            log.warning("closing a websocket failed: %s", task.exception())


class ListenKeys:
    """USDⓈ-M listen keys: one active key for the venue's one API key, valid 60 minutes from the last
    POST or PUT (wall time); a POST while one is active returns it and extends it, as Binance does."""

    def __init__(self, validity_ms: int = LISTEN_KEY_VALIDITY_MS) -> None:
        self.validity_ms = validity_ms
        self._expires: dict[str, int] = {}
        self._issued = 0

    def create(self, now_ms: int) -> str:
        live = [k for k, until in self._expires.items() if until > now_ms]
        if live:
            key = live[0]
        else:
            self._issued += 1
            key = hashlib.sha256(f"tradewake-venue-listen-key-{self._issued}".encode()).hexdigest()[:60]
        self._expires[key] = now_ms + self.validity_ms
        return key

    def keepalive(self, key: str, now_ms: int) -> None:
        if self._expires.get(key, 0) <= now_ms:
            raise errors.listen_key_unknown()
        self._expires[key] = now_ms + self.validity_ms

    def delete(self, key: str) -> None:
        if self._expires.pop(key, None) is None:
            raise errors.listen_key_unknown()

    def valid(self, now_ms: int) -> set[str]:
        return {k for k, until in self._expires.items() if until > now_ms}

    def expire(self, now_ms: int) -> list[str]:
        """Remove and return the keys whose validity has run out."""
        gone = [k for k, until in self._expires.items() if until <= now_ms]
        for key in gone:
            del self._expires[key]
        return gone
