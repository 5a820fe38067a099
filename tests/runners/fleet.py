"""Several runner processes on one real redis-server, for the failover tests and ``benchmarks/runners.py``.

Each runner is a real process (``python -m tests.runners.fleet RUNNER ...``) that runs the production lease
code (``safety.leases.LeaseHolder`` over ``store.leases.RedisLeases``) in a guard rhythm: every interval it
first does one order-side write per symbol it holds, each through the fence (as ``safety.gateway`` does right
before a broker call), then a lease round (renew, acquire, drop the lost) and a heartbeat. A write that passes
the fence is appended to a ledger list in Redis (``{ns}:ledger``: ``symbol|runner|token|ms``), standing in for
the venue's ledger; a refused one is counted. What is *not* here: the engine, the exchange, positions and stops
(the runner's safety service over a shared venue is what a full ``tradewake run`` fleet would add).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _now_ms() -> int:
    return int(time.time() * 1000)


def run_runner(url: str, namespace: str, runner: str, symbols: list[str], ttl_ms: int, interval_ms: int) -> int:
    import redis

    from core.ids import Symbol
    from safety.leases import LeaseHolder
    from store.leases import RedisLeases

    leases = RedisLeases(url, namespace)
    ledger = redis.Redis.from_url(url, decode_responses=True)
    holder = LeaseHolder(runner, tuple(Symbol(s) for s in symbols), leases, ttl_ms)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    writes = 0
    while not stopping:
        for symbol in list(holder.held):
            token, checked_ms = holder.token(symbol), _now_ms()
            if holder.check_write(symbol).ok:
                ledger.rpush(f"{{{namespace}}}:ledger", f"{symbol}|{runner}|{token}|{checked_ms}")
                writes += 1
        holder.round(_now_ms())
        time.sleep(interval_ms / 1000)
    holder.release_all()
    print(json.dumps({"runner": runner, "writes": writes, "refused": holder.refused}), flush=True)
    return 0


@dataclass
class Fleet:
    url: str
    namespace: str
    ttl_ms: int
    interval_ms: int
    processes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)

    def start(self, runner: str, symbols: Iterable[str]) -> None:
        argv = [sys.executable, "-m", "tests.runners.fleet", self.url, self.namespace, runner, ",".join(symbols),
                str(self.ttl_ms), str(self.interval_ms)]
        self.processes[runner] = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)

    def signal(self, runner: str, sig: signal.Signals) -> None:
        self.processes[runner].send_signal(sig)

    def stop(self) -> dict[str, dict[str, int]]:
        """SIGTERM every live runner; their summaries (writes, refused) by runner."""
        summaries: dict[str, dict[str, int]] = {}
        for runner, process in self.processes.items():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
            out, _ = process.communicate(timeout=30)
            if out.strip():
                summaries[runner] = json.loads(out.strip().splitlines()[-1])
        return summaries

    def holders(self, symbols: Iterable[str]) -> dict[str, str]:
        from core.ids import Symbol
        from store.leases import RedisLeases

        leases = RedisLeases(self.url, self.namespace)
        try:
            found = leases.read([Symbol(s) for s in symbols], _now_ms())
        finally:
            leases.close()
        return {s: (lease.owner if lease else "") for s, lease in found.items()}

    def wait_held(self, symbols: Iterable[str], timeout_s: float, *, not_by: str = "") -> float | None:
        """Seconds until every symbol is held by a runner other than ``not_by``; ``None`` on timeout."""
        wanted, started = list(symbols), time.monotonic()
        while time.monotonic() - started < timeout_s:
            holders = self.holders(wanted)
            if all(owner and owner != not_by for owner in holders.values()):
                return time.monotonic() - started
            time.sleep(0.01)
        return None

    def ledger(self) -> list[tuple[str, str, int, int]]:
        import redis

        client = redis.Redis.from_url(self.url, decode_responses=True)
        rows = client.lrange(f"{{{self.namespace}}}:ledger", 0, -1)
        client.close()
        parsed = [row.split("|") for row in rows]
        return [(symbol, runner, int(token), int(ms)) for symbol, runner, token, ms in parsed]


def stale_writes(ledger: list[tuple[str, str, int, int]]) -> int:
    """Writes whose fence check passed under a token older than one another runner had already written under
    (``ms`` is when the fence was checked): what fencing must prevent."""
    first_checked: dict[tuple[str, int], int] = {}
    for symbol, _, token, checked_ms in ledger:
        first_checked[symbol, token] = min(first_checked.get((symbol, token), checked_ms), checked_ms)
    return sum(
        1
        for symbol, _, token, checked_ms in ledger
        if any(s == symbol and t > token and at < checked_ms for (s, t), at in first_checked.items())
    )


def in_flight_writes(ledger: list[tuple[str, str, int, int]]) -> int:
    """Writes that passed the fence before a takeover but landed after a newer token's write (a pause between the
    check and the write: the window fencing cannot close, ``docs/runners.md``)."""
    newest: dict[str, int] = {}
    late = 0
    for symbol, _, token, _ in ledger:
        late += token < newest.get(symbol, 0)
        newest[symbol] = max(newest.get(symbol, 0), token)
    return late - stale_writes(ledger)


if __name__ == "__main__":
    url_, namespace_, runner_, symbols_, ttl_, interval_ = sys.argv[1:7]
    sys.exit(run_runner(url_, namespace_, runner_, symbols_.split(","), int(ttl_), int(interval_)))
