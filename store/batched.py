"""A backtest's run store: the SQLite store, with writes and journal appends committed in batches.

A backtest steps thousands of candles a second and each step writes a few documents and journal events; one
SQLite transaction per write is most of what such a step costs. This store keeps the writes and the journal's
new links in memory and commits them together in one transaction when ``flush`` is called (the replay driver:
every ``flush_every`` engine steps, see ``end_step``), before any read, and on close. Versions, conflicts and
the hash chain are computed exactly as ``SqliteStore`` computes them, so what ends up in the file is the same,
byte for byte (``tests/store/test_batched.py``).

For a backtest only: it must be the file's one writer (versions and the journal head are kept in memory), and a
crash loses the batch not yet flushed (a backtest is rerun, never recovered). Live runs keep ``SqliteStore``,
which commits every write at once (invariant 5: state persisted after every order placement).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core.ports import CommandReceipt, CommandStatus, Doc, JournalEvent, NewEvent, OperatorCommand, VerifyReport, Write
from store import records
from store.chain import Head, StoredLink, build_links, head_after
from store.records import StoredDoc
from store.sqlite_store import _LINK_COLUMNS, SqliteStore

FLUSH_EVERY_STEPS = 500


class BatchedSqliteStore(SqliteStore):
    def __init__(self, path: str | Path, namespace: str = "tw", *, flush_every: int = FLUSH_EVERY_STEPS) -> None:
        super().__init__(path, namespace, durable=False)
        self.flush_every = flush_every
        self._docs: dict[str, StoredDoc | None] = {}
        """Every key this store has read or written: its row as it stands with the batch applied."""
        self._dirty: set[str] = set()
        self._links: list[StoredLink] = []
        self._journal_head: Head | None = None
        self._steps = 0

    # ------------------------------------------------------------ batching

    def end_step(self) -> None:
        """One engine step is done: commit the batch every ``flush_every`` steps."""
        self._steps += 1
        if self._steps % self.flush_every == 0:
            self.flush()

    def flush(self) -> None:
        """Commit every batched write and journal link in one transaction."""
        if not self._dirty and not self._links:
            return
        with self._write() as conn:
            for key in sorted(self._dirty):
                row = self._docs[key]
                if row is None:
                    continue
                conn.execute(
                    "INSERT INTO docs (namespace, key, version, value) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (namespace, key) DO UPDATE SET version = excluded.version, value = excluded.value",
                    (self.namespace, key, row.version, row.value),
                )
            if self._links:
                conn.executemany(
                    f"INSERT INTO journal (namespace, {_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(self.namespace, lk.seq, lk.at, lk.kind, lk.payload, lk.prev_hash, lk.hash) for lk in self._links],
                )
                head = head_after(Head(0, ""), self._links)
                conn.execute(
                    "INSERT INTO journal_head (namespace, seq, hash) VALUES (?, ?, ?)"
                    " ON CONFLICT (namespace) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                    (self.namespace, head.seq, head.hash),
                )
        self._dirty.clear()
        self._links.clear()

    def _transact(self, writes: Sequence[Write], events: Sequence[NewEvent]) -> tuple[dict[str, int], list[StoredLink]]:
        records.check_unique_keys(writes)
        if not writes and not events:
            return {}, []
        stored = {write.key: self._stored(write.key) for write in writes}
        for write in writes:
            records.check_write(write, stored[write.key])
        versions = {write.key: self._apply_batched(write, stored[write.key]) for write in writes}
        links = build_links(self._head_now(), events) if events else []
        if links:
            self._links.extend(links)
            self._journal_head = head_after(self._head_now(), links)
        return versions, links

    def _apply_batched(self, write: Write, stored: StoredDoc | None) -> int:
        """``SqliteStore._apply`` on the in-memory row: a deletion keeps the version (a tombstone)."""
        if write.value is None:
            if stored is not None and stored.value is not None:
                self._docs[write.key] = StoredDoc(stored.version, None)
                self._dirty.add(write.key)
            return 0
        version = records.next_version(write, stored)
        self._docs[write.key] = StoredDoc(version, records.encode_value(write.value))
        self._dirty.add(write.key)
        return version

    def _stored(self, key: str) -> StoredDoc | None:
        if key not in self._docs:
            with self._read() as conn:
                self._docs[key] = self._stored_doc(conn, key)
        return self._docs[key]

    def _head_now(self) -> Head:
        if self._journal_head is None:
            with self._read() as conn:
                self._journal_head = self._head(conn)
        return self._journal_head

    def append(self, event: NewEvent) -> JournalEvent:
        """The appended event as the plain store returns it, without validating what was just built."""
        _, links = self._transact([], [event])
        link = links[0]
        return JournalEvent.model_construct(seq=link.seq, at=datetime.fromisoformat(link.at), kind=link.kind,
                                            payload=json.loads(link.payload), prev_hash=link.prev_hash,
                                            hash=link.hash)  # fmt: skip

    # ------------------------------------------------------------ reads see the batch: commit it first

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]:
        self.flush()
        return super().get_many(keys)

    def keys(self, prefix: str = "") -> list[str]:
        self.flush()
        return super().keys(prefix)

    def read_journal(self, after_seq: int = 0, limit: int | None = None) -> list[JournalEvent]:
        self.flush()
        return super().read_journal(after_seq, limit)

    def read_journal_kinds(
        self, kinds: Collection[str], after_seq: int = 0, limit: int | None = None
    ) -> list[JournalEvent]:
        self.flush()
        return super().read_journal_kinds(kinds, after_seq, limit)

    def read_journal_outlines(
        self, kind: str, remove: Sequence[str], after_seq: int = 0, limit: int | None = None
    ) -> list[tuple[int, Any]]:
        self.flush()
        return super().read_journal_outlines(kind, remove, after_seq, limit)

    def tail_journal(self, n: int) -> list[JournalEvent]:
        self.flush()
        return super().tail_journal(n)

    def verify_journal(self) -> VerifyReport:
        self.flush()
        return super().verify_journal()

    def submit_command(self, command: OperatorCommand) -> CommandReceipt:
        self.flush()
        return super().submit_command(command)

    def pending_commands(self) -> list[CommandReceipt]:
        self.flush()
        return super().pending_commands()

    def finish_command(self, idempotency_key: str, status: CommandStatus, result: dict[str, Any]) -> None:
        self.flush()
        super().finish_command(idempotency_key, status, result)

    def close(self) -> None:
        if not self._closed:
            self.flush()
        super().close()
