"""The agent's working memory: one bounded note it rewrites through ``update_memory``, with history.

Stored through the ``Store`` port when one is given (``agent/memory`` holds the current note,
``agent/memory/history/<version>`` every version, and a ``memory_updated`` journal event is
appended in the same transaction), else in process memory. Secrets never enter it: every write is
scrubbed (configured secret values and anything shaped like a key) and capped to ``max_chars``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from core.ports import NewEvent, Store, Write
from tools.scrub import scrub

CURRENT_KEY = "agent/memory"
HISTORY_PREFIX = "agent/memory/history/"


@dataclass(frozen=True)
class MemoryNote:
    text: str
    version: int
    updated_at: datetime | None
    redacted: bool = False


class AgentMemory:
    def __init__(self, max_chars: int, secrets: Iterable[str] = (), store: Store | None = None) -> None:
        self.max_chars = max_chars
        self.secrets = tuple(s for s in secrets if s)
        self._store = store
        self._history: list[MemoryNote] = []

    def current(self) -> MemoryNote:
        if self._store is None:
            return self._history[-1] if self._history else MemoryNote(text="", version=0, updated_at=None)
        doc = self._store.get(CURRENT_KEY)
        if doc is None:
            return MemoryNote(text="", version=0, updated_at=None)
        return _note(doc.value)

    def update(self, text: str, at: datetime, source: str = "agent") -> MemoryNote:
        """Replace the note (scrubbed, capped) and keep the old one in the history."""
        cleaned, redacted = scrub(text.strip(), self.secrets)
        cleaned = cleaned[: self.max_chars]
        note = MemoryNote(text=cleaned, version=self.current().version + 1, updated_at=at, redacted=redacted)
        if self._store is None:
            self._history.append(note)
            return note
        value = {"text": note.text, "version": note.version, "updated_at": at.isoformat(), "redacted": redacted}
        self._store.transact(
            [
                Write(key=CURRENT_KEY, value=value, expected_version=note.version - 1),
                Write(key=f"{HISTORY_PREFIX}{note.version:08d}", value=value, expected_version=0),
            ],
            [NewEvent(kind="memory_updated", at=at, payload={**value, "source": source})],
        )
        return note

    def history(self, limit: int = 20) -> list[MemoryNote]:
        """The latest ``limit`` versions, oldest first."""
        if self._store is None:
            return self._history[-limit:]
        keys = sorted(self._store.keys(HISTORY_PREFIX))[-limit:]
        docs = self._store.get_many(keys)
        return [_note(docs[k].value) for k in keys if k in docs]


def _note(value: dict[str, object]) -> MemoryNote:
    updated = value.get("updated_at")
    return MemoryNote(
        text=str(value.get("text", "")),
        version=int(str(value.get("version", 0))),
        updated_at=datetime.fromisoformat(updated) if isinstance(updated, str) else None,
        redacted=bool(value.get("redacted", False)),
    )
