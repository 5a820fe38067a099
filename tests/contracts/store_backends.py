"""The backends the store contract runs against, and how to damage each one by hand.

The tamper helpers go around the store on purpose (raw SQL, raw Redis commands), as someone editing the
data at rest would.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import redis

from core.canonical import canonical_json
from core.ports import Store
from core.settings import StoreSettings
from store.chain import link_hash
from store.factory import open_store


class Backend(Protocol):
    name: str
    url: str
    namespace: str

    def open(self, namespace: str | None = None) -> Store: ...

    def tamper_payload(self, seq: int, payload: dict[str, Any], *, rehash: bool = False) -> None:
        """Change one journal event's payload; with ``rehash`` also recompute that event's own hash."""
        ...

    def delete_event(self, seq: int) -> None: ...

    def rewrite_command(self, key: str, text: str) -> None:
        """Replace a queued command's stored JSON by ``text``, as an old client or a hand edit would leave it."""
        ...


def _rehashed(fields: dict[str, Any], seq: int, payload_text: str) -> str:
    return link_hash(fields["prev_hash"], seq, fields["at"], fields["kind"], json.loads(payload_text))


@dataclass
class SqliteBackend:
    path: Path
    namespace: str = "tw"
    name: str = "sqlite"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"  # an absolute path: four slashes

    def open(self, namespace: str | None = None) -> Store:
        return open_store(StoreSettings(url=self.url, namespace=namespace or self.namespace))

    def _raw(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("DROP TRIGGER IF EXISTS journal_no_update")
        conn.execute("DROP TRIGGER IF EXISTS journal_no_delete")
        return conn

    def tamper_payload(self, seq: int, payload: dict[str, Any], *, rehash: bool = False) -> None:
        conn = self._raw()
        try:
            text = canonical_json(payload)
            conn.execute("UPDATE journal SET payload = ? WHERE namespace = ? AND seq = ?", (text, self.namespace, seq))
            if rehash:
                row = conn.execute(
                    "SELECT prev_hash, at, kind FROM journal WHERE namespace = ? AND seq = ?", (self.namespace, seq)
                ).fetchone()
                digest = _rehashed({"prev_hash": row[0], "at": row[1], "kind": row[2]}, seq, text)
                conn.execute(
                    "UPDATE journal SET hash = ? WHERE namespace = ? AND seq = ?", (digest, self.namespace, seq)
                )
        finally:
            conn.close()

    def delete_event(self, seq: int) -> None:
        conn = self._raw()
        try:
            deleted = conn.execute("DELETE FROM journal WHERE namespace = ? AND seq = ?", (self.namespace, seq))
            assert deleted.rowcount == 1
        finally:
            conn.close()

    def rewrite_command(self, key: str, text: str) -> None:
        conn = self._raw()
        try:
            changed = conn.execute(
                "UPDATE commands SET command = ? WHERE namespace = ? AND idempotency_key = ?", (text, self.namespace, key)
            )
            assert changed.rowcount == 1
        finally:
            conn.close()


@dataclass
class RedisBackend:
    server_url: str
    namespace: str
    name: str = "redis"

    @property
    def url(self) -> str:
        return self.server_url

    def open(self, namespace: str | None = None) -> Store:
        return open_store(StoreSettings(url=self.url, namespace=namespace or self.namespace))

    @property
    def journal_key(self) -> str:
        return f"{{{self.namespace}}}:journal"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.server_url, decode_responses=True)

    def tamper_payload(self, seq: int, payload: dict[str, Any], *, rehash: bool = False) -> None:
        """Rewrite the whole stream, entry by entry with the same ids, one payload changed."""
        client = self.client()
        try:
            entries = client.xrange(self.journal_key)
            client.delete(self.journal_key)
            for entry_id, fields in entries:
                if entry_id == f"{seq}-0":
                    fields["payload"] = canonical_json(payload)
                    if rehash:
                        fields["hash"] = _rehashed(fields, seq, fields["payload"])
                client.xadd(self.journal_key, fields, id=entry_id)
        finally:
            client.close()

    def delete_event(self, seq: int) -> None:
        client = self.client()
        try:
            assert client.xdel(self.journal_key, f"{seq}-0") == 1
        finally:
            client.close()

    def rewrite_command(self, key: str, text: str) -> None:
        client = self.client()
        try:
            record = f"{{{self.namespace}}}:cmd:{key}"
            assert client.exists(record) == 1
            client.hset(record, "command", text)
        finally:
            client.close()
