"""The embedded default store: one SQLite file in WAL mode with ``synchronous=FULL``.

Every mutation is one ``BEGIN IMMEDIATE`` transaction, so the writes and journal appends of one
``transact`` reach the disk together or not at all, even if the process is killed mid-way; concurrent
processes queue on SQLite's write lock (busy timeout) and compare-and-set is decided inside the lock.
Several namespaces may share one file. ``sqlite3`` errors become ``OperationalError`` here, once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.canonical import canonical_json
from core.errors import OperationalError
from core.ports import (
    CommandReceipt,
    CommandStatus,
    Doc,
    JournalEvent,
    NewEvent,
    OperatorCommand,
    VerifyReport,
    Write,
)
from store import records
from store.chain import EMPTY_HEAD, ChainVerifier, Head, StoredLink, build_links, head_after
from store.records import StoredCommand, StoredDoc
from store.sqlite_schema import ensure_schema

DEFAULT_PATH = Path("var") / "tradewake.sqlite3"
_READ_CHUNK = 500
_LINK_COLUMNS = "seq, at, kind, payload, prev_hash, hash"
_COMMAND_COLUMNS = "seq, command, fingerprint, status, result"


class SqliteStore:
    """``core.ports.Store`` on a local SQLite file (created, with its directory, on first open)."""

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        namespace: str = "tw",
        *,
        busy_timeout_s: float = 10.0,
        durable: bool = True,
    ) -> None:
        """``durable=False`` (``synchronous=OFF``) is for a backtest's run store: still atomic per transaction,
        but a power loss may drop the last commits. A backtest is re-run; live state must stay durable."""
        self.path = Path(path)
        self._synchronous = "FULL" if durable else "OFF"
        self.namespace = records.check_namespace(namespace)
        self._lock = threading.Lock()
        self._closed = False
        self._busy_timeout_s = busy_timeout_s
        self._counters: sqlite3.Connection | None = None
        self._conn = self._connect(busy_timeout_s)
        try:
            with self._write() as conn:
                ensure_schema(conn, str(self.path))
        except BaseException:
            self.close()
            raise

    def _connect(self, busy_timeout_s: float) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise OperationalError(f"sqlite store {self.path}: cannot open: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            if str(mode).lower() != "wal":
                raise OperationalError(f"sqlite store {self.path}: WAL mode unavailable (journal_mode={mode})")
        except sqlite3.Error as exc:
            conn.close()
            raise OperationalError(f"sqlite store {self.path}: cannot open: {exc}") from exc
        except OperationalError:
            conn.close()
            raise
        return conn

    # ------------------------------------------------------------ transactions

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back if it raises."""
        with self._locked(), _translated(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent snapshot."""
        with self._locked(), _translated(self.path):
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise OperationalError(f"sqlite store {self.path} is closed")
            yield

    # ------------------------------------------------------------ documents

    def get(self, key: str) -> Doc | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Doc] = {}
        with self._read() as conn:
            for start in range(0, len(wanted), _READ_CHUNK):
                chunk = wanted[start : start + _READ_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    "SELECT key, version, value FROM docs"
                    f" WHERE namespace = ? AND value IS NOT NULL AND key IN ({marks})",
                    (self.namespace, *chunk),
                )
                for key, version, value in rows:
                    found[key] = records.decode_doc(key, version, value)
        return {key: found[key] for key in wanted if key in found}

    def keys(self, prefix: str = "") -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT key FROM docs WHERE namespace = ? AND value IS NOT NULL"
                " AND substr(key, 1, length(?)) = ? ORDER BY key",
                (self.namespace, prefix, prefix),
            )
            return [row[0] for row in rows]

    def transact(self, writes: Sequence[Write], events: Sequence[NewEvent] = ()) -> dict[str, int]:
        versions, _ = self._transact(writes, events)
        return versions

    def put(self, key: str, value: dict[str, Any], expected_version: int | None = None) -> int:
        return self.transact([Write(key=key, value=value, expected_version=expected_version)])[key]

    def append(self, event: NewEvent) -> JournalEvent:
        _, links = self._transact([], [event])
        return links[0].to_event()

    def _transact(self, writes: Sequence[Write], events: Sequence[NewEvent]) -> tuple[dict[str, int], list[StoredLink]]:
        records.check_unique_keys(writes)
        encoded = [(write, None if write.value is None else records.encode_value(write.value)) for write in writes]
        if not writes and not events:
            return {}, []
        with self._write() as conn:
            stored = {write.key: self._stored_doc(conn, write.key) for write in writes}
            for write in writes:
                records.check_write(write, stored[write.key])
            versions = {write.key: self._apply(conn, write, value, stored[write.key]) for write, value in encoded}
            links = self._append_links(conn, events)
        return versions, links

    def _stored_doc(self, conn: sqlite3.Connection, key: str) -> StoredDoc | None:
        row = conn.execute(
            "SELECT version, value FROM docs WHERE namespace = ? AND key = ?", (self.namespace, key)
        ).fetchone()
        return StoredDoc(row[0], row[1]) if row else None

    def _apply(self, conn: sqlite3.Connection, write: Write, value: str | None, stored: StoredDoc | None) -> int:
        if value is None:
            if stored is not None and stored.value is not None:
                conn.execute(
                    "UPDATE docs SET value = NULL WHERE namespace = ? AND key = ?", (self.namespace, write.key)
                )
            return 0
        version = records.next_version(write, stored)
        conn.execute(
            "INSERT INTO docs (namespace, key, version, value) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (namespace, key) DO UPDATE SET version = excluded.version, value = excluded.value",
            (self.namespace, write.key, version, value),
        )
        return version

    # ------------------------------------------------------------ journal

    def _append_links(self, conn: sqlite3.Connection, events: Sequence[NewEvent]) -> list[StoredLink]:
        if not events:
            return []
        head = self._head(conn)
        links = build_links(head, events)
        conn.executemany(
            f"INSERT INTO journal (namespace, {_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(self.namespace, lk.seq, lk.at, lk.kind, lk.payload, lk.prev_hash, lk.hash) for lk in links],
        )
        new_head = head_after(head, links)
        conn.execute(
            "INSERT INTO journal_head (namespace, seq, hash) VALUES (?, ?, ?)"
            " ON CONFLICT (namespace) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (self.namespace, new_head.seq, new_head.hash),
        )
        return links

    def _head(self, conn: sqlite3.Connection) -> Head:
        row = conn.execute("SELECT seq, hash FROM journal_head WHERE namespace = ?", (self.namespace,)).fetchone()
        return Head(row[0], row[1]) if row else EMPTY_HEAD

    def read_journal(self, after_seq: int = 0, limit: int | None = None) -> list[JournalEvent]:
        records.check_limit(limit)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_LINK_COLUMNS} FROM journal WHERE namespace = ? AND seq > ? ORDER BY seq LIMIT ?",
                (self.namespace, after_seq, -1 if limit is None else limit),
            ).fetchall()
        return [StoredLink(*row).to_event() for row in rows]

    def read_journal_kinds(
        self, kinds: Collection[str], after_seq: int = 0, limit: int | None = None
    ) -> list[JournalEvent]:
        """``read_journal`` of the events whose kind is in ``kinds`` only (a report reads a few kinds of a long
        run's journal; SQLite filters them without decoding the rest)."""
        records.check_limit(limit)
        wanted = sorted(set(kinds))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_LINK_COLUMNS} FROM journal WHERE namespace = ? AND seq > ? AND kind IN ({marks})"
                " ORDER BY seq LIMIT ?",
                (self.namespace, after_seq, *wanted, -1 if limit is None else limit),
            ).fetchall()
        return [StoredLink(*row).to_event() for row in rows]

    def read_journal_outlines(self, kind: str, remove: Sequence[str], after_seq: int = 0,
                              limit: int | None = None) -> list[tuple[int, Any]]:
        """``(seq, payload)`` of ``kind``'s events, each without the JSON paths ``remove`` (``$.a[0].b``), which SQLite
        drops before Python decodes the rest. For reading only (a report), never for the hash chain."""
        records.check_limit(limit)
        bound = -1 if limit is None else limit
        sql = (f"SELECT seq, json_remove(payload{', ?' * len(remove)}) FROM journal"
               " WHERE namespace = ? AND kind = ? AND seq > ? ORDER BY seq LIMIT ?")
        with self._read() as conn:
            rows = conn.execute(sql, (*remove, self.namespace, kind, after_seq, bound)).fetchall()
        return [(seq, json.loads(payload)) for seq, payload in rows]

    def tail_journal(self, n: int) -> list[JournalEvent]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_LINK_COLUMNS} FROM journal WHERE namespace = ? ORDER BY seq DESC LIMIT ?",
                (self.namespace, max(n, 0)),
            ).fetchall()
        return [StoredLink(*row).to_event() for row in reversed(rows)]

    def verify_journal(self) -> VerifyReport:
        verifier = ChainVerifier()
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_LINK_COLUMNS} FROM journal WHERE namespace = ? ORDER BY seq", (self.namespace,)
            )
            for row in rows:
                if not verifier.feed(StoredLink(*row)):
                    break
            head = self._head(conn)
        return verifier.finish(head)

    # ------------------------------------------------------------ operator commands

    def submit_command(self, command: OperatorCommand) -> CommandReceipt:
        fingerprint = records.command_fingerprint(command)
        key = command.idempotency_key
        with self._write() as conn:
            stored = self._stored_command(conn, key)
            if stored is not None:
                return stored.receipt(records.submission_outcome(fingerprint, stored.fingerprint), key)
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM commands WHERE namespace = ?", (self.namespace,)
            ).fetchone()[0]
            stored = StoredCommand(seq, records.encode_command(command), fingerprint, CommandStatus.PENDING, None)
            conn.execute(
                f"INSERT INTO commands (namespace, idempotency_key, {_COMMAND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.namespace, command.idempotency_key, *_command_row(stored)),
            )
        return stored.receipt("accepted", key)

    def pending_commands(self) -> list[CommandReceipt]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT idempotency_key, {_COMMAND_COLUMNS} FROM commands WHERE namespace = ? AND status = ? "
                "ORDER BY seq",
                (self.namespace, CommandStatus.PENDING.value),
            ).fetchall()
        return [StoredCommand(*row).receipt("accepted", key) for key, *row in rows]

    def finish_command(self, idempotency_key: str, status: CommandStatus, result: dict[str, Any]) -> None:
        records.check_finish_status(status)
        result_text = canonical_json(result)
        with self._write() as conn:
            stored = self._stored_command(conn, idempotency_key)
            stored_status, stored_result = (stored.status, stored.result) if stored else (None, None)
            if records.finish_is_noop(idempotency_key, stored_status, stored_result, status, result_text):
                return
            conn.execute(
                "UPDATE commands SET status = ?, result = ? WHERE namespace = ? AND idempotency_key = ?",
                (status.value, result_text, self.namespace, idempotency_key),
            )

    def _stored_command(self, conn: sqlite3.Connection, key: str) -> StoredCommand | None:
        row = conn.execute(
            f"SELECT {_COMMAND_COLUMNS} FROM commands WHERE namespace = ? AND idempotency_key = ?",
            (self.namespace, key),
        ).fetchone()
        return StoredCommand(*row) if row else None

    # ------------------------------------------------------------ windowed counters (core.request_budget)

    def count(self, name: str, window: int, *, add: int = 0, at_least: int = 0) -> int:
        """``core.request_budget.WindowCounter``: one ``BEGIN IMMEDIATE`` read-modify-write, so processes queue.

        Counters live a window (seconds to a day) and guard no money: they use their own connection without
        fsync (``synchronous=OFF``, still atomic), and write only when the value or the window changes.
        """
        with self._locked(), _translated(self.path):
            conn = self._counter_connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                value = self._count_in(conn, name, window, add, at_least)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return value

    def _count_in(self, conn: sqlite3.Connection, name: str, window: int, add: int, at_least: int) -> int:
        row = conn.execute(
            "SELECT win, value FROM counters WHERE namespace = ? AND name = ?", (self.namespace, name)
        ).fetchone()
        stored = (int(row[0]), int(row[1])) if row else None
        stored_window, value = stored or (window, 0)
        if stored_window < window:
            stored_window, value = window, 0
        value = max(value, at_least) + add
        if (stored_window, value) != stored:
            conn.execute(
                "INSERT INTO counters (namespace, name, win, value) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (namespace, name) DO UPDATE SET win = excluded.win, value = excluded.value",
                (self.namespace, name, stored_window, value),
            )
        return value

    def _counter_connection(self) -> sqlite3.Connection:
        """The counters' connection, opened on first use (caller holds the lock)."""
        if self._counters is None:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous=OFF")
            self._counters = conn
        return self._counters

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with _translated(self.path):
                self._conn.close()
                if self._counters is not None:
                    self._counters.close()

    def __repr__(self) -> str:
        return f"SqliteStore(path={str(self.path)!r}, namespace={self.namespace!r})"


def _command_row(stored: StoredCommand) -> tuple[int, str, str, str, str | None]:
    return stored.seq, stored.command, stored.fingerprint, str(stored.status), stored.result


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """The one place ``sqlite3`` errors become ``OperationalError`` (locked, disk I/O, corrupt file ...)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise OperationalError(f"sqlite store {path}: {exc}") from exc
