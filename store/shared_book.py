"""The account-wide book of several runners on Redis: exposure, the day's orders, trades and P&L, and the
trading breaker, each change one Lua script (``book_reserve.lua``, ``book_release.lua``, ``book_settle.lua``).

Keys (the account's namespace, a Redis hash tag): ``{ns}:book`` (hash) and ``{ns}:resv:<id>`` (one hash per
reservation, id = the position id). Money is integer micro-units of the quote asset (exact in Lua's doubles up
to 9e9 units). ``safety.shared_book`` decides what to reserve; this module only counts, atomically. Like
``store.redis_store`` it talks to Redis through ``store.redis_client``: its errors become ``OperationalError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import OperationalError
from store.redis_client import RedisConnection, Script


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
        self._redis = RedisConnection(url, namespace, timeout_s=timeout_s, what="redis shared book")
        self.namespace, self.url, self._prefix = self._redis.namespace, self._redis.url, self._redis.prefix
        self._reserve = self._redis.script("book_reserve.lua")
        self._release = self._redis.script("book_release.lua")
        self._settle = self._redis.script("book_settle.lua")

    def _run(self, script: Script, reservation: str, args: list[str | int]) -> Any:
        return self._redis.run(script, [f"{self._prefix}book", f"{self._prefix}resv:{reservation}"], args)

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
        with self._redis.translated():
            self._redis.client.hdel(f"{self._prefix}book", "breaker")

    def state(self) -> BookState:
        with self._redis.translated():
            row = self._redis.client.hgetall(f"{self._prefix}book")
            count = sum(1 for _ in self._redis.client.scan_iter(match=f"{self._prefix}resv:*", count=500))
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
        self._redis.close()
