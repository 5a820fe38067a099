"""The one way a request reaches Binance from the ccxt broker: clock, budget, ban, errors, in that order.

Before a request: the exchange's clock offset is measured if it is due (start-up, then every 30 min), and
the shared ``RequestBudget`` admits the request's cost at its priority, makes it wait for the next window
(throttling before a 429), or refuses it during a ban or a ``Retry-After`` back-off without sending
anything. After it: the exchange's usage headers correct the budget. ccxt's errors become
``core.errors`` types here, once:

- Binance's ``code`` decides where the answer carries one (``exchange.binance_errors``: ccxt's classes
  depend on the host name, so the venue, a proxy and Binance would otherwise be translated differently);
- -1021 (timestamp outside ``recvWindow``) is a known rejection, not an unknown outcome: the offset is
  measured again and the request sent once more; a second -1021 is an ``OperationalError``;
- 418 (``DDoSProtection`` "IP banned until <ms>") is ``IpBanned`` and bans the IP in the budget until then;
  429 is a ``TemporaryError`` with the server's ``Retry-After``, which becomes everybody's back-off;
- timeouts, 5xx (an HTML one, or JSON -1001 / -1006 / -1007 / -1008) and dropped connections:
  ``OutcomeUnknownError`` for writes (looked up by client id before a resend), ``TemporaryError`` for reads;
- refusals of an order: ``OrderRejected`` with our code; everything else: ``OperationalError``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, assert_never

from ccxt.base import errors as ccxt_errors

from core.errors import OperationalError, OrderRejected, OutcomeUnknownError, RejectCode, TemporaryError
from core.ports import Clock
from core.ratelimit import Priority, Throttle, banned_until_ms, retry_after_s, usage_from_headers
from core.request_budget import Blocked, BlockKind, RequestBudget
from core.timeframes import datetime_to_ms, ms_to_datetime
from core.types import OrderIntent
from exchange.binance_errors import BinanceError, Outcome, outcome, parse_error, reject_code, rejection_code
from exchange.binance_weights import Op, cost_of, priority_of
from exchange.clock_sync import ClockOffset
from exchange.errors import IpBanned
from exchange.retry import Retrier, Sleep

log = logging.getLogger(__name__)

T = TypeVar("T")
Call = Callable[[], Awaitable[T]]
MAX_THROTTLE_WAITS = 3
_STATUS = re.compile(r"^\S+ (\d{3}) ")


class _StaleTimestamp(Exception):
    """-1021: the request's timestamp was outside ``recvWindow`` (nothing was applied)."""


