"""Worker processes for the holdings races: an operator approving, against the TTL job or the drift check.

Each worker opens its own store through the factory (as a second runner would) and builds its own
service on the real market source. :class:`TransactGate` makes every round a real race: each worker's
first commit of the round waits at a shared barrier, so both have read the same state and planned
from it before either writes; exactly one compare-and-set can then win, and the loser re-reads and
is refused with the winner's decision as its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from core.clock import SimClock
from core.ports import NewEvent, Store, Write
from holdings.commands import HoldingsCommand as K
from holdings.config import HoldingsConfig, default_policy
from holdings.lifecycle import HoldingState
from holdings.service import HoldingsService
from tests.holdings.world import command, market_source, open_url, wallet

TTL = timedelta(hours=1)
ROUND_EVERY = timedelta(hours=2)
RACE_START = datetime(2022, 10, 1, 12, tzinfo=UTC)
"""80 rounds (the long variant) end a week later, well inside the fixture's candles."""
BARRIER_TIMEOUT_S = 60


def round_start(r: int) -> datetime:
    return RACE_START + r * ROUND_EVERY


class TransactGate:
    """A real store whose next ``transact`` after :meth:`arm` first waits for the other worker."""

    def __init__(self, store: Store, barrier: Barrier) -> None:
        self._store = store
        self._barrier = barrier
        self._armed = False

    def arm(self) -> None:
        self._armed = True

    def transact(self, writes: Sequence[Write], events: Sequence[NewEvent] = ()) -> dict[str, int]:
        if self._armed:
            self._armed = False
            self._barrier.wait(timeout=BARRIER_TIMEOUT_S)
        return self._store.transact(writes, events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _service(store: Any, at: datetime) -> HoldingsService:
    config = HoldingsConfig(policy=default_policy(), proposal_ttl=TTL)  # testnet's (no engine import here)
    return HoldingsService(store, SimClock(at), market_source(with_regime=False), config)


def _open_a_proposal(store: Store, r: int) -> str:
    """Whatever the last round left, bring BTC back to an open proposal (as the operator and the guard)."""
    service = _service(store, round_start(r))
    state = service.holding("BTC").state
    if state in (HoldingState.MANAGED_ACTIVE, HoldingState.MANAGED_DRIFT_ALERT):
        release = command(K.RELEASE, f"release-{r}", asset="BTC")
        store.submit_command(release)
        service.apply(release, wallet())
        service.record_released("BTC")
    propose = command(K.PROPOSE, f"propose-{r}", asset="BTC")
    store.submit_command(propose)
    service.apply(propose, wallet())
    service.generate_pending(wallet())
    record = service.holding("BTC")
    assert record.state is HoldingState.RISK_PROPOSED and record.proposal_id is not None, record
    return record.proposal_id


def operator(
    url: str, namespace: str, rounds: list[tuple[str, int]], start: Barrier, gate: Barrier, done: Barrier, results: Any
) -> None:
    """Each round: open a proposal, wait for the rival, approve it one second before it expires."""
    store = open_url(url, namespace)
    gated = TransactGate(store, gate)
    try:
        for rival, r in rounds:
            pid = _open_a_proposal(store, r)
            approve = command(K.APPROVE, f"approve-{r}", proposal_id=pid, confirm="BTC:recommended")
            store.submit_command(approve)
            start.wait(timeout=BARRIER_TIMEOUT_S)
            gated.arm()
            plan = _service(gated, round_start(r) + TTL - timedelta(seconds=1)).apply(approve, wallet())
            results.put(("operator", rival, r, (pid, plan.status.value, plan.code, plan.result.get("error"))))
            done.wait(timeout=BARRIER_TIMEOUT_S)
    finally:
        store.close()


def rivals(
    url: str, namespace: str, rounds: list[tuple[str, int]], start: Barrier, gate: Barrier, done: Barrier, results: Any
) -> None:
    """Each round, once the proposal is open, as the round says:

    - ``ttl_job``: run the TTL job at the moment the proposal expires;
    - ``drift``: check drift with a wallet that shows 0.3 BTC of the proposal's 0.5 (a sale outside the bot).
    """
    store = open_url(url, namespace)
    gated = TransactGate(store, gate)
    try:
        for rival, r in rounds:
            start.wait(timeout=BARRIER_TIMEOUT_S)
            gated.arm()
            if rival == "ttl_job":
                plans = _service(gated, round_start(r) + TTL).expire_due()
            else:
                plans = _service(gated, round_start(r) + timedelta(minutes=1)).check_drift(wallet(btc="0.3"))
            outcomes = [(p.status.value, p.code, p.result.get("error")) for p in plans]
            results.put(("rival", rival, r, outcomes))
            done.wait(timeout=BARRIER_TIMEOUT_S)
    finally:
        store.close()
