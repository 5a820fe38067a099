"""The shared store on a Redis server, for several runners, the dashboard and the operator CLI at once.

Layout (every key starts with the namespace as a Redis hash tag, ``{ns}:``, so several runs share one
server and a whole namespace lives in one cluster slot, which keeps the Lua scripts legal on a cluster):

- ``{ns}:doc:<key>``   hash ``v`` (version), ``d`` (canonical JSON; absent once deleted)
- ``{ns}:docs``        zset of live document keys (lexicographic, for ``keys(prefix)``)
- ``{ns}:journal``     stream, entry id ``<seq>-0``; fields at, kind, payload, prev_hash, hash
- ``{ns}:head``        hash ``seq``, ``hash`` of the last journal event
- ``{ns}:cmd:<key>``   hash per operator command; ``{ns}:commands`` stream (submission log),
  ``{ns}:cmd-pending`` zset by seq, ``{ns}:cmd-seq`` last command seq
- ``{ns}:ctr:<name>``  hash ``w`` (window), ``v`` (value): a windowed counter (``count.lua``, atomic)

A transaction is one Lua script (``transact.lua``): all compare-and-set checks, then the journal append and
the writes, atomically. Lua has no SHA-256, so the hash chain is computed here from the head we read, and the
script refuses (``head_moved``) if another writer appended meanwhile; we then recompute and resend. The
client never re-sends a command on its own (no automatic retries), so a transaction is applied at most once.
Its ``redis`` client, scripts and error translation come from ``store.redis_client``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.canonical import canonical_json
from core.errors import ConflictError, OperationalError
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
from store.chain import EMPTY_HEAD, ChainVerifier, Head, StoredLink, build_links
from store.records import StoredCommand
from store.redis_client import RedisConnection, Script

_PAGE = 1000
_MAX_HEAD_RETRIES = 100
_MAX_VERIFY_PASSES = 20  # head re-reads while writers keep appending


@dataclass(frozen=True, slots=True)
class _Keys:
    ns: str

    @property
    def prefix(self) -> str:
        return f"{{{self.ns}}}:"

    def doc(self, key: str) -> str:
        return f"{self.prefix}doc:{key}"

    def command(self, idempotency_key: str) -> str:
        return f"{self.prefix}cmd:{idempotency_key}"

    @property
    def docs(self) -> str:
        return f"{self.prefix}docs"

    @property
    def journal(self) -> str:
        return f"{self.prefix}journal"

    @property
    def head(self) -> str:
        return f"{self.prefix}head"

    @property
    def commands(self) -> str:
        return f"{self.prefix}commands"

    @property
    def pending(self) -> str:
        return f"{self.prefix}cmd-pending"

    @property
    def command_seq(self) -> str:
        return f"{self.prefix}cmd-seq"

    def counter(self, name: str) -> str:
        return f"{self.prefix}ctr:{name}"


class RedisStore:
    """``core.ports.Store`` on a Redis server (``redis://host:port/db``). Pings the server on open."""

    def __init__(self, url: str, namespace: str = "tw", *, timeout_s: float = 5.0) -> None:
        self._redis = RedisConnection(url, namespace, timeout_s=timeout_s, what="redis store")
        self.namespace, self.url = self._redis.namespace, self._redis.url
        self._names = _Keys(self.namespace)
        self._transact_script = self._redis.script("transact.lua")
        self._submit_script = self._redis.script("submit_command.lua")
        self._finish_script = self._redis.script("finish_command.lua")
        self._count_script = self._redis.script("count.lua")
        self._redis.ping()

    def _run(self, script: Script, keys: list[str], args: list[str | int]) -> list[Any]:
        reply = self._redis.run(script, keys, args)
        if not isinstance(reply, list) or not reply:
            raise OperationalError(f"redis store {self.url}: unexpected script reply {reply!r}")
        if reply[0] in ("wrong_type", "stream_ahead"):
            raise OperationalError(f"redis store {self.url} ({self.namespace}): {reply[0]} {reply[1:]}")
        return reply

    # ------------------------------------------------------------ documents

    def get(self, key: str) -> Doc | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]:
        wanted = list(dict.fromkeys(keys))
        with self._redis.translated():
            pipe = self._redis.client.pipeline(transaction=True)
            for key in wanted:
                pipe.hmget(self._names.doc(key), ["v", "d"])
            rows: list[list[str | None]] = pipe.execute()
        return {
            key: records.decode_doc(key, int(version), value)
            for key, (version, value) in zip(wanted, rows, strict=True)
            if version is not None and value is not None
        }

    def keys(self, prefix: str = "") -> list[str]:
        low: bytes | str = "-"
        high: bytes | str = "+"
        if prefix:
            low = b"[" + prefix.encode("utf-8")
            high = low + b"\xff"  # never part of UTF-8: above every key that starts with the prefix
        with self._redis.translated():
            found = self._redis.client.zrangebylex(self._names.docs, low, high)
        return [_text(key) for key in found]

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
        if not writes and not events:
            return {}, []
        keys = [self._names.head, self._names.journal, self._names.docs, *(self._names.doc(w.key) for w in writes)]
        write_args = [arg for write in writes for arg in _write_args(write)]
        for _ in range(_MAX_HEAD_RETRIES):
            raw_seq, raw_hash = self._raw_head() if events else ("0", "")
            links = build_links(_head(raw_seq, raw_hash), events)
            args = [raw_seq, raw_hash, len(writes), *write_args, len(links), *_link_args(links)]
            reply = self._run(self._transact_script, keys, args)
            if reply[0] == "ok":
                return {w.key: int(v) for w, v in zip(writes, reply[1:], strict=True)}, links
            if reply[0] == "conflict":
                write = writes[int(reply[1]) - 1]
                raise ConflictError(write.key, write.expected_version, int(reply[2]))
            if reply[0] != "head_moved":
                raise OperationalError(f"redis store {self.url}: unexpected transact reply {reply!r}")
        raise OperationalError(f"redis store {self.url} ({self.namespace}): journal head kept moving; gave up")

    # ------------------------------------------------------------ journal

    def _raw_head(self) -> tuple[str, str]:
        with self._redis.translated():
            seq, digest = self._redis.client.hmget(self._names.head, ["seq", "hash"])
        return _text(seq or "0"), _text(digest or "")

    def _links(self, low: str, high: str = "+", count: int | None = None, *, reverse: bool = False) -> list[StoredLink]:
        with self._redis.translated():
            if reverse:
                entries = self._redis.client.xrevrange(self._names.journal, high, low, count=count)
            else:
                entries = self._redis.client.xrange(self._names.journal, low, high, count=count)
        return [_link(entry_id, fields) for entry_id, fields in entries or ()]

    def read_journal(self, after_seq: int = 0, limit: int | None = None) -> list[JournalEvent]:
        records.check_limit(limit)
        if limit == 0:
            return []
        return [link.to_event() for link in self._links(f"{after_seq + 1}-0", count=limit)]

    def tail_journal(self, n: int) -> list[JournalEvent]:
        if n <= 0:
            return []
        return [link.to_event() for link in reversed(self._links("-", count=n, reverse=True))]

    def verify_journal(self) -> VerifyReport:
        """Check the chain page by page, then against the head.

        The head is read after the last page; if it is ahead of what we read, either a writer appended
        meanwhile (read on) or the tail was deleted (the head stays put: report the missing seq).
        """
        verifier = ChainVerifier()
        last_read, last_head = 0, None
        for _ in range(_MAX_VERIFY_PASSES):
            last_read, intact = self._feed_pages(verifier, last_read)
            if not intact:
                return verifier.finish(EMPTY_HEAD)  # the head does not matter once a link is broken
            head = _head(*self._raw_head())
            if head.seq <= last_read or head == last_head:
                return verifier.finish(head)
            last_head = head
        raise OperationalError(f"redis store {self.url} ({self.namespace}): journal kept growing during verify")

    def _feed_pages(self, verifier: ChainVerifier, after_seq: int) -> tuple[int, bool]:
        """Feed every entry after ``after_seq``, a page at a time; returns the last seq read and whether intact."""
        while links := self._links(f"{after_seq + 1}-0", count=_PAGE):
            for link in links:
                if not verifier.feed(link):
                    return link.seq, False
            after_seq = links[-1].seq
        return after_seq, True

    # ------------------------------------------------------------ operator commands

    def submit_command(self, command: OperatorCommand) -> CommandReceipt:
        fingerprint = records.command_fingerprint(command)
        key = command.idempotency_key
        reply = self._run(
            self._submit_script,
            [self._names.command(key), self._names.commands, self._names.pending, self._names.command_seq],
            [key, fingerprint, records.encode_command(command)],
        )
        stored = StoredCommand(int(reply[1]), reply[2], reply[3], reply[4], reply[5] or None)
        if reply[0] == "accepted":
            return stored.receipt("accepted", key)
        return stored.receipt(records.submission_outcome(fingerprint, stored.fingerprint), key)

    def pending_commands(self) -> list[CommandReceipt]:
        with self._redis.translated():
            keys = self._redis.client.zrange(self._names.pending, 0, -1)
            pipe = self._redis.client.pipeline(transaction=True)
            for key in keys:
                pipe.hmget(self._names.command(_text(key)), ["seq", "command", "fp", "status", "result"])
            rows: list[list[str | None]] = pipe.execute()
        # A command finished between the two reads is no longer pending: skip it.
        return [
            StoredCommand(int(seq), command, fp, status, result).receipt("accepted", _text(key))
            for key, (seq, command, fp, status, result) in zip(keys, rows, strict=True)
            if seq is not None and command is not None and fp is not None and status == CommandStatus.PENDING
        ]

    def finish_command(self, idempotency_key: str, status: CommandStatus, result: dict[str, Any]) -> None:
        records.check_finish_status(status)
        result_text = canonical_json(result)
        reply = self._run(
            self._finish_script,
            [self._names.command(idempotency_key), self._names.pending],
            [idempotency_key, status.value, result_text],
        )
        if reply[0] == "written":
            return
        stored_status, stored_result = (None, None) if reply[0] == "unknown" else (reply[1], reply[2] or None)
        records.finish_is_noop(idempotency_key, stored_status, stored_result, status, result_text)

    # ------------------------------------------------------------ windowed counters (core.request_budget)

    def count(self, name: str, window: int, *, add: int = 0, at_least: int = 0) -> int:
        """``core.request_budget.WindowCounter``: one Lua script, atomic for every client of the server."""
        with self._redis.translated():
            reply = self._count_script(keys=[self._names.counter(name)], args=[window, add, at_least])
        try:
            return int(_text(reply) if not isinstance(reply, int) else reply)
        except ValueError as exc:
            raise OperationalError(f"redis store {self.url}: unexpected counter reply {reply!r}") from exc

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisStore(url={self.url!r}, namespace={self.namespace!r})"


