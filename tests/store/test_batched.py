"""The batched run store against the plain SQLite store: any sequence of writes, deletions, compare-and-sets
(some of them conflicting), journal appends and reads, with commits at any point, gives the same answers and
leaves the same bytes in the file (documents, versions, the journal and its hash chain)."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConflictError
from core.ports import NewEvent, Write
from store.batched import BatchedSqliteStore
from store.sqlite_store import SqliteStore

T0 = datetime(2025, 1, 1, tzinfo=UTC)
KEYS = ["a", "b", "c/d"]

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(KEYS), st.integers(0, 9), st.one_of(st.none(), st.integers(0, 4))),
        st.tuples(st.just("delete"), st.sampled_from(KEYS), st.just(0), st.none()),
        st.tuples(st.just("append"), st.sampled_from(["x", "y"]), st.integers(0, 9), st.none()),
        st.tuples(st.just("both"), st.sampled_from(KEYS), st.integers(0, 9), st.none()),
        st.tuples(st.just("get"), st.sampled_from(KEYS), st.just(0), st.none()),
        st.tuples(st.just("journal"), st.just(""), st.just(0), st.none()),
        st.tuples(st.just("kinds"), st.sampled_from(["x", "y", "w"]), st.integers(0, 5), st.one_of(st.none(), st.integers(0, 3))),
        st.tuples(st.just("flush"), st.just(""), st.just(0), st.none()),
    ),
    max_size=40,
)


def apply(store: SqliteStore, op: tuple[str, str, int, int | None], n: int) -> Any:
    kind, key, value, expected = op
    at = T0 + timedelta(seconds=n)
    try:
        match kind:
            case "put":
                return store.put(key, {"v": value, "n": n}, expected_version=expected)
            case "delete":
                return store.transact([Write(key=key, value=None)])
            case "append":
                event = store.append(NewEvent(kind=key, at=at, payload={"v": value}))
                return (event.seq, event.hash, event.payload)
            case "both":
                return store.transact([Write(key=key, value={"w": value})], [NewEvent(kind="w", at=at, payload={})])
            case "get":
                doc = store.get(key)
                return None if doc is None else (doc.version, doc.value)
            case "journal":
                return [(e.seq, e.kind, e.payload, e.hash) for e in store.read_journal()]
            case "kinds":
                everything = store.read_journal(after_seq=value)
                wanted = [e for e in everything if e.kind in (key, "x")][:expected]
                found = store.read_journal_kinds([key, "x"], after_seq=value, limit=expected)
                assert found == (wanted if expected is not None else [e for e in everything if e.kind in (key, "x")])
                return [(e.seq, e.kind, e.hash) for e in found]
            case _:
                if isinstance(store, BatchedSqliteStore):
                    store.flush()
                return None
    except ConflictError as exc:
        return ("conflict", exc.key, exc.expected, exc.actual)


def rows(path: Path) -> tuple[list[Any], list[Any], list[Any]]:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("SELECT namespace, key, version, value FROM docs ORDER BY key").fetchall(),
            conn.execute("SELECT * FROM journal ORDER BY seq").fetchall(),
            conn.execute("SELECT * FROM journal_head").fetchall(),
        )
    finally:
        conn.close()


@settings(max_examples=80, deadline=None)
@given(ops=OPS, flush_every=st.integers(1, 5))
def test_the_batched_store_answers_and_stores_exactly_what_the_plain_store_does(
    ops: list[tuple[str, str, int, int | None]], flush_every: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain = SqliteStore(Path(tmp) / "plain.sqlite3", durable=False)
        batched = BatchedSqliteStore(Path(tmp) / "batched.sqlite3", flush_every=flush_every)
        try:
            for n, op in enumerate(ops):
                assert apply(batched, op, n) == apply(plain, op, n), op
                batched.end_step()
        finally:
            plain.close()
            batched.close()
        assert rows(Path(tmp) / "batched.sqlite3") == rows(Path(tmp) / "plain.sqlite3")


def test_nothing_reaches_the_file_before_a_flush_and_everything_after(tmp_path: Path) -> None:
    store = BatchedSqliteStore(tmp_path / "s.sqlite3", flush_every=3)
    try:
        store.put("a", {"v": 1})
        store.append(NewEvent(kind="k", at=T0, payload={}))
        assert rows(tmp_path / "s.sqlite3")[:2] == ([], [])
        store.end_step()
        store.end_step()
        assert rows(tmp_path / "s.sqlite3")[:2] == ([], [])
        store.end_step()
        docs, journal, _ = rows(tmp_path / "s.sqlite3")
        assert [d[1] for d in docs] == ["a"] and len(journal) == 1
        store.put("b", {"v": 2})
    finally:
        store.close()
    assert [d[1] for d in rows(tmp_path / "s.sqlite3")[0]] == ["a", "b"], "close commits the rest"
    reopened = SqliteStore(tmp_path / "s.sqlite3")
    try:
        assert reopened.verify_journal().ok
    finally:
        reopened.close()
