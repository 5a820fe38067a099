"""The behaviour every ``Store`` must show, run against SQLite and a real ``redis-server``.

Crash, race and concurrent-append cases use real processes (``multiprocessing`` spawn), killed with
SIGKILL where the case says so; tamper cases edit the data at rest by hand (see ``store_backends``).
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.canonical import GENESIS_HASH, canonical_json, sha256_hex
from core.errors import ConflictError, OperationalError
from core.ports import CommandStatus, NewEvent, OperatorCommand, Store, Write
from core.settings import StoreSettings
from store.factory import open_store
from tests.contracts import store_workers
from tests.contracts.store_backends import Backend, RedisBackend, SqliteBackend

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CRASH_ROUNDS = 6
RACE_ROUNDS = 150
APPENDS_PER_PROCESS = 120
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path / "store.sqlite3")
    server = request.getfixturevalue("redis_server")
    return RedisBackend(server.url, namespace=f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open()
    yield opened
    opened.close()


def event(kind: str = "test", seconds: int = 0, **payload: Any) -> NewEvent:
    return NewEvent(kind=kind, at=T0 + timedelta(seconds=seconds), payload=payload)


def command(key: str, kind: str = "halt", **args: Any) -> OperatorCommand:
    return OperatorCommand(idempotency_key=key, kind=kind, args=args, submitted_at=T0)


# ---------------------------------------------------------------- documents, versions, compare-and-set


def test_versions_start_at_one_and_grow_by_one(store: Store) -> None:
    assert store.get("a") is None
    assert store.put("a", {"n": 1}) == 1
    assert store.put("a", {"n": 2}) == 2
    doc = store.get("a")
    assert doc is not None
    assert (doc.key, doc.version, doc.value) == ("a", 2, {"n": 2})


def test_expected_zero_means_the_key_must_not_exist(store: Store) -> None:
    assert store.put("a", {"n": 1}, expected_version=0) == 1
    with pytest.raises(ConflictError) as caught:
        store.put("a", {"n": 2}, expected_version=0)
    assert (caught.value.key, caught.value.expected, caught.value.actual) == ("a", 0, 1)
    assert store.get("a").value == {"n": 1}  # type: ignore[union-attr]


def test_compare_and_set_needs_the_exact_version(store: Store) -> None:
    store.put("a", {"n": 1})
    store.put("a", {"n": 2})
    for stale in (1, 3):
        with pytest.raises(ConflictError) as caught:
            store.put("a", {"n": 99}, expected_version=stale)
        assert (caught.value.expected, caught.value.actual) == (stale, 2)
    assert store.put("a", {"n": 3}, expected_version=2) == 3
    assert store.get("a").value == {"n": 3}  # type: ignore[union-attr]


def test_a_conflict_anywhere_rolls_back_every_write_and_every_event(store: Store) -> None:
    store.transact([Write(key="a", value={"n": 1}), Write(key="b", value={"n": 1})], [event(n=1)])
    before = (store.get_many(["a", "b", "c"]), store.read_journal())
    attempts = [
        [  # the conflict is the last write: the first two must not stick
            Write(key="a", value={"n": 2}, expected_version=1),
            Write(key="c", value={"n": 2}, expected_version=0),
            Write(key="b", value={"n": 2}, expected_version=7),
        ],
        [  # the conflict is the first write
            Write(key="a", value={"n": 3}, expected_version=0),
            Write(key="b", value=None, expected_version=1),
        ],
    ]
    for writes in attempts:
        with pytest.raises(ConflictError):
            store.transact(writes, [event(n=2), event(n=3)])
        assert (store.get_many(["a", "b", "c"]), store.read_journal()) == before
    assert store.keys() == ["a", "b"]
    assert store.verify_journal().ok


def test_transact_returns_every_new_version_and_appends_its_events(store: Store) -> None:
    store.put("a", {"n": 1})
    versions = store.transact(
        [Write(key="a", value={"n": 2}, expected_version=1), Write(key="b", value={"n": 1}, expected_version=0)],
        [event("first"), event("second")],
    )
    assert versions == {"a": 2, "b": 1}
    assert [(e.seq, e.kind) for e in store.read_journal()] == [(1, "first"), (2, "second")]


def test_deletes(store: Store) -> None:
    store.put("a", {"n": 1})
    store.put("a", {"n": 2})
    with pytest.raises(ConflictError):
        store.transact([Write(key="a", value=None, expected_version=1)])
    assert store.transact([Write(key="a", value=None, expected_version=2)]) == {"a": 0}
    assert store.get("a") is None
    assert store.keys() == []
    assert store.get_many(["a"]) == {}
    assert store.transact([Write(key="a", value=None)]) == {"a": 0}  # deleting nothing is a no-op
    assert store.transact([Write(key="never", value=None)]) == {"never": 0}
    with pytest.raises(ConflictError):  # the key is gone: an old version no longer matches
        store.put("a", {"n": 3}, expected_version=2)
    recreated = store.put("a", {"n": 3}, expected_version=0)
    # A re-created key continues after its last version, so a stale compare-and-set can never match again.
    assert recreated > 2
    assert store.get("a").version == recreated  # type: ignore[union-attr]


def test_get_many_and_keys_by_prefix(store: Store) -> None:
    names = ["pos/BTC", "pos/ETH", "pos", "posx", "mem/é", "mem/日本", "a:b:c"]
    store.transact([Write(key=name, value={"name": name}) for name in names])
    assert store.keys() == sorted(names)  # code-point order, the same on every backend
    assert store.keys("pos/") == ["pos/BTC", "pos/ETH"]
    assert store.keys("pos") == ["pos", "pos/BTC", "pos/ETH", "posx"]
    assert store.keys("mem/") == ["mem/é", "mem/日本"]
    assert store.keys("nothing") == []
    found = store.get_many(["pos/ETH", "missing", "pos", "pos"])
    assert list(found) == ["pos/ETH", "pos"]
    assert found["pos"].value == {"name": "pos"}


def test_values_round_trip_as_canonical_json(store: Store) -> None:
    value = {"z": [1, 2.5, None, True], "a": {"nested": "ü"}, "big": 2**62, "s": "x" * 10_000}
    store.put("v", value)
    assert store.get("v").value == value  # type: ignore[union-attr]


def test_one_transaction_cannot_write_a_key_twice(store: Store) -> None:
    with pytest.raises(ValueError, match="twice"):
        store.transact([Write(key="a", value={"n": 1}), Write(key="a", value={"n": 2})])
    assert store.get("a") is None


def test_an_empty_transaction_changes_nothing(store: Store) -> None:
    assert store.transact([], []) == {}
    assert store.read_journal() == []


def test_namespaces_do_not_see_each_other(backend: Backend, store: Store) -> None:
    other = backend.open(namespace=f"{backend.namespace}-other")
    try:
        store.put("shared-name", {"owner": "first"})
        store.append(event(owner="first"))
        store.submit_command(command("k"))
        assert other.get("shared-name") is None
        assert other.keys() == []
        assert other.read_journal() == []
        assert other.pending_commands() == []
        assert other.put("shared-name", {"owner": "second"}, expected_version=0) == 1
        assert store.get("shared-name").value == {"owner": "first"}  # type: ignore[union-attr]
    finally:
        other.close()


# ---------------------------------------------------------------- journal


def test_journal_links_every_event_to_the_previous_one(store: Store) -> None:
    appended = [store.append(event("k", i, i=i, price="101.5")) for i in range(5)]
    assert appended == store.read_journal()
    prev = GENESIS_HASH
    for seq, item in enumerate(appended, start=1):
        body = {"seq": seq, "at": item.at.isoformat(), "kind": "k", "payload": item.payload}
        # Recomputed here from the documented rule, independently of store.chain.
        assert item.seq == seq
        assert item.prev_hash == prev
        assert item.hash == sha256_hex(prev + canonical_json(body))
        prev = item.hash


def test_read_and_tail_the_journal(store: Store) -> None:
    for i in range(10):
        store.append(event(i=i))
    assert [e.seq for e in store.read_journal(after_seq=7)] == [8, 9, 10]
    assert [e.seq for e in store.read_journal(after_seq=2, limit=3)] == [3, 4, 5]
    assert store.read_journal(after_seq=10) == []
    assert store.read_journal(limit=0) == []
    assert [e.seq for e in store.tail_journal(3)] == [8, 9, 10]
    assert [e.seq for e in store.tail_journal(50)] == list(range(1, 11))
    assert store.tail_journal(0) == []


def test_event_times_are_kept_in_utc(store: Store) -> None:
    paris = datetime(2024, 3, 1, 13, 0, 0, 123456, tzinfo=UTC).astimezone()
    stored = store.append(NewEvent(kind="tz", at=paris, payload={}))
    assert stored.at == paris
    assert stored.at.utcoffset() == timedelta(0)
    assert store.read_journal()[0] == stored


def test_verify_passes_on_clean_data(store: Store) -> None:
    assert store.verify_journal().model_dump() == {
        "ok": True,
        "events_checked": 0,
        "first_bad_seq": None,
        "problem": None,
    }
    store.transact([Write(key="a", value={"n": 1})], [event(i=1), event(i=2)])
    for i in range(3, 8):
        store.append(event(i=i))
    report = store.verify_journal()
    assert (report.ok, report.events_checked, report.first_bad_seq) == (True, 7, None)


def test_a_long_journal_reads_and_verifies_across_pages(backend: Backend, store: Store) -> None:
    store.transact([], [event("bulk", i, i=i) for i in range(2500)])  # one transaction, many events
    assert [e.seq for e in store.read_journal(after_seq=2495)] == [2496, 2497, 2498, 2499, 2500]
    assert store.verify_journal().events_checked == 2500
    backend.tamper_payload(2100, {"i": -1})
    report = store.verify_journal()
    assert (report.ok, report.first_bad_seq, report.events_checked) == (False, 2100, 2099)


def test_a_negative_read_limit_is_a_caller_bug(store: Store) -> None:
    with pytest.raises(ValueError):
        store.read_journal(limit=-1)


@pytest.fixture
def journal_of_eight(store: Store) -> Store:
    for i in range(1, 9):
        store.append(event("fill", i, qty=str(i)))
    assert store.verify_journal().ok
    return store


def test_a_hand_edited_payload_fails_verify_at_that_event(backend: Backend, journal_of_eight: Store) -> None:
    backend.tamper_payload(5, {"qty": "500"})
    report = journal_of_eight.verify_journal()
    assert (report.ok, report.first_bad_seq, report.events_checked) == (False, 5, 4)
    assert report.problem is not None and report.problem.startswith("hash_mismatch")


def test_a_rewritten_event_with_its_own_hash_recomputed_breaks_the_next_link(
    backend: Backend, journal_of_eight: Store
) -> None:
    backend.tamper_payload(5, {"qty": "500"}, rehash=True)
    report = journal_of_eight.verify_journal()
    assert (report.ok, report.first_bad_seq) == (False, 6)
    assert report.problem is not None and report.problem.startswith("prev_hash_mismatch")


def test_a_deleted_event_fails_verify_as_missing(backend: Backend, journal_of_eight: Store) -> None:
    backend.delete_event(3)
    report = journal_of_eight.verify_journal()
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.problem is not None and report.problem.startswith("missing_seq")


def test_a_deleted_last_event_fails_verify_against_the_head(backend: Backend, journal_of_eight: Store) -> None:
    backend.delete_event(8)
    report = journal_of_eight.verify_journal()
    assert (report.ok, report.first_bad_seq) == (False, 8)
    assert report.problem is not None and report.problem.startswith("missing_seq")


# ---------------------------------------------------------------- operator commands


def test_a_command_is_accepted_once_and_a_duplicate_is_not_queued_again(store: Store) -> None:
    first = store.submit_command(command("halt-1", "halt", reason="manual"))
    assert (first.outcome, first.seq, first.status, first.result) == ("accepted", 1, CommandStatus.PENDING, None)
    resent = OperatorCommand(
        idempotency_key="halt-1",
        kind="halt",
        args={"reason": "manual"},
        submitted_at=T0 + timedelta(minutes=5),  # a retry, later, from another terminal
        submitted_by="cli-2",
    )
    again = store.submit_command(resent)
    assert (again.outcome, again.seq) == ("duplicate", 1)
    assert again.command == first.command  # the stored submission, not the retry
    assert [c.command.idempotency_key for c in store.pending_commands()] == ["halt-1"]


def test_a_different_command_under_a_used_key_is_already_decided(store: Store) -> None:
    original = store.submit_command(command("op-7", "flatten", symbol="BTC/USDT")).command
    for conflicting in (command("op-7", "resume"), command("op-7", "flatten", symbol="ETH/USDT")):
        receipt = store.submit_command(conflicting)
        assert receipt.outcome == "already_decided"
        assert receipt.command == original
    assert [c.command for c in store.pending_commands()] == [original]


def test_pending_commands_come_in_submission_order_until_finished(store: Store) -> None:
    for key in ("c", "a", "b"):
        store.submit_command(command(key))
    assert [(c.seq, c.command.idempotency_key) for c in store.pending_commands()] == [(1, "c"), (2, "a"), (3, "b")]
    store.finish_command("a", CommandStatus.APPLIED, {"halted": True})
    store.finish_command("c", CommandStatus.REJECTED, {"reason": "not halted"})
    assert [c.command.idempotency_key for c in store.pending_commands()] == ["b"]
    finished = store.submit_command(command("a"))
    assert (finished.outcome, finished.status, finished.result) == (
        "duplicate",
        CommandStatus.APPLIED,
        {"halted": True},
    )
    rejected = store.submit_command(command("c", "resume"))
    assert (rejected.outcome, rejected.status) == ("already_decided", CommandStatus.REJECTED)


def test_finishing_is_idempotent_and_refuses_a_different_outcome(store: Store) -> None:
    store.submit_command(command("k"))
    store.finish_command("k", CommandStatus.APPLIED, {"n": 1})
    store.finish_command("k", CommandStatus.APPLIED, {"n": 1})  # a retry of the same finish
    with pytest.raises(OperationalError, match="already finished"):
        store.finish_command("k", CommandStatus.REJECTED, {"n": 1})
    with pytest.raises(OperationalError, match="already finished"):
        store.finish_command("k", CommandStatus.APPLIED, {"n": 2})
    with pytest.raises(OperationalError, match="unknown"):
        store.finish_command("nobody-sent-this", CommandStatus.APPLIED, {})
    with pytest.raises(ValueError):
        store.finish_command("k", CommandStatus.PENDING, {})
    receipt = store.submit_command(command("k"))
    assert (receipt.status, receipt.result) == (CommandStatus.APPLIED, {"n": 1})


@pytest.mark.parametrize(
    ("stored", "kind", "args"),
    [
        ('{"idempotency_key":"old","kind":"sleep","args":[30],"submitted_at":"2024-03-01T12:00:00Z"}', "sleep", {}),
        ('{"idempotency_key":"old","kind":"halt","args":{"reason":"r"},"submitted_at":"2024-03-01T12:00:00"}',
         "halt", {"reason": "r"}),
        ('{"kind":7,"args":{"minutes":5}}', "unreadable", {"minutes": 5}),
        ("not json at all", "unreadable", {}),
    ],
    ids=["args-not-a-mapping", "naive-time", "kind-not-text", "not-json"],
)
def test_an_unreadable_queued_command_is_listed_with_its_problem_and_can_be_failed(
    backend: Backend, store: Store, stored: str, kind: str, args: dict[str, Any]
) -> None:
    """A row an old client (or a hand edit) left behind must not stop every reader of the queue: it is listed
    under its real key with what can be read, and its applier finishes it as failed."""
    for key in ("before", "old", "after"):
        store.submit_command(command(key, reason="x"))
    backend.rewrite_command("old", stored)
    receipts = store.pending_commands()
    assert [r.command.idempotency_key for r in receipts] == ["before", "old", "after"]
    assert [r.problem is None for r in receipts] == [True, False, True]
    salvaged = receipts[1]
    assert (salvaged.seq, salvaged.command.kind, salvaged.command.args) == (2, kind, args)
    assert salvaged.problem is not None and salvaged.problem.startswith("stored command does not read")
    store.finish_command("old", CommandStatus.FAILED, {"error": salvaged.problem})
    assert [r.command.idempotency_key for r in store.pending_commands()] == ["before", "after"]
    store.finish_command("old", CommandStatus.FAILED, {"error": salvaged.problem})  # a retried finish
    with pytest.raises(OperationalError, match="already finished"):
        store.finish_command("old", CommandStatus.APPLIED, {})


def test_a_failed_command_stays_failed_across_a_reopen(backend: Backend, store: Store) -> None:
    store.submit_command(command("poison", "sleep", minutes=9_999_999_999, reason="x"))
    store.finish_command("poison", CommandStatus.FAILED, {"error": "--minutes out of range"})
    store.close()
    reopened = backend.open()
    try:
        assert reopened.pending_commands() == []
        receipt = reopened.submit_command(command("poison", "sleep", minutes=9_999_999_999, reason="x"))
        assert (receipt.outcome, receipt.status, receipt.result) == (
            "duplicate", CommandStatus.FAILED, {"error": "--minutes out of range"}
        )
    finally:
        reopened.close()


# ---------------------------------------------------------------- durability and failures


def test_everything_survives_close_and_reopen(backend: Backend, store: Store) -> None:
    store.transact([Write(key="a", value={"n": 1}), Write(key="b", value={"n": 1})], [event(i=1)])
    store.put("a", {"n": 2})
    store.transact([Write(key="b", value=None)])
    store.append(event(i=2))
    store.submit_command(command("done"))
    store.submit_command(command("waiting"))
    store.finish_command("done", CommandStatus.APPLIED, {"ok": True})
    snapshot = (store.get_many(["a", "b"]), store.keys(), store.read_journal(), store.pending_commands())
    store.close()

    reopened = backend.open()
    try:
        assert (reopened.get_many(["a", "b"]), reopened.keys(), reopened.read_journal()) == snapshot[:3]
        assert reopened.pending_commands() == snapshot[3]
        assert reopened.submit_command(command("done")).status == CommandStatus.APPLIED
        assert reopened.submit_command(command("new")).seq == 3
        assert reopened.append(event(i=3)).prev_hash == snapshot[2][-1].hash  # the chain continues
        assert reopened.verify_journal().ok
    finally:
        reopened.close()


def test_a_closed_store_refuses_work(backend: Backend) -> None:
    opened = backend.open()
    opened.close()
    opened.close()  # closing twice is fine
    with pytest.raises(OperationalError, match="closed"):
        opened.get("a")


def test_an_unreachable_backend_is_an_operational_error(
    backend: Backend, tmp_path: Path, refusing: socket.socket
) -> None:
    if isinstance(backend, SqliteBackend):
        garbage = tmp_path / "not-a-database.sqlite3"
        garbage.write_bytes(b"this is not an sqlite file" * 100)
        url = f"sqlite:///{garbage}"
    else:
        url = f"redis://127.0.0.1:{refusing.getsockname()[1]}/0"
    with pytest.raises(OperationalError):
        open_store(StoreSettings(url=url, namespace="tw"))


@pytest.fixture
def refusing() -> Iterator[socket.socket]:
    """A loopback port that is bound but not listening: connections to it are refused, and no one can take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


