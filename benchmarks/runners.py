"""Several runners on one Redis: takeover time after a SIGKILL, writes refused after a SIGSTOP, cap breaches.

Starts its own ``redis-server`` on a free loopback port, then three real runner processes over six symbols
(``tests/runners/fleet.py``: the production lease and fence code in a guard rhythm). It SIGKILLs the runner
holding the most symbols ``--kills`` times (restarting it as a standby each time) and measures how long until
every one of its symbols has a new holder; the reference is the bound the design promises, lease ttl + one
guard interval (the ratio must stay near or under 1). Then it SIGSTOPs a holder past its lease, SIGCONTs it and
counts the writes the fence refused, and checks the ledger for writes under a stale token. Last, three
processes hammer the account-wide book's reservation script: the exposure cap's breaches (must be 0).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.redis_server import RedisServer
from tests.runners.fleet import Fleet, in_flight_writes, stale_writes
from tests.runners.test_failover import CONFIG, SYMBOLS

CAP, ONE = 1_000_000_000, 70_000_000


def _takeovers(fleet: Fleet, kills: int) -> list[float]:
    times = []
    for _ in range(kills):
        holders = fleet.holders(SYMBOLS)
        victim = max(CONFIG, key=lambda r: sum(owner == r for owner in holders.values()))
        theirs = [s for s, owner in holders.items() if owner == victim]
        fleet.signal(victim, signal.SIGKILL)
        took = fleet.wait_held(theirs, 30, not_by=victim)
        fleet.processes.pop(victim).wait()
        if took is None:
            raise RuntimeError(f"{victim}'s symbols were not taken over within 30 s")
        times.append(took)
        fleet.start(victim, CONFIG[victim])
        time.sleep(0.3)
    return times


def _paused(fleet: Fleet, ttl_s: float, interval_s: float) -> str:
    holders = fleet.holders(SYMBOLS)
    paused = next(r for r in CONFIG if r in holders.values())
    fleet.signal(paused, signal.SIGSTOP)
    fleet.wait_held([s for s, o in holders.items() if o == paused], 30, not_by=paused)
    time.sleep(interval_s)
    fleet.signal(paused, signal.SIGCONT)
    time.sleep(max(3 * interval_s, ttl_s / 2))
    return paused


def _breaches(url: str, rounds: int) -> tuple[int, int]:
    """(cap breaches, reservations admitted) over ``rounds`` races of three processes."""
    from store.shared_book import RedisSharedBook

    breaches = admitted = 0
    for _ in range(rounds):
        namespace = f"bench-book-{uuid.uuid4().hex[:8]}"
        processes = [subprocess.Popen([sys.executable, "-m", "tests.runners.workers", "hammer-book", url, namespace,
                                       f"p{n}", "10", str(ONE), str(CAP)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True) for n in range(3)]
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        won = sum(int(process.communicate(timeout=60)[0]) for process in processes)
        exposure = RedisSharedBook(url, namespace).state().exposure
        breaches += int(exposure > CAP) + int(won > CAP // ONE)
        admitted += won
    return breaches, admitted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks runners", description=__doc__)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--ttl-ms", type=int, default=1000)
    parser.add_argument("--interval-ms", type=int, default=200)
    parser.add_argument("--races", type=int, default=5)
    args = parser.parse_args([] if argv is None else argv)
    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(Path(directory)).start()
        try:
            fleet = Fleet(server.url, f"bench-{uuid.uuid4().hex[:8]}", args.ttl_ms, args.interval_ms)
            for runner, symbols in CONFIG.items():
                fleet.start(runner, symbols)
            if fleet.wait_held(SYMBOLS, 30) is None:
                raise RuntimeError("the fleet never held every symbol")
            time.sleep(0.5)
            times = _takeovers(fleet, args.kills)
            paused = _paused(fleet, args.ttl_ms / 1000, args.interval_ms / 1000)
            summaries = fleet.stop()
            ledger = fleet.ledger()
            breaches, admitted = _breaches(server.url, args.races)
        finally:
            server.kill()
    bound = (args.ttl_ms + args.interval_ms) / 1000
    p50, worst = statistics.median(times), max(times)
    print(f"3 runners, 6 symbols, lease ttl {args.ttl_ms} ms, guard interval {args.interval_ms} ms; "
          f"reference: ttl + one interval = {bound:.3f} s")
    print(f"takeover after SIGKILL ({args.kills} kills): p50 {p50:.3f} s = {p50 / bound:.2f}x, "
          f"max {worst:.3f} s = {worst / bound:.2f}x the reference")
    print(f"SIGSTOP past the lease, then SIGCONT ({paused}): {summaries.get(paused, {}).get('refused', 0)} "
          "writes refused by the fence")
    print(f"ledger: {len(ledger)} writes, {stale_writes(ledger)} under a stale token, {in_flight_writes(ledger)} "
          "passed the fence before a takeover and landed after it (paused between check and write)")
    print(f"exposure cap: {args.races} races of 3 processes x 10 entries, {admitted} admitted "
          f"({args.races * (CAP // ONE)} fit), {breaches} cap breaches")


if __name__ == "__main__":
    main(sys.argv[1:])
