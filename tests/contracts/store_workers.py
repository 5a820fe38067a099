"""Code that runs in separate processes for the store contract: a writer to kill, racers, appenders.

Each function opens its own store through ``store.factory.open_store`` (the way a second runner would),
so nothing is shared with the test process but the backend itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier, Event
from typing import Any

from core.errors import ConflictError
from core.ports import NewEvent, Store, Write
from core.settings import StoreSettings
from store.factory import open_store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CRASH_KEYS = 64
CRASH_PAD = "x" * 4096  # ~4 KiB per document: each transaction writes ~256 KiB


def crash_key(i: int) -> str:
    return f"crash/{i:03d}"


def _open(url: str, namespace: str) -> Store:
    return open_store(StoreSettings(url=url, namespace=namespace))


def crash_writer(url: str, namespace: str, ready: Event) -> None:
    """Commit big multi-key transactions back to back until killed.

    Transaction ``t`` sets every ``crash/NNN`` document to ``{"txn": t}`` with compare-and-set on the
    version it expects, and appends one journal event ``{"txn": t}``. Any torn transaction shows up as
    documents that disagree about ``txn`` or version, or a journal that disagrees with the documents.
    """
    store = _open(url, namespace)
    first = store.get(crash_key(0))
    txn, version = (int(first.value["txn"]), first.version) if first else (0, 0)
    ready.set()
    while True:
        txn += 1
        writes = [
            Write(key=crash_key(i), value={"txn": txn, "i": i, "pad": CRASH_PAD}, expected_version=version)
            for i in range(CRASH_KEYS)
        ]
        event = NewEvent(kind="crash.txn", at=T0 + timedelta(seconds=txn), payload={"txn": txn})
        store.transact(writes, [event])
        version += 1


def cas_racer(url: str, namespace: str, me: str, rounds: int, barrier: Barrier, results: Any) -> None:
    """Each round, wait for the other racer, then compare-and-set ``race`` from version ``round`` to ``round+1``."""
    store = _open(url, namespace)
    outcomes: list[str] = []
    try:
        for r in range(rounds):
            barrier.wait(timeout=60)
            write = Write(key="race", value={"round": r, "winner": me}, expected_version=r)
            event = NewEvent(kind="race.win", at=T0 + timedelta(seconds=r), payload={"round": r, "winner": me})
            try:
                store.transact([write], [event])
                outcomes.append("won")
            except ConflictError:
                outcomes.append("lost")
    finally:
        results.put((me, outcomes))
        store.close()


def appender(url: str, namespace: str, me: str, count: int, barrier: Barrier) -> None:
    """Append ``count`` journal events as fast as possible, interleaving with another appender."""
    store = _open(url, namespace)
    try:
        barrier.wait(timeout=60)
        for i in range(count):
            store.append(NewEvent(kind="append", at=T0 + timedelta(seconds=i), payload={"by": me, "i": i}))
    finally:
        store.close()


def counter_adder(url: str, namespace: str, name: str, window: int, count: int, barrier: Barrier, results: Any) -> None:
    """Add 1 to one windowed counter ``count`` times, racing other adders; report every total it saw."""
    store: Any = _open(url, namespace)
    seen: list[int] = []
    try:
        barrier.wait(timeout=60)
        for _ in range(count):
            seen.append(store.count(name, window, add=1))
    finally:
        results.put(seen)
        store.close()
