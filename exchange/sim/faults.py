"""Fault injection for the simulated broker: scripted (a list keyed on operation and call number)
or random with a seed. Faults act on the wire between ``SimBroker`` and ``SimExchange``, below the
broker's retries, exactly where a network and a real exchange would fail.

Same plan, same seed, same calls -> the same faults, so a failing schedule can be replayed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.errors import RejectCode
from core.ids import ClientOrderId


class Op(StrEnum):
    LOAD_MARKETS = "load_markets"
    FETCH_BALANCE = "fetch_balance"
    FETCH_POSITIONS = "fetch_positions"
    CREATE_ORDER = "create_order"
    CANCEL_ORDER = "cancel_order"
    FETCH_ORDER = "fetch_order"
    FETCH_OPEN_ORDERS = "fetch_open_orders"
    FETCH_MY_TRADES = "fetch_my_trades"

    @property
    def is_write(self) -> bool:
        return self in (Op.CREATE_ORDER, Op.CANCEL_ORDER)


class FaultKind(StrEnum):
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    """The exchange applied the request, the answer was lost: ``OutcomeUnknownError`` (writes)."""
    TIMEOUT_BEFORE_ACCEPT = "timeout_before_accept"
    """The request never arrived; the caller cannot tell it from the one above (writes: unknown outcome)."""
    SERVER_ERROR = "server_error"
    """HTTP 5xx, not applied. Writes: ``OutcomeUnknownError`` (Binance: "execution status unknown");
    reads: ``TemporaryError``."""
    RATE_LIMIT = "rate_limit"
    """HTTP 429 with Retry-After, not applied: ``TemporaryError(retry_after_s=...)``."""
    REJECT = "reject"
    """``OrderRejected(code)`` on create."""
    FILL_DURING_CANCEL = "fill_during_cancel"
    """The order fills while the cancel is in flight; the cancel then reports the fill."""
    STALE_STATUS = "stale_status"
    """``fetch_order`` / ``fetch_open_orders`` answer the state before the order's last change, once
    (a fill not yet visible). An order that never changed answers its current state: like Binance,
    an accepted order is visible at once, so a lookup after a timeout is trustworthy."""
    DISCONNECT = "disconnect"
    """The connection drops before the request is sent (writes: unknown outcome; reads: temporary)."""


_APPLIES_TO: dict[FaultKind, frozenset[Op]] = {
    FaultKind.TIMEOUT_AFTER_ACCEPT: frozenset({Op.CREATE_ORDER, Op.CANCEL_ORDER}),
    FaultKind.TIMEOUT_BEFORE_ACCEPT: frozenset(Op),
    FaultKind.SERVER_ERROR: frozenset(Op),
    FaultKind.RATE_LIMIT: frozenset(Op),
    FaultKind.REJECT: frozenset({Op.CREATE_ORDER}),
    FaultKind.FILL_DURING_CANCEL: frozenset({Op.CANCEL_ORDER}),
    FaultKind.STALE_STATUS: frozenset({Op.FETCH_ORDER, Op.FETCH_OPEN_ORDERS}),
    FaultKind.DISCONNECT: frozenset(Op),
}


def applies(kind: FaultKind, op: Op) -> bool:
    return op in _APPLIES_TO[kind]


@dataclass(frozen=True)
class Fault:
    """One scripted fault. It fires on the first call that matches every given key, ``times`` times.

    ``call``: fire from the n-th call (1-based) of ``op`` on — of any operation when ``op`` is None —
    counting every wire call, retries included. ``client_order_id`` matches calls about orders whose
    id starts with it.
    """

    kind: FaultKind
    op: Op | None = None
    call: int | None = None
    client_order_id: str | None = None
    times: int = 1
    retry_after_s: float = 1.0
    code: RejectCode = RejectCode.INVALID_ORDER

    def __post_init__(self) -> None:
        if self.op is not None and not applies(self.kind, self.op):
            raise ValueError(f"fault {self.kind} cannot happen on {self.op}")
        if self.times < 1 or (self.call is not None and self.call < 1):
            raise ValueError("times and call count from 1")


@dataclass(frozen=True)
class FiredFault:
    """A fault that fired: the wire call (global 1-based count), the operation and the order id."""

    call: int
    op: Op
    client_order_id: ClientOrderId | None
    fault: Fault


@dataclass
class _Armed:
    fault: Fault
    left: int


class FaultPlan:
    """Decides, per wire call, whether a fault happens. Use ``none()``, ``scripted()`` or ``random()``."""

    def __init__(
        self,
        scripted: Iterable[Fault] = (),
        *,
        seed: int | None = None,
        rates: Mapping[FaultKind, float] | None = None,
        retry_after_s: float = 1.0,
    ) -> None:
        self._pending = [_Armed(fault, fault.times) for fault in scripted]
        self._rng = random.Random(seed) if rates else None
        self._rates = dict(rates or {})
        if any(rate < 0 for rate in self._rates.values()) or sum(self._rates.values()) > 1:
            raise ValueError("fault rates must be non-negative and sum to at most 1 per call")
        self._retry_after_s = retry_after_s
        self._calls = 0
        self._calls_by_op: dict[Op, int] = {}
        self.fired: list[FiredFault] = []

    @classmethod
    def none(cls) -> FaultPlan:
        return cls()

    @classmethod
    def scripted(cls, faults: Iterable[Fault]) -> FaultPlan:
        return cls(faults)

    @classmethod
    def random(cls, seed: int, rates: Mapping[FaultKind, float], *, retry_after_s: float = 1.0) -> FaultPlan:
        """Each wire call draws two numbers from ``Random(seed)``: one decides whether a fault fires
        (with the summed rate of the kinds that apply to the operation), one which."""
        return cls(seed=seed, rates=rates, retry_after_s=retry_after_s)

    def inject(self, *faults: Fault) -> None:
        """Arm more scripted faults now (``call`` still counts from the plan's first call)."""
        self._pending.extend(_Armed(fault, fault.times) for fault in faults)

    def draw(self, op: Op, client_order_id: ClientOrderId | None = None) -> Fault | None:
        self._calls += 1
        self._calls_by_op[op] = self._calls_by_op.get(op, 0) + 1
        fault = self._scripted(op, client_order_id) or self._random(op)
        if fault is not None:
            self.fired.append(FiredFault(self._calls, op, client_order_id, fault))
        return fault

    def _scripted(self, op: Op, client_order_id: ClientOrderId | None) -> Fault | None:
        for armed in self._pending:
            if armed.left > 0 and self._matches(armed.fault, op, client_order_id):
                armed.left -= 1
                return armed.fault
        return None

    def _matches(self, fault: Fault, op: Op, client_order_id: ClientOrderId | None) -> bool:
        if not applies(fault.kind, op) or (fault.op is not None and fault.op is not op):
            return False
        if fault.client_order_id is not None and not (client_order_id or "").startswith(fault.client_order_id):
            return False
        if fault.call is None:
            return True
        count = self._calls_by_op[op] if fault.op is not None else self._calls
        return count >= fault.call

    def _random(self, op: Op) -> Fault | None:
        if self._rng is None:
            return None
        fire, pick = self._rng.random(), self._rng.random()
        kinds = [(kind, rate) for kind, rate in sorted(self._rates.items()) if applies(kind, op) and rate > 0]
        total = sum(rate for _, rate in kinds)
        if fire >= total:
            return None
        threshold = pick * total
        for kind, rate in kinds:
            threshold -= rate
            if threshold < 0:
                return Fault(kind, op=op, retry_after_s=self._retry_after_s)
        return Fault(kinds[-1][0], op=op, retry_after_s=self._retry_after_s)

    @property
    def calls(self) -> int:
        return self._calls
