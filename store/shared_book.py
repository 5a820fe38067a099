"""The account-wide book of several runners on Redis: exposure, the day's orders, trades and P&L, and the
trading breaker, each change one Lua script (``book_reserve.lua``, ``book_release.lua``, ``book_settle.lua``).

Keys (the account's namespace, a Redis hash tag): ``{ns}:book`` (hash) and ``{ns}:resv:<id>`` (one hash per
reservation, id = the position id). Money is integer micro-units of the quote asset (exact in Lua's doubles up
to 9e9 units). ``safety.shared_book`` decides what to reserve; this module only counts, atomically. Like
``store.redis_store`` it owns a ``redis`` client; its errors become ``OperationalError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from core.errors import ConfigError, OperationalError
from store import records


@dataclass(frozen=True, slots=True)
class Reserved:
    ok: bool
    code: str = ""
    """Why not: trading_breaker_open, daily_loss, trades_cap, daily_order_cap, exposure_cap (or ``exists``)."""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class BookState:
    day: str
    exposure: int
    orders: int
    trades: int
    pnl: int
    breaker: str
    reservations: int


class RedisSharedBook:
    def __init__(self, url: str, namespace: str = "tw", *, timeout_s: float = 5.0) -> None:
        self.namespace = records.check_namespace(namespace)
        self.url = records.redact_url(url)
        self._prefix = f"{{{self.namespace}}}:"
        self._closed = False
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as exc:
            raise ConfigError(f"bad redis URL {self.url}: {exc}") from exc
        self._reserve = self._script("book_reserve.lua")
        self._release = self._script("book_release.lua")
        self._settle = self._script("book_settle.lua")

    def _script(self, name: str) -> Script:
        return self._client.register_script(resources.files("store").joinpath(name).read_text(encoding="utf-8"))

    @contextmanager
    def _translated(self) -> Iterator[None]:
        if self._closed:
            raise OperationalError(f"redis shared book {self.url} ({self.namespace}) is closed")
        try:
            yield
        except redis.RedisError as exc:
            raise OperationalError(f"redis shared book {self.url} ({self.namespace}): {exc}") from exc

    def _run(self, script: Script, reservation: str, args: list[str | int]) -> Any:
        with self._translated():
            return script(keys=[f"{self._prefix}book", f"{self._prefix}resv:{reservation}"], args=args)

    def reserve(
        self,
        reservation: str,
        runner: str,
        notional: int,
        *,
        exposure_cap: int,
        day: str,
        orders_per_day: int,
        trades_per_day: int,
        daily_loss_limit: int,
    ) -> Reserved:
        reply = self._run(
            self._reserve,
            reservation,
            [runner, notional, exposure_cap, day, orders_per_day, trades_per_day, daily_loss_limit],
        )
        if isinstance(reply, list) and reply and reply[0] == "ok":
            return Reserved(ok=True, detail=str(reply[1]))
        if isinstance(reply, list) and reply and reply[0] == "exists":
            return Reserved(ok=True, code="exists", detail=str(reply[1]))
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == "refused":
            return Reserved(ok=False, code=str(reply[1]), detail=str(reply[2]))
        raise OperationalError(f"redis shared book {self.url}: unexpected reserve reply {reply!r}")

    def release(self, reservation: str) -> bool:
        return bool(int(self._run(self._release, reservation, [])))

    def filled(self, reservation: str, notional: int) -> bool:
        reply = self._run(self._settle, reservation, ["fill", notional, "", 0])
        return isinstance(reply, list) and reply[0] == "ok"

    def closed(self, reservation: str, pnl: int, *, day: str, daily_loss_limit: int) -> bool:
        reply = self._run(self._settle, reservation, ["close", pnl, day, daily_loss_limit])
        return isinstance(reply, list) and reply[0] == "ok"

    def reset_breaker(self) -> None:
        """The operator's ``resume`` (a person decided): the account-wide trading breaker closes."""
        with self._translated():
            self._client.hdel(f"{self._prefix}book", "breaker")

    def state(self) -> BookState:
        with self._translated():
            row = self._client.hgetall(f"{self._prefix}book")
            count = sum(1 for _ in self._client.scan_iter(match=f"{self._prefix}resv:*", count=500))
        return BookState(
            day=str(row.get("day", "")),
            exposure=int(row.get("exposure", 0)),
            orders=int(row.get("orders", 0)),
            trades=int(row.get("trades", 0)),
            pnl=int(row.get("pnl", 0)),
            breaker=str(row.get("breaker", "")),
            reservations=count,
        )

    def close(self) -> None:
        if not self._closed:
            with self._translated():
                self._client.close()
            self._closed = True