class CcxtCalls:
    def __init__(
        self,
        exchange: Any,
        *,
        label: str,
        hosts: str,
        futures: bool,
        clock: Clock,
        signing_clock: Clock | None = None,
        budget: RequestBudget,
        offset: ClockOffset,
        retrier: Retrier,
        sleep: Sleep,
        secrets: tuple[str, ...],
    ) -> None:
        self.exchange = exchange
        self.label = label
        self.hosts = hosts
        self.futures = futures
        self.clock = clock
        self.signing_clock = signing_clock or clock
        """Signed timestamps and the offset are reckoned on it (Binance checks them against its wall clock)."""
        self.budget = budget
        self.least_priority: Priority | None = None
        """While set, requests are admitted at this priority when theirs is lower (``CcxtBroker.protection_path``)."""
        self.offset = offset
        self.retrier = retrier
        self._sleep = sleep
        self._secrets = secrets

    async def read(self, call: Call[T], op: Op, what: str) -> T:
        """A read, retried on ``TemporaryError`` per the retry policy."""
        return await self.retrier.run(lambda: self.call(call, op), what)

    async def call(
        self, call: Call[T], op: Op, *, intent: OrderIntent | None = None, write: bool = False, creating: bool = False
    ) -> T:
        """One request; every ccxt error leaves this method as a ``core.errors`` type."""
        if op not in (Op.TIME, Op.MARKETS) and self.offset.due(self.signing_clock.now()):
            await self.sync_clock()
        try:
            return await self._send(call, op, intent, write=write, creating=creating)
        except _StaleTimestamp:
            log.warning("Binance %s refused a timestamp (-1021); measuring the clock offset again", self.label)
        await self.sync_clock()
        try:
            return await self._send(call, op, intent, write=write, creating=creating)
        except _StaleTimestamp as again:
            raise OperationalError(
                f"Binance {self.label} ({self.hosts}) refused the request timestamp again after measuring the clock "
                f"offset ({self.offset.offset_ms} ms): {again}; check the host clock (NTP)"
            ) from again

    async def sync_clock(self) -> int:
        """Measure the exchange's clock against ours (``GET time``); the offset signs every later request.

        The round trip is timed from when the request leaves, after any wait for the request budget (a wait
        taken for network time would read as the exchange's lead and sign every request that far ahead)."""
        sent: list[datetime] = []

        async def timed() -> Any:
            sent.append(self.signing_clock.now())
            return await self.exchange.fetch_time()

        server_ms = await self._send(timed, Op.TIME, None, write=False, creating=False)
        offset = self.offset.record(int(server_ms), sent[-1], self.signing_clock.now())
        log.info("Binance %s clock offset: %+d ms", self.label, offset)
        return offset

    def nonce(self) -> int:
        """ccxt's signed ``timestamp``: the signing clock on the exchange's time."""
        return self.offset.exchange_ms(self.signing_clock.now())

    # ------------------------------------------------------------------ one request

    async def _send(self, call: Call[T], op: Op, intent: OrderIntent | None, *, write: bool, creating: bool) -> T:
        await self._admit(op, intent)
        self.exchange.last_response_headers = None
        self.exchange.last_http_response = None
        sent = self.budget.clock.now()
        try:
            result = await call()
        except ccxt_errors.BaseError as exc:
            self._observe(sent)
            if self._timestamp_refused(exc):
                raise _StaleTimestamp(self._redact(str(exc))) from exc
            raise self.translate(exc, write=write, creating=creating) from exc
        self._observe(sent)
        return result

    async def _admit(self, op: Op, intent: OrderIntent | None) -> None:
        """Wait for room in the budget (at most ``MAX_THROTTLE_WAITS`` windows), or raise without sending."""
        cost, priority = cost_of(op, futures=self.futures), priority_of(op, intent, futures=self.futures)
        if self.least_priority is not None:
            priority = min(priority, self.least_priority)
        decision = await self.budget.reserve(cost, priority, self._sleep, max_waits=MAX_THROTTLE_WAITS)
        if isinstance(decision, Blocked):
            raise self._blocked(decision)
        if isinstance(decision, Throttle):
            raise TemporaryError(
                f"Binance {self.label}: the request budget is still full ({decision.limit}) after "
                f"{MAX_THROTTLE_WAITS} waits",
                retry_after_s=self._seconds_until(ms_to_datetime(decision.until_ms)),
            )

    def _blocked(self, blocked: Blocked) -> Exception:
        if blocked.kind is BlockKind.BAN:
            return IpBanned(
                f"Binance {self.label}: the IP is banned until {blocked.until.isoformat()}; no request is sent",
                until=blocked.until,
            )
        return TemporaryError(
            f"Binance {self.label}: backing off until {blocked.until.isoformat()} (429 Retry-After); not sent",
            retry_after_s=self._seconds_until(blocked.until),
        )

    def _observe(self, sent: datetime) -> None:
        headers = getattr(self.exchange, "last_response_headers", None)
        if headers:
            self.budget.observe(usage_from_headers(headers, self.budget.policy.limits), sent=sent)

    def _seconds_until(self, at: datetime) -> float:
        """Seconds until ``at`` on the budget's clock (bans, back-offs and windows are kept on it)."""
        return max(0.0, (at - self.budget.clock.now()).total_seconds())

    # ------------------------------------------------------------------ errors

    def translate(self, exc: ccxt_errors.BaseError, *, write: bool, creating: bool) -> Exception:
        message = self._redact(str(exc))
        if isinstance(exc, ccxt_errors.DDoSProtection | ccxt_errors.RateLimitExceeded):
            return self._rate_limited(exc, message)
        error = self._binance_error(exc)
        if error is not None:
            return self._by_code(error, exc, message, write=write, creating=creating)
        lost = isinstance(exc, ccxt_errors.NetworkError | ccxt_errors.BadResponse)
        if lost or type(exc) is ccxt_errors.OperationFailed:
            # A write whose answer was lost (timeout, 5xx, dropped connection) may have been applied; Binance's 5xx
            # with -1001 "internal error; try again" reaches us as a bare OperationFailed.
            return OutcomeUnknownError(message) if write else TemporaryError(message)
        rejection = _rejection(exc, message, creating=creating)
        if rejection is not None:
            return rejection
        return self._operational(exc, message)

    def _by_code(
        self, error: BinanceError, exc: ccxt_errors.BaseError, message: str, *, write: bool, creating: bool
    ) -> Exception:
        match outcome(error, creating=creating):
            case Outcome.UNKNOWN | Outcome.TIMESTAMP:
                return OutcomeUnknownError(message) if write else TemporaryError(message)
            case Outcome.REJECTED:
                return OrderRejected(rejection_code(error), message)
            case Outcome.OPERATIONAL:
                return self._operational(exc, message)
            case _:
                assert_never(outcome(error, creating=creating))

    def _operational(self, exc: ccxt_errors.BaseError, message: str) -> OperationalError:
        # Authentication, permissions, unsupported calls, anything unexpected: a human must look.
        return OperationalError(f"Binance {self.label} ({self.hosts}): {type(exc).__name__}: {message}")

    def _binance_error(self, exc: ccxt_errors.BaseError) -> BinanceError | None:
        """Binance's code and message: from ccxt's message (it quotes the body), else the answer's body."""
        return parse_error(str(exc), getattr(self.exchange, "last_http_response", None))

    def _timestamp_refused(self, exc: ccxt_errors.BaseError) -> bool:
        error = self._binance_error(exc)
        if error is not None:
            return outcome(error, creating=False) is Outcome.TIMESTAMP
        return isinstance(exc, ccxt_errors.InvalidNonce)

    def _rate_limited(self, exc: ccxt_errors.BaseError, message: str) -> Exception:
        status = _STATUS.match(str(exc))
        retry_after = retry_after_s(getattr(self.exchange, "last_response_headers", None))
        if (status is not None and status.group(1) == "418") or "banned until" in message:
            now = self.budget.clock.now()  # the budget keeps bans on its clock (a live run's: the wall clock)
            banned_until = ms_to_datetime(banned_until_ms(message, retry_after, datetime_to_ms(now)))
            self.budget.ban(banned_until)
            return IpBanned(
                f"Binance {self.label}: IP banned (418) until {banned_until}: {message}", until=banned_until
            )
        if isinstance(exc, ccxt_errors.DDoSProtection) and (status is None or status.group(1) != "429"):
            return OperationalError(f"Binance {self.label} ({self.hosts}) throttled the key: {message}")
        if retry_after is not None:
            self.budget.back_off(self.budget.clock.now() + timedelta(seconds=retry_after))
        return TemporaryError(message, retry_after_s=retry_after)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return re.sub(r"signature=[0-9a-fA-F]+", "signature=***", text)


def _rejection(exc: ccxt_errors.BaseError, message: str, *, creating: bool) -> OrderRejected | None:
    if isinstance(exc, ccxt_errors.OrderNotFound) and not creating:
        return OrderRejected(RejectCode.ORDER_NOT_FOUND, message)
    if isinstance(exc, ccxt_errors.InsufficientFunds):
        return OrderRejected(RejectCode.INSUFFICIENT_FUNDS, message)
    if creating and isinstance(exc, ccxt_errors.InvalidOrder | ccxt_errors.BadRequest | ccxt_errors.OperationRejected):
        return OrderRejected(reject_code(message), message)
    return None
