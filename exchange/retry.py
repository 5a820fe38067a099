"""One retry policy for both brokers: capped exponential backoff with jitter, honouring retry-after,
and an idempotent ``create_order`` that looks a client order id up before sending it again.

Sleeping and randomness are injected (``sleep``, ``rng``) so tests and simulations are fast and
deterministic: the same seed gives the same delays.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from core.errors import OrderRejected, OutcomeUnknownError, RejectCode, TemporaryError
from core.settings import ExchangeSettings
from core.types import Order, OrderIntent

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


async def no_wait(seconds: float) -> None:
    """A ``Sleep`` for simulations: yields to the event loop, never waits."""
    del seconds
    await asyncio.sleep(0)


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` extra attempts after the first; delays ``base * 2**n`` capped at ``cap``.

    Jitter shortens each delay by a random fraction up to ``jitter`` (so runners that failed
    together do not retry together). A server ``retry_after_s`` is a floor for the delay; one
    longer than ``max_retry_after_s`` is not waited for in-line: the error is raised to the caller.
    """

    max_retries: int = 4
    base_delay_s: float = 0.5
    cap_delay_s: float = 30.0
    jitter: float = 0.5
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay_s <= 0 or self.cap_delay_s < self.base_delay_s:
            raise ValueError(f"incoherent retry policy: {self}")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    @classmethod
    def from_settings(cls, settings: ExchangeSettings) -> RetryPolicy:
        return cls(
            max_retries=settings.max_retries,
            base_delay_s=settings.backoff_base_s,
            cap_delay_s=max(settings.backoff_cap_s, settings.backoff_base_s),
        )

    def delay_s(self, retry_number: int, error: TemporaryError, rng: random.Random) -> float:
        """Delay before retry ``retry_number`` (0-based). Draws exactly one random number."""
        backoff = min(self.cap_delay_s, self.base_delay_s * 2.0**retry_number)
        jittered = backoff * (1 - self.jitter * rng.random())
        if error.retry_after_s is None:
            return jittered
        if error.retry_after_s > self.max_retry_after_s:
            raise error
        return max(jittered, error.retry_after_s)


class Retrier:
    """Runs an async call, retrying ``TemporaryError`` per the policy; other errors pass through."""

    def __init__(self, policy: RetryPolicy, *, sleep: Sleep, rng: random.Random) -> None:
        self.policy = policy
        self._sleep = sleep
        self._rng = rng
        self.slept_s = 0.0
        """Total delay asked for so far (what a simulation would have waited)."""

    async def backoff(self, retry_number: int, error: TemporaryError, what: str) -> None:
        """Wait before retry ``retry_number``, or raise ``error`` when no retry is left."""
        if retry_number >= self.policy.max_retries:
            raise error
        delay = self.policy.delay_s(retry_number, error, self._rng)
        log.warning("%s failed (%s); retry %d in %.2fs", what, error, retry_number + 1, delay)
        self.slept_s += delay
        await self._sleep(delay)

    async def run(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        retry_number = 0
        while True:
            try:
                return await call()
            except TemporaryError as error:
                await self.backoff(retry_number, error, what)
                retry_number += 1


async def create_once(
    retrier: Retrier,
    intent: OrderIntent,
    *,
    send: Callable[[], Awaitable[Order]],
    lookup: Callable[[], Awaitable[Order | None]],
) -> Order:
    """Send an order so that retries never make a second one.

    After an ``OutcomeUnknownError`` (timeout after send, 5xx, dropped connection) the order may
    exist: ``lookup`` (by client order id) runs before any new send and its answer wins. A
    duplicate-client-id rejection means an order with this id is already open (an earlier attempt,
    or a run before a restart): it is returned when its terms match the intent. When every attempt
    is used up after an unknown outcome, ``OutcomeUnknownError`` is raised so the caller reconciles
    instead of assuming the order is absent.
    """
    what = f"create_order {intent.client_order_id}"
    outcome_unknown = False
    retry_number = 0
    while True:
        try:
            if outcome_unknown:
                existing = await lookup()
                if existing is not None:
                    return _same_terms(existing, intent)
            return await send()
        except OrderRejected as rejection:
            if rejection.code != RejectCode.DUPLICATE_CLIENT_ORDER_ID:
                raise
            existing = await lookup()
            if existing is None:
                raise
            return _same_terms(existing, intent)
        except OutcomeUnknownError as error:
            outcome_unknown = True
            await retrier.backoff(retry_number, error, what)
        except TemporaryError as error:
            if outcome_unknown:
                error = OutcomeUnknownError(
                    f"{error} (after an earlier unknown outcome)", retry_after_s=error.retry_after_s
                )
            await retrier.backoff(retry_number, error, what)
        retry_number += 1


def _same_terms(existing: Order, intent: OrderIntent) -> Order:
    """The found order, if it is the one we asked for; a client-id collision is refused loudly."""
    mine, theirs = intent, existing.intent
    same = (
        mine.symbol == theirs.symbol
        and mine.side == theirs.side
        and mine.type == theirs.type
        and mine.quantity == theirs.quantity
        and mine.price == theirs.price
        and mine.stop_price == theirs.stop_price
    )
    if not same:
        raise OrderRejected(
            RejectCode.DUPLICATE_CLIENT_ORDER_ID,
            f"client order id {intent.client_order_id} is already used by a different order "
            f"({theirs.side} {theirs.quantity} {theirs.symbol} {theirs.type})",
        )
    # Same order; our intent also carries what an exchange may not echo back (reduce-only on spot).
    return existing.model_copy(update={"intent": intent})