def _write_args(write: Write) -> list[str | int]:
    expected = "" if write.expected_version is None else write.expected_version
    if write.value is None:
        return ["del", expected, "", write.key]
    return ["set", expected, records.encode_value(write.value), write.key]


def _link_args(links: Sequence[StoredLink]) -> list[str | int]:
    return [arg for lk in links for arg in (lk.seq, lk.at, lk.kind, lk.payload, lk.prev_hash, lk.hash)]


def _head(raw_seq: str, raw_hash: str) -> Head:
    seq = int(raw_seq)
    return Head(seq, raw_hash) if seq else EMPTY_HEAD


def _link(entry_id: object, fields: object) -> StoredLink:
    """A stream entry as a chain link; a field missing from a hand-made entry reads as "" and fails the hash."""
    found = {_text(name): _text(value) for name, value in fields.items()} if isinstance(fields, dict) else {}
    return StoredLink(
        seq=int(_text(entry_id).split("-", 1)[0]),
        at=found.get("at", ""),
        kind=found.get("kind", ""),
        payload=found.get("payload", ""),
        prev_hash=found.get("prev_hash", ""),
        hash=found.get("hash", ""),
    )


def _text(value: object) -> str:
    """A reply item as text (the client decodes replies; the typing cannot know that)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise OperationalError(f"redis store: unexpected reply item {value!r}")
