"""Schema v2 adds the request budget's counters; a v1 file (written before) gains them on open, data kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.errors import OperationalError
from store import sqlite_schema
from store.sqlite_store import SqliteStore


def test_a_version_1_file_gains_the_counters_table_and_keeps_its_documents(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in sqlite_schema._statements(sqlite_schema._SCHEMA_V1):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO docs (namespace, key, version, value) VALUES ('tw', 'a', 3, '{\"n\":1}')")
    conn.close()
    store = SqliteStore(path)
    try:
        assert store.get("a") is not None and store.get("a").version == 3  # type: ignore[union-attr]
        assert store.count("weight", 1, add=4) == 4
    finally:
        store.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == sqlite_schema.SCHEMA_VERSION == 3


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v9.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 9")
    with pytest.raises(OperationalError, match="schema version 9"):
        SqliteStore(path)
