"""Symbol leases, fencing tokens and runner heartbeats on Redis: the I/O half of ``safety.leases``.

Keys (in the account's namespace, a Redis hash tag like the store's, so the scripts stay legal on a cluster):

- ``{ns}:lease:<symbol>``  string ``runner|token`` with an expiry (``SET NX PX``)
- ``{ns}:fence:<symbol>``  the symbol's fencing token counter (``INCR``; never expires, never goes back)
- ``{ns}:last:<symbol>``   the runner that acquired the symbol last (a takeover takes its records from there)
- ``{ns}:runner:<id>``     hash ``symbols``, ``at`` (ms), ``pid`` with an expiry: the runner's heartbeat
- ``{ns}:runners``         set of runner ids ever seen (``tradewake status`` reads their heartbeats)
- ``{ns}:runner-books``    hash runner id -> its own store namespace (where the control plane queues commands)

Acquire (with the new token), renew, release and the fence check are each one Lua script, so no two runners
can interleave between a check and a write. Like ``store.redis_store`` it talks to Redis
through ``store.redis_client``: its errors become ``OperationalError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import OperationalError
from core.ids import Symbol
from core.leases import FenceAnswer, Lease, check_runner_id
from store.redis_client import RedisConnection


@dataclass(frozen=True, slots=True)
class Heartbeat:
    runner: str
    symbols: tuple[Symbol, ...]
    at_ms: int
    ttl_ms: int
    pid: int


class RedisLeases:
    """``safety.leases.LeaseStore`` on a Redis server, plus runner heartbeats."""

    def __init__(self, url: str, namespace: str = "tw", *, timeout_s: float = 5.0) -> None:
        self._redis = RedisConnection(url, namespace, timeout_s=timeout_s, what="redis leases")
        self.namespace, self.url, self._prefix = self._redis.namespace, self._redis.url, self._redis.prefix
        self._previous: dict[Symbol, str] = {}
        self._acquire = self._redis.script("lease_acquire.lua")
        self._renew = self._redis.script("lease_renew.lua")
        self._release = self._redis.script("lease_release.lua")
        self._fence = self._redis.script("fence_check.lua")

    def _lease(self, symbol: Symbol) -> str:
        return f"{self._prefix}lease:{symbol}"

    def _fence_key(self, symbol: Symbol) -> str:
        return f"{self._prefix}fence:{symbol}"

    # ------------------------------------------------------------ leases

    def acquire(self, symbol: Symbol, runner: str, ttl_ms: int) -> int | None:
        """The new fencing token when ``symbol`` was free, else ``None`` (someone holds it)."""
        keys = [self._lease(symbol), self._fence_key(symbol), f"{self._prefix}last:{symbol}"]
        reply = self._redis.run(self._acquire, keys, [check_runner_id(runner), ttl_ms])
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == "acquired":
            self._previous[symbol] = str(reply[2])
            return int(reply[1])
        if isinstance(reply, list) and reply and reply[0] == "taken":
            return None
        raise OperationalError(f"redis leases {self.url}: unexpected acquire reply {reply!r}")

    def previous(self, symbol: Symbol) -> str:
        """Who held ``symbol`` before this process last acquired it ("" when nobody ever did)."""
        return self._previous.get(symbol, "")

    def renew(self, symbol: Symbol, runner: str, token: int, ttl_ms: int) -> bool:
        return bool(int(self._redis.run(self._renew, [self._lease(symbol)], [runner, token, ttl_ms])))

    def release(self, symbol: Symbol, runner: str, token: int) -> bool:
        return bool(int(self._redis.run(self._release, [self._lease(symbol)], [runner, token])))

    def fence(self, symbol: Symbol, runner: str, token: int) -> FenceAnswer:
        reply = self._redis.run(self._fence, [self._lease(symbol), self._fence_key(symbol)], [runner, token])
        if isinstance(reply, list) and reply and reply[0] == "ok":
            return FenceAnswer(ok=True, current_token=token, holder=runner)
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == "stale":
            return FenceAnswer(ok=False, current_token=int(reply[1]), holder=str(reply[2]).split("|", 1)[0])
        raise OperationalError(f"redis leases {self.url}: unexpected fence reply {reply!r}")

    def read(self, symbols: Iterable[Symbol], now_ms: int) -> dict[Symbol, Lease | None]:
        wanted = list(dict.fromkeys(symbols))
        with self._redis.translated():
            pipe = self._redis.client.pipeline(transaction=True)
            for symbol in wanted:
                pipe.get(self._lease(symbol))
                pipe.pttl(self._lease(symbol))
            rows = pipe.execute()
        found: dict[Symbol, Lease | None] = {}
        for i, symbol in enumerate(wanted):
            value, ttl = rows[2 * i], rows[2 * i + 1]
            found[symbol] = _lease(symbol, value, int(ttl), now_ms) if value else None
        return found

    def current_token(self, symbol: Symbol) -> int:
        with self._redis.translated():
            value = self._redis.client.get(self._fence_key(symbol))
        return int(value) if value else 0

    # ------------------------------------------------------------ heartbeats

    def beat(self, runner: str, symbols: Iterable[Symbol], now_ms: int, ttl_ms: int, pid: int) -> None:
        """The runner is alive and holds ``symbols``; the record expires ``ttl_ms`` after the last beat."""
        key = f"{self._prefix}runner:{check_runner_id(runner)}"
        with self._redis.translated():
            pipe = self._redis.client.pipeline(transaction=True)
            pipe.hset(key, mapping={"symbols": ",".join(symbols), "at": now_ms, "ttl": ttl_ms, "pid": pid})
            pipe.pexpire(key, ttl_ms)
            pipe.sadd(f"{self._prefix}runners", runner)
            pipe.execute()

    def register(self, runner: str, book_namespace: str) -> None:
        """Where ``runner`` keeps its own book and command queue (the control plane queues its commands there)."""
        with self._redis.translated():
            self._redis.client.hset(f"{self._prefix}runner-books", check_runner_id(runner), book_namespace)

    def books(self) -> dict[str, str]:
        """Every registered runner's book namespace."""
        with self._redis.translated():
            found = self._redis.client.hgetall(f"{self._prefix}runner-books")
        return {str(runner): str(namespace) for runner, namespace in found.items()}

    def heartbeats(self) -> tuple[list[Heartbeat], list[str]]:
        """Live runners' heartbeats, and the ids of runners seen or registered whose heartbeat has expired."""
        with self._redis.translated():
            seen = self._redis.client.smembers(f"{self._prefix}runners")
            registered = self._redis.client.hkeys(f"{self._prefix}runner-books")
            runners = sorted({str(r) for r in (*seen, *registered)})
            pipe = self._redis.client.pipeline(transaction=True)
            for runner in runners:
                pipe.hgetall(f"{self._prefix}runner:{runner}")
            rows = pipe.execute()
        live, gone = [], []
        for runner, row in zip(runners, rows, strict=True):
            if not row:
                gone.append(runner)
                continue
            symbols = tuple(Symbol(s) for s in row.get("symbols", "").split(",") if s)
            live.append(Heartbeat(runner, symbols, int(row["at"]), int(row["ttl"]), int(row["pid"])))
        return live, gone

    def close(self) -> None:
        self._redis.close()


def _lease(symbol: Symbol, value: str, ttl_ms: int, now_ms: int) -> Lease:
    owner, _, token = value.partition("|")
    return Lease(symbol, owner, int(token or 0), max(ttl_ms, 0), now_ms)
