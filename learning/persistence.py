"""How the learner's state lives in the ``Store``: one state document plus one ledger key per position.

- ``learner/state``: the posterior evidence of every scope and ``ledger_size`` (schema below).
- ``learner/ledger/<position_id>``: one ``LedgerEntry`` per recorded position.

A recording writes both in one ``store.transact``: the state document with compare-and-set on the
version it was computed from, the ledger key with ``expected_version=0`` (must not exist yet). So two
writers can never both apply the same trade (the ledger key refuses the second) nor lose each other's
update (the state version refuses the stale one).

On load, the ledger is replayed and must reproduce the stored posteriors bit for bit; a mismatch is
an ``OperationalError`` (someone wrote around the learner), never silently repaired.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import OperationalError
from core.ports import Doc, Store
from learning.evidence import ScopeState
from learning.state import LearnerState, LedgerEntry, apply_entry, replay

STATE_KEY = "learner/state"
LEDGER_PREFIX = "learner/ledger/"
SCHEMA_VERSION = 1

_M = TypeVar("_M", bound=BaseModel)


class StateDoc(BaseModel):
    """The JSON form of ``learner/state``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    ledger_size: int = Field(ge=0)
    global_scope: ScopeState
    regimes: dict[str, ScopeState]


class TornReadError(Exception):
    """The ledger keys read do not match the state document read just before (a concurrent writer)."""


def ledger_key(position_id: str) -> str:
    return LEDGER_PREFIX + position_id


def encode_state(state: LearnerState) -> dict[str, Any]:
    doc = StateDoc(ledger_size=state.last_seq, global_scope=state.global_scope, regimes=state.regimes)
    return doc.model_dump(mode="json")


def encode_entry(entry: LedgerEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json")


def decode(state_doc: Doc | None, ledger_docs: Iterable[Doc]) -> LearnerState:
    """Rebuild the state from what the store holds; raise ``TornReadError`` on a racing write."""
    if state_doc is None:
        stored = StateDoc(ledger_size=0, global_scope=ScopeState(), regimes={})
    else:
        stored = _parse(StateDoc, state_doc)
    if stored.schema_version != SCHEMA_VERSION:
        raise OperationalError(f"{STATE_KEY} has schema {stored.schema_version}, this code reads {SCHEMA_VERSION}")
    entries = [_parse_entry(doc) for doc in ledger_docs]
    committed = [entry for entry in entries if entry.seq <= stored.ledger_size]
    if len(committed) != stored.ledger_size:
        raise TornReadError(f"{STATE_KEY} counts {stored.ledger_size} trades, {len(committed)} ledger entries found")
    rebuilt = _replay_checked(committed)
    if rebuilt.global_scope != stored.global_scope or rebuilt.regimes != stored.regimes:
        raise OperationalError(f"{STATE_KEY} does not match a replay of the learner ledger: refusing to load")
    return rebuilt


def load(store: Store) -> tuple[LearnerState, int]:
    """The state and the version of ``learner/state`` it was read at (0 when absent)."""
    state_doc = store.get(STATE_KEY)
    ledger_docs = store.get_many(store.keys(LEDGER_PREFIX)).values()
    return decode(state_doc, ledger_docs), 0 if state_doc is None else state_doc.version


def load_newer(store: Store, known: LearnerState) -> tuple[LearnerState, int]:
    """Catch ``known`` up with what other writers committed, reading only the ledger entries it lacks.

    ``known`` must be a state this process loaded or committed (a prefix of the stored ledger).
    Same checks as :func:`decode`: the result must reproduce the stored posteriors exactly.
    """
    state_doc = store.get(STATE_KEY)
    if state_doc is None:
        if known.last_seq:
            raise OperationalError(f"{STATE_KEY} vanished from the store after {known.last_seq} recorded trades")
        return known, 0
    stored = _parse(StateDoc, state_doc)
    missing_keys = [key for key in store.keys(LEDGER_PREFIX) if key[len(LEDGER_PREFIX) :] not in known.ledger]
    entries = [_parse_entry(doc) for doc in store.get_many(missing_keys).values()]
    committed = sorted((entry for entry in entries if entry.seq <= stored.ledger_size), key=lambda e: e.seq)
    if known.last_seq + len(committed) != stored.ledger_size:
        raise TornReadError(
            f"{STATE_KEY} counts {stored.ledger_size} trades; {known.last_seq} known + {len(committed)} new entries"
        )
    state = known
    try:
        for entry in committed:
            state = apply_entry(state, entry).state
    except ValueError as exc:
        raise OperationalError(f"learner ledger is inconsistent: {exc}") from exc
    if state.global_scope != stored.global_scope or state.regimes != stored.regimes:
        raise OperationalError(f"{STATE_KEY} does not match the learner ledger: refusing to load")
    return state, state_doc.version


def _parse_entry(doc: Doc) -> LedgerEntry:
    entry = _parse(LedgerEntry, doc)
    if doc.key != ledger_key(entry.position_id):
        raise OperationalError(f"ledger key {doc.key!r} holds the entry of position {entry.position_id!r}")
    return entry


def _replay_checked(entries: list[LedgerEntry]) -> LearnerState:
    try:
        return replay(entries)
    except ValueError as exc:
        raise OperationalError(f"learner ledger is inconsistent: {exc}") from exc


def _parse(model: type[_M], doc: Doc) -> _M:
    try:
        return model.model_validate(doc.value)
    except ValidationError as exc:
        raise OperationalError(f"unreadable learner document {doc.key!r}: {exc}") from exc
