"""SQLite-only properties: the durability settings, the schema version, the append-only guard, lock errors."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import OperationalError
from core.ports import CommandStatus, NewEvent, OperatorCommand
from store.sqlite_schema import SCHEMA_VERSION
from store.sqlite_store import SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "deep" / "dir" / "s.sqlite3", "tw")


def test_the_file_is_wal_with_full_sync_and_a_schema_version(store: SqliteStore) -> None:
    assert store.path.is_file()  # parent directories created
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    raw = sqlite3.connect(store.path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()
    store.close()


def test_a_file_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(OperationalError, match="schema version 99"):
        SqliteStore(path)


def test_a_version_1_file_is_migrated_and_keeps_its_queue(tmp_path: Path) -> None:
    """Version 2 lets a command be finished as ``failed``: a file an older tradewake wrote keeps every row."""
    from store import sqlite_schema

    path = tmp_path / "v1.sqlite3"
    raw = sqlite3.connect(path, isolation_level=None)
    for statement in sqlite_schema._statements(sqlite_schema._SCHEMA_V1):
        raw.execute(statement)
    raw.execute("PRAGMA user_version = 1")
    raw.close()
    old = OperatorCommand(idempotency_key="k", kind="sleep", args={"minutes": 9_999_999_999, "reason": "x"},
                          submitted_at=datetime(2024, 1, 1, tzinfo=UTC))
    with sqlite3.connect(path) as raw:  # a v1 store refuses the new status
        raw.execute("INSERT INTO commands VALUES ('tw', 'k', 1, ?, 'fp', 'pending', NULL)", (old.model_dump_json(),))
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute("UPDATE commands SET status = 'failed'")
    raw.close()
    store = SqliteStore(path, "tw")
    try:
        [pending] = store.pending_commands()
        assert pending.command == old and pending.seq == 1
        store.finish_command("k", CommandStatus.FAILED, {"error": "too long"})
        assert store.pending_commands() == []
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    finally:
        store.close()


def test_the_journal_table_refuses_updates_and_deletes(store: SqliteStore) -> None:
    store.append(_event())
    raw = sqlite3.connect(store.path)
    try:
        for statement in ("UPDATE journal SET payload = '{}'", "DELETE FROM journal"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                raw.execute(statement)
    finally:
        raw.close()
    assert store.verify_journal().ok
    store.close()


def test_a_lock_held_past_the_busy_timeout_is_an_operational_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "locked.sqlite3", busy_timeout_s=0.2)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with pytest.raises(OperationalError, match="locked"):
            store.put("a", {"n": 1})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.put("a", {"n": 1}) == 1  # the failed attempt left nothing half-done
    store.close()


def test_threads_can_share_one_store(store: SqliteStore) -> None:
    def bump(worker: int) -> None:
        for i in range(25):
            store.put(f"w{worker}/{i}", {"i": i})
            store.append(_event())

    threads = [threading.Thread(target=bump, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.keys("w")) == 100
    report = store.verify_journal()
    assert (report.ok, report.events_checked) == (True, 100)
    store.close()


def _event() -> NewEvent:
    return NewEvent(kind="k", at=datetime(2024, 1, 1, tzinfo=UTC), payload={})
