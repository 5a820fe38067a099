"""The ports: small protocols that live code and simulations implement alike.

``engine/wiring.py`` is the one place that picks the live, paper or backtest implementations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.types import (
    Alert,
    Balance,
    DecisionRecord,
    DecisionRequest,
    ExchangePosition,
    Fill,
    Order,
    OrderIntent,
)

_VALUE = ConfigDict(frozen=True, extra="forbid")


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, tz-aware UTC."""
        ...


class Broker(Protocol):
    """An exchange account. Async because the live one talks over the network.

    ``create_order`` is idempotent by client order id: after an unknown-outcome timeout the
    broker looks the id up before sending again, so a retry never makes a second order.
    Errors are ``core.errors`` types only (``TemporaryError``, ``OrderRejected``, ``OperationalError``).
    """

    async def load_markets(self) -> Mapping[Symbol, MarketRules]: ...

    async def fetch_balance(self) -> Mapping[str, Balance]: ...

    async def fetch_positions(self, symbols: Sequence[Symbol] | None = None) -> list[ExchangePosition]: ...

    async def create_order(self, intent: OrderIntent) -> Order: ...

    async def cancel_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order:
        """Cancel; returns the order's final state. A filled order reports the fill, not an error."""
        ...

    async def fetch_order(self, client_order_id: ClientOrderId, symbol: Symbol) -> Order: ...

    async def fetch_open_orders(self, symbol: Symbol | None = None) -> list[Order]: ...

    async def fetch_my_trades(self, symbol: Symbol, since: datetime | None = None) -> list[Fill]: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------- store records


class Doc(BaseModel):
    """A versioned state document. Version 1 is the first write; it grows by one per write."""

    model_config = _VALUE

    key: str
    version: int = Field(ge=1)
    value: dict[str, Any]


class Write(BaseModel):
    """One write in a transaction.

    ``expected_version``: ``None`` writes unconditionally, ``0`` requires the key to be absent,
    ``n`` requires the stored version to be ``n`` (compare-and-set). ``value=None`` deletes.
    """

    model_config = _VALUE

    key: str = Field(min_length=1, max_length=200)
    value: dict[str, Any] | None
    expected_version: int | None = Field(default=None, ge=0)


class NewEvent(BaseModel):
    """A journal event before the store gives it a sequence number and a hash."""

    model_config = _VALUE

    kind: str = Field(min_length=1, max_length=64)
    at: AwareDatetime
    payload: dict[str, Any]


class JournalEvent(BaseModel):
    """An appended journal event: ``hash = sha256(prev_hash + canonical_json(seq, at, kind, payload))``."""

    model_config = _VALUE

    seq: int = Field(ge=1)
    at: AwareDatetime
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyReport(BaseModel):
    model_config = _VALUE

    ok: bool
    events_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


class CommandStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    """Refused by a rule of its applier (e.g. a holdings command for a proposal that expired)."""
    FAILED = "failed"
    """Could not be applied as written (unreadable, an unknown kind, arguments out of range): recorded with the
    reason so it never blocks the queue; the result's ``error`` says why."""


class OperatorCommand(BaseModel):
    """A command from a human (halt, resume, flatten, approve ...), applied at most once per key."""

    model_config = _VALUE

    idempotency_key: str = Field(min_length=1, max_length=128)
    kind: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)
    submitted_at: AwareDatetime
    submitted_by: str = "operator"


class CommandReceipt(BaseModel):
    """What ``submit_command`` answers: ``accepted``, ``duplicate`` (same key, same command) or
    ``already_decided`` (same key, different command: refused)."""

    model_config = _VALUE

    outcome: str = Field(pattern="^(accepted|duplicate|already_decided)$")
    seq: int
    command: OperatorCommand
    status: CommandStatus
    result: dict[str, Any] | None = None
    problem: str | None = None
    """Set by ``pending_commands`` when the stored command does not read as an :class:`OperatorCommand` (written by
    an old or foreign client, or by hand): why; ``command`` then holds what could be read (its real key, its kind
    when it is text, its args when they are a mapping). Its applier fails it (a ``halt`` still halts)."""


class Store(Protocol):
    """State documents, the hash-chained journal and the operator command queue.

    Implementations: ``store.sqlite_store.SqliteStore`` (embedded default) and ``store.redis_store.RedisStore``
    (shared). Both pass ``tests/contracts/test_store_contract.py``.
    """

    def get(self, key: str) -> Doc | None: ...

    def get_many(self, keys: Sequence[str]) -> dict[str, Doc]: ...

    def keys(self, prefix: str = "") -> list[str]: ...

    def transact(self, writes: Sequence[Write], events: Sequence[NewEvent] = ()) -> dict[str, int]:
        """Apply all writes and append all events atomically, or none (raises ``ConflictError``).

        Returns the new version of every written key (0 for a deletion).
        """
        ...

    def put(self, key: str, value: dict[str, Any], expected_version: int | None = None) -> int: ...

    def append(self, event: NewEvent) -> JournalEvent: ...

    def read_journal(self, after_seq: int = 0, limit: int | None = None) -> list[JournalEvent]: ...

    def tail_journal(self, n: int) -> list[JournalEvent]: ...

    def verify_journal(self) -> VerifyReport: ...

    def submit_command(self, command: OperatorCommand) -> CommandReceipt: ...

    def pending_commands(self) -> list[CommandReceipt]: ...

    def finish_command(self, idempotency_key: str, status: CommandStatus, result: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class AgentBackend(Protocol):
    """Anything that turns a wake and a snapshot into a decision (LLM, replay cassette, rules).

    A backend may also carry ``reads``: the parts of a request it reads (``core.decisions.RequestPart``); the
    engine then builds only those (``engine/request.py``). Without it, every part is built."""

    name: str

    async def decide(self, request: DecisionRequest) -> DecisionRecord: ...

    def drain_alerts(self) -> list[Alert]:
        """Alerts for a human raised since the last drain (e.g. the LLM breaker opening); the engine sends
        them after every step. A backend that raises none returns ``[]``."""
        ...


class Notifier(Protocol):
    """Sends alerts to humans. Delivery failures are raised, never swallowed, so callers journal them."""

    async def notify(self, alert: Alert) -> None: ...

