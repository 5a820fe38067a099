"""Races between two real processes on SQLite and on a real ``redis-server``: an approval against the TTL
job, and an approval against the drift check. Every round both have read the same open proposal before
either commits (``race_workers.TransactGate``); exactly one decision lands (store compare-and-set) and
the other is refused with the winner's decision as its reason."""

from __future__ import annotations

import multiprocessing
import queue
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.ports import Store
from holdings.book import HoldingsBook
from holdings.records import DecisionOutcome
from tests.conftest import LONG_TESTS
from tests.holdings import race_workers
from tests.holdings.world import open_url

ROUNDS = 40 if LONG_TESTS else 6
"""Per rival. Every round is a contended race (both sides planned from the same state); more rounds
with TRADEWAKE_LONG_TESTS=1. Two worker processes play every round of both races (a spawn costs seconds)."""
SPAWN = multiprocessing.get_context("spawn")

RIVALS: dict[str, tuple[DecisionOutcome, str, str]] = {
    # what the rival's win records, its winning event, how the operator's refusal names it
    "ttl_job": (DecisionOutcome.EXPIRED, "managed.expired", "expired by the ttl_job"),
    "drift": (DecisionOutcome.ABORTED, "managed.aborted", "aborted by the bot"),
}


@pytest.fixture(params=["sqlite", "redis"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.sqlite3'}", "tw"
    return request.getfixturevalue("redis_server").url, f"race{uuid.uuid4().hex[:10]}"


def run_races(url: str, namespace: str, rounds: list[tuple[str, int]]) -> dict[tuple[str, str, int], Any]:
    start, gate, done = SPAWN.Barrier(2), SPAWN.Barrier(2), SPAWN.Barrier(2)
    results = SPAWN.Queue()
    workers = [
        SPAWN.Process(target=fn, args=(url, namespace, rounds, start, gate, done, results))
        for fn in (race_workers.operator, race_workers.rivals)
    ]
    for worker in workers:
        worker.start()
    collected = {}
    for _ in range(2 * len(rounds)):
        who, rival, r, outcome = _next(results, workers)
        collected[(who, rival, r)] = outcome
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0, worker
    return collected


def _next(results: Any, workers: list[Any]) -> Any:
    """The next result; fails at once (instead of after a long timeout) when a worker died."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            return results.get(timeout=0.5)
        except queue.Empty:
            if any(w.exitcode not in (None, 0) for w in workers):
                for worker in workers:
                    worker.kill()
                pytest.fail(f"a race worker died (exit codes {[w.exitcode for w in workers]}); see its stderr above")
    pytest.fail("the race workers gave no result for 180 s")


def test_an_approval_racing_the_ttl_job_or_the_drift_check_has_exactly_one_winner(target: tuple[str, str]) -> None:
    url, namespace = target
    rounds = [(rival, i * len(RIVALS) + k) for i in range(ROUNDS) for k, rival in enumerate(sorted(RIVALS))]
    collected = run_races(url, namespace, rounds)
    store: Store = open_url(url, namespace)
    try:
        wins = {(rival, who): 0 for rival in RIVALS for who in ("operator", "rival")}
        journal = store.read_journal()
        for rival, r in rounds:
            winner = _check_round(
                store, journal, rival, collected[("operator", rival, r)], collected[("rival", rival, r)]
            )
            wins[(rival, winner)] += 1
        assert sum(wins.values()) == len(rounds)
        assert store.verify_journal().ok
        print(f"races on {url.split(':')[0]}: " + ", ".join(f"{k[0]} {k[1]} won {v}" for k, v in sorted(wins.items())))
    finally:
        store.close()


def _check_round(store: Store, journal: list[Any], rival: str, operator: Any, rival_results: list[Any]) -> str:
    """Exactly one decision, and the loser refused with the winner's decision as its reason; returns the winner."""
    rival_outcome, rival_event, rival_named = RIVALS[rival]
    pid, status, code, error = operator
    (rival_result,) = rival_results  # the rival attempted in every round
    decision = HoldingsBook(store).decision(pid)
    assert decision is not None
    events = [e for e in journal if e.payload.get("proposal_id") == pid]
    decided = [e.kind for e in events if e.kind in ("managed.promoted", rival_event)]
    refused = [e for e in events if e.kind == "managed.command_refused"]
    assert len(decided) == 1, (pid, [e.kind for e in events])
    assert len(refused) == 1 and refused[0].payload["code"] == "already_decided"
    if status == "applied":
        assert decision.outcome is DecisionOutcome.APPROVED
        assert rival_result[:2] == ("rejected", "already_decided")
        assert rival_result[2].startswith(f"proposal {pid} was already decided: approved by the operator")
        return "operator"
    assert decision.outcome is rival_outcome
    assert rival_result[:2] == ("applied", None)
    assert (status, code) == ("rejected", "already_decided")
    assert error.startswith(f"proposal {pid} was already decided: {rival_named}")
    return "rival"
