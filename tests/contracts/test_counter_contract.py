"""The behaviour every ``WindowCounter`` must show (the port of the shared request budget), run against
SQLite and a real ``redis-server``, and against the in-process ``MemoryCounter``.

The race case uses real processes (``multiprocessing`` spawn), each opening the store the way a second
runner would; a deliberately non-atomic counter is shown to fail the same check.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.request_budget import MemoryCounter, WindowCounter
from tests.contracts import store_workers
from tests.contracts.store_backends import Backend, RedisBackend, SqliteBackend
from tests.contracts.test_store_contract import SPAWN

ADDERS, ADDS_EACH = 4, 60
MS = 1_762_000_000_123  # a millisecond timestamp (a ban deadline): must come back exact


def make_backend(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if kind == "sqlite":
        return SqliteBackend(tmp_path / "store.sqlite3")
    server = request.getfixturevalue("redis_server")
    return RedisBackend(server.url, namespace=f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return make_backend(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "redis", "memory"])
def counter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WindowCounter]:
    if request.param == "memory":
        yield MemoryCounter()
        return
    store: Any = make_backend(request.param, request, tmp_path).open()
    yield store
    store.close()


def test_a_counter_starts_at_zero_and_adds(counter: WindowCounter) -> None:
    assert counter.count("a", 7) == 0
    assert [counter.count("a", 7, add=n) for n in (1, 2, 3)] == [1, 3, 6]
    assert counter.count("a", 7, add=-2) == 4  # a refund
    assert counter.count("b", 7) == 0  # names are independent


def test_at_least_raises_the_value_and_never_lowers_it(counter: WindowCounter) -> None:
    counter.count("w", 1, add=5)
    assert counter.count("w", 1, at_least=40) == 40
    assert counter.count("w", 1, at_least=10) == 40
    assert counter.count("w", 1, at_least=40, add=2) == 42
    assert counter.count("ban", 0, at_least=MS) == MS
    assert counter.count("ban", 0) == MS


def test_a_new_window_starts_empty_and_an_older_one_counts_in_the_newest(counter: WindowCounter) -> None:
    counter.count("w", 10, add=9)
    assert counter.count("w", 11, add=1) == 1
    assert counter.count("w", 10, add=1) == 2  # a late caller still on window 10: the stored window is 11
    assert counter.count("w", 12) == 0


def test_counts_persist_and_namespaces_do_not_mix(backend: Backend) -> None:
    first: Any = backend.open()
    first.count("w", 3, add=5)
    first.close()
    again: Any = backend.open()
    other: Any = backend.open(namespace="other")
    try:
        assert again.count("w", 3) == 5
        assert other.count("w", 3) == 0
    finally:
        again.close()
        other.close()


def _race(backend: Backend) -> list[int]:
    barrier = SPAWN.Barrier(ADDERS)
    results = SPAWN.Queue()
    adders = [
        SPAWN.Process(
            target=store_workers.counter_adder,
            args=(backend.url, backend.namespace, "race", 5, ADDS_EACH, barrier, results),
        )
        for _ in range(ADDERS)
    ]
    for adder in adders:
        adder.start()
    seen = [total for _ in adders for total in results.get(timeout=120)]
    for adder in adders:
        adder.join(timeout=30)
        assert adder.exitcode == 0
    return seen


def test_processes_adding_at_once_never_lose_or_share_a_count(backend: Backend) -> None:
    seen = _race(backend)
    assert sorted(seen) == list(range(1, ADDERS * ADDS_EACH + 1))  # every add saw its own total
    store: Any = backend.open()
    try:
        assert store.count("race", 5) == ADDERS * ADDS_EACH
    finally:
        store.close()


class ReadThenWrite:
    """A broken counter: reads, then writes in a second step (what the atomic operation forbids)."""

    def __init__(self, inner: WindowCounter) -> None:
        self.inner = inner

    def read(self, name: str, window: int) -> int:
        return self.inner.count(name, window)

    def write(self, name: str, window: int, value: int) -> int:
        return self.inner.count(name, window, at_least=value)


def test_a_non_atomic_counter_fails_the_no_lost_count_check() -> None:
    broken = ReadThenWrite(MemoryCounter())
    a, b = broken.read("race", 5), broken.read("race", 5)  # two callers interleave
    seen = [broken.write("race", 5, a + 1), broken.write("race", 5, b + 1)]
    assert sorted(seen) != [1, 2]  # the check above would catch it: one add was lost
