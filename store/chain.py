"""The journal's hash chain: one rule for building links and one for checking them, shared by every backend.

Link rule: ``hash = chain_hash(prev_hash, {"seq", "at", "kind", "payload"})`` where ``at`` is the event time
as UTC ISO-8601 text (``datetime.isoformat()``), ``payload`` is the JSON value as stored, and seq 1 links
to ``GENESIS_HASH``. Sequence numbers are consecutive from 1. Every backend also keeps a *head* (last seq
and hash) updated in the same transaction as the append, so a deleted tail is caught too.

Backends hand stored rows to ``ChainVerifier`` exactly as read (payload as text), so the check recomputes
from the bytes at rest, not from a re-serialized model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.canonical import GENESIS_HASH, canonical_json, chain_hash, sha256_hex
from core.errors import OperationalError
from core.ports import JournalEvent, NewEvent, VerifyReport

HASH_MISMATCH = "hash_mismatch"
PREV_HASH_MISMATCH = "prev_hash_mismatch"
MISSING_SEQ = "missing_seq"
OUT_OF_ORDER = "out_of_order"
UNREADABLE = "unreadable"
HEAD_MISMATCH = "head_mismatch"


@dataclass(frozen=True, slots=True)
class Head:
    """The last appended event as the store's head record says (seq 0 and the genesis hash when empty)."""

    seq: int
    hash: str


EMPTY_HEAD = Head(0, GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class StoredLink:
    """One journal row exactly as a backend stores it: ``at`` as text, ``payload`` as JSON text."""

    seq: int
    at: str
    kind: str
    payload: str
    prev_hash: str
    hash: str

    def to_event(self) -> JournalEvent:
        """The event as callers see it; a row too damaged to read raises ``OperationalError``."""
        try:
            return JournalEvent(
                seq=self.seq,
                at=datetime.fromisoformat(self.at),
                kind=self.kind,
                payload=json.loads(self.payload),
                prev_hash=self.prev_hash,
                hash=self.hash,
            )
        except ValueError as exc:  # bad time, bad JSON, or a model validation error
            raise OperationalError(f"journal event seq {self.seq} is unreadable ({exc}); run `journal verify`") from exc


def at_text(at: datetime) -> str:
    """The one text form of an event time: UTC, ISO-8601, as ``isoformat`` writes it."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("journal event time must be tz-aware")
    return at.astimezone(UTC).isoformat()


def link_hash(prev_hash: str, seq: int, at: str, kind: str, payload: Any) -> str:
    """The link rule (see the module docstring)."""
    return chain_hash(prev_hash, {"seq": seq, "at": at, "kind": kind, "payload": payload})


def _body_text(seq: int, at: str, kind: str, payload_text: str) -> str:
    """``canonical_json`` of the link body, spliced from the payload's canonical text (sorted keys: at, kind,
    payload, seq); the same bytes as ``canonical_json({"seq", "at", "kind", "payload": json.loads(payload_text)})``
    because canonical JSON reads back to itself (``tests/store/test_chain.py``)."""
    return f'{{"at":{canonical_json(at)},"kind":{canonical_json(kind)},"payload":{payload_text},"seq":{seq}}}'


def build_links(head: Head, events: Sequence[NewEvent]) -> list[StoredLink]:
    """Number and hash ``events`` as the successors of ``head``. Pure: the caller stores them atomically."""
    links: list[StoredLink] = []
    prev = head
    for event in events:
        seq = prev.seq + 1
        at = at_text(event.at)
        payload_text = canonical_json(event.payload)
        digest = sha256_hex(prev.hash + _body_text(seq, at, event.kind, payload_text))
        links.append(StoredLink(seq, at, event.kind, payload_text, prev.hash, digest))
        prev = Head(seq, digest)
    return links


def head_after(head: Head, links: Sequence[StoredLink]) -> Head:
    return Head(links[-1].seq, links[-1].hash) if links else head


class ChainVerifier:
    """Checks stored links fed in seq order and stops at the first broken one.

    Usage: ``feed`` every link (it returns ``False`` once a problem is found, so callers can stop
    reading), then ``finish(head)`` with the store's head record.
    """

    def __init__(self) -> None:
        self._prev = EMPTY_HEAD
        self._checked = 0
        self._bad_seq: int | None = None
        self._problem: str | None = None

    @property
    def last_seq(self) -> int:
        return self._prev.seq

    def feed(self, link: StoredLink) -> bool:
        if self._bad_seq is not None:
            return False
        problem = self._check(link)
        if problem is not None:
            self._bad_seq, self._problem = problem
            return False
        self._checked += 1
        self._prev = Head(link.seq, link.hash)
        return True

    def finish(self, head: Head) -> VerifyReport:
        if self._bad_seq is None:
            self._check_head(head)
        return VerifyReport(
            ok=self._bad_seq is None,
            events_checked=self._checked,
            first_bad_seq=self._bad_seq,
            problem=self._problem,
        )

    def _check(self, link: StoredLink) -> tuple[int, str] | None:
        expected = self._prev.seq + 1
        if link.seq > expected:
            return expected, f"{MISSING_SEQ}: seq {expected} is missing (next stored event is seq {link.seq})"
        if link.seq < expected:
            return link.seq, f"{OUT_OF_ORDER}: seq {link.seq} found after seq {self._prev.seq}"
        if link.prev_hash != self._prev.hash:
            return link.seq, (
                f"{PREV_HASH_MISMATCH}: seq {link.seq} does not link to the hash of seq {self._prev.seq} "
                f"(an earlier event was rewritten, or this event's prev_hash was edited)"
            )
        try:
            payload = json.loads(link.payload)
        except json.JSONDecodeError as exc:
            return link.seq, f"{UNREADABLE}: seq {link.seq} payload is not JSON ({exc.msg})"
        if link_hash(link.prev_hash, link.seq, link.at, link.kind, payload) != link.hash:
            return link.seq, (
                f"{HASH_MISMATCH}: seq {link.seq} does not hash to its stored hash "
                f"(its time, kind, payload or hash was edited)"
            )
        return None

    def _check_head(self, head: Head) -> None:
        last = self._prev
        if head.seq > last.seq:
            self._bad_seq = last.seq + 1
            self._problem = (
                f"{MISSING_SEQ}: the head says {head.seq} events but the journal ends at seq {last.seq} "
                f"(seq {last.seq + 1}..{head.seq} deleted)"
            )
        elif head.seq < last.seq:
            self._bad_seq = head.seq + 1
            self._problem = f"{HEAD_MISMATCH}: events after the head (seq {head.seq}) were added outside the store"
        elif head.hash != last.hash:
            self._bad_seq = last.seq
            self._problem = f"{HEAD_MISMATCH}: the head hash differs from the hash of seq {last.seq}"
