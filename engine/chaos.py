"""A test hook for kill -9 chaos, off unless its environment variable is set: ``TRADEWAKE_CHAOS_KILL_AT_SAVE=N``
makes the live runner SIGKILL itself inside its N-th store transaction, before the transaction commits (the
chaos tests aim one kill in five "during a save" this way; the other points are aimed from outside, by the
venue's ledger and the bot's journal). ``engine/wiring.py`` wraps a live run's store with :func:`chaos_store`;
without the variable it returns the store itself.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from typing import Any

from core.errors import ConfigError
from core.ports import (
    CommandReceipt,
    CommandStatus,
    Doc,
    JournalEvent,
    NewEvent,
    OperatorCommand,
    Store,
    VerifyReport,
    Write,
)

KILL_AT_SAVE_ENV = "TRADEWAKE_CHAOS_KILL_AT_SAVE"


def chaos_store(store: Store) -> Store:
    """``store``, or ``store`` wrapped to die at the transaction ``TRADEWAKE_CHAOS_KILL_AT_SAVE`` names."""
    raw = os.environ.get(KILL_AT_SAVE_ENV)
    if not raw:
        return store
    try:
        at = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{KILL_AT_SAVE_ENV} must be a transaction number, got {raw!r}") from exc
    return KillAtSave(store, at)


class KillAtSave:
    """A ``Store`` that SIGKILLs its own process at its ``at``-th transaction, before passing it on."""

    def __init__(self, store: Store, at: int) -> None:
        self._store = store
        self._at = at
        self._count = 0

    def transact(self, writes: Sequence[Write], events: Sequence[NewEvent] = ()) -> dict[str, int]:
        self._count += 1
        if self._count == self._at:
            os.kill(os.getpid(), signal.SIGKILL)
        return self._store.transact(writes, events)

    def get(self, key: str) -> Doc | None:
        return self._store.get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]:
        return self._store.get_many(keys)

    def keys(self, prefix: str = "") -> list[str]:
        return self._store.keys(prefix)

    def put(self, key: str, value: dict[str, Any], expected_version: int | None = None) -> int:
        return self._store.put(key, value, expected_version)

    def append(self, event: NewEvent) -> JournalEvent:
        return self._store.append(event)

    def read_journal(self, after_seq: int = 0, limit: int | None = None) -> list[JournalEvent]:
        return self._store.read_journal(after_seq, limit)

    def tail_journal(self, n: int) -> list[JournalEvent]:
        return self._store.tail_journal(n)

    def verify_journal(self) -> VerifyReport:
        return self._store.verify_journal()

    def submit_command(self, command: OperatorCommand) -> CommandReceipt:
        return self._store.submit_command(command)

    def pending_commands(self) -> list[CommandReceipt]:
        return self._store.pending_commands()

    def finish_command(self, idempotency_key: str, status: CommandStatus, result: dict[str, Any]) -> None:
        self._store.finish_command(idempotency_key, status, result)

    def close(self) -> None:
        self._store.close()