# ---------------------------------------------------------------- real processes: crash, race, interleaving


def _assert_all_or_none(store: Store) -> int:
    """Every crash transaction is in the store completely or not at all; returns the last committed one."""
    docs = store.get_many([store_workers.crash_key(i) for i in range(store_workers.CRASH_KEYS)])
    txn_events = [e.payload["txn"] for e in store.read_journal() if e.kind == "crash.txn"]
    report = store.verify_journal()
    assert report.ok, report
    if not docs:
        assert txn_events == []
        return 0
    assert len(docs) == store_workers.CRASH_KEYS, f"only {len(docs)} of the transaction's documents exist"
    txns = {doc.value["txn"] for doc in docs.values()}
    versions = {doc.version for doc in docs.values()}
    assert len(txns) == 1, f"torn transaction: documents from transactions {sorted(txns)}"
    txn = txns.pop()
    assert versions == {txn}, f"torn transaction: versions {sorted(versions)} after {txn} transactions"
    assert txn_events == list(range(1, txn + 1)), "journal and documents disagree"
    return int(txn)


def test_a_writer_killed_mid_transaction_leaves_all_or_none(backend: Backend, store: Store) -> None:
    rng = random.Random(7)
    committed = [0]
    for round_no in range(CRASH_ROUNDS):
        ready = SPAWN.Event()
        writer = SPAWN.Process(target=store_workers.crash_writer, args=(backend.url, backend.namespace, ready))
        writer.start()
        try:
            assert ready.wait(timeout=60), "the writer process did not start"
            time.sleep(rng.uniform(0.05, 0.35))
        finally:
            writer.kill()  # SIGKILL: no cleanup, no rollback by the writer
            writer.join(timeout=30)
        assert writer.exitcode == -signal.SIGKILL, f"round {round_no}: writer ended on its own ({writer.exitcode})"
        committed.append(_assert_all_or_none(store))
    assert committed == sorted(committed)
    assert committed[-1] > 0, "the writer never committed: the kills proved nothing"
    # The store is usable afterwards (no lock left behind, the chain continues).
    store.transact([Write(key="after-crash", value={"ok": True}, expected_version=0)], [event("after")])
    assert store.verify_journal().ok


def test_two_processes_racing_one_compare_and_set_make_exactly_one_winner(backend: Backend, store: Store) -> None:
    barrier = SPAWN.Barrier(2)
    results = SPAWN.Queue()
    racers = [
        SPAWN.Process(
            target=store_workers.cas_racer, args=(backend.url, backend.namespace, me, RACE_ROUNDS, barrier, results)
        )
        for me in ("A", "B")
    ]
    for racer in racers:
        racer.start()
    outcomes = dict(results.get(timeout=120) for _ in racers)
    for racer in racers:
        racer.join(timeout=30)
        assert racer.exitcode == 0
    assert len(outcomes["A"]) == len(outcomes["B"]) == RACE_ROUNDS
    for r in range(RACE_ROUNDS):
        assert sorted([outcomes["A"][r], outcomes["B"][r]]) == ["lost", "won"], f"round {r}: {outcomes['A'][r]}"
    doc = store.get("race")
    assert doc is not None and doc.version == RACE_ROUNDS
    wins = [e.payload for e in store.read_journal() if e.kind == "race.win"]
    assert [w["round"] for w in wins] == list(range(RACE_ROUNDS))
    assert [w["winner"] for w in wins] == ["A" if outcomes["A"][r] == "won" else "B" for r in range(RACE_ROUNDS)]
    assert store.verify_journal().ok


def test_concurrent_appenders_keep_one_unbroken_chain(backend: Backend, store: Store) -> None:
    barrier = SPAWN.Barrier(2)
    appenders = [
        SPAWN.Process(
            target=store_workers.appender, args=(backend.url, backend.namespace, me, APPENDS_PER_PROCESS, barrier)
        )
        for me in ("A", "B")
    ]
    for process in appenders:
        process.start()
    for process in appenders:
        process.join(timeout=120)
        assert process.exitcode == 0
    journal = store.read_journal()
    assert [e.seq for e in journal] == list(range(1, 2 * APPENDS_PER_PROCESS + 1))
    for me in ("A", "B"):
        assert [e.payload["i"] for e in journal if e.payload["by"] == me] == list(range(APPENDS_PER_PROCESS))
    report = store.verify_journal()
    assert (report.ok, report.events_checked) == (True, 2 * APPENDS_PER_PROCESS)
