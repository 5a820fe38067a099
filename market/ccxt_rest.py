"""The market package's only ccxt user: public REST market data (klines, funding, open interest,
long/short ratio) from Binance spot or USDT-M futures.

ccxt errors are translated here, once, into ``core.errors``:

- HTTP 429 (too many requests) -> ``TemporaryError`` carrying the server's ``Retry-After``;
- HTTP 418 (IP banned for ignoring 429s; ccxt raises ``DDoSProtection`` for both) -> ``OperationalError``:
  never retried in a loop, a human must look;
- timeouts, unreachable exchange, maintenance, Binance's 5xx -1001 "internal error; try again" (ccxt's bare
  ``OperationFailed``) -> ``TemporaryError``;
- unknown symbol -> ``ConfigError``; anything else from the exchange -> ``OperationalError``.

``enableRateLimit`` stays on: ccxt spaces requests by each endpoint's weight. With a ``RequestBudget`` (a live
run passes the venue's, shared with the broker and every process on the store) each request is admitted at
``MARKET_DATA`` priority first (it waits for the next window when the budget is full, and is not sent at all
during a 418 ban or a 429 back-off), the exchange's usage headers correct the budget afterwards, and a 418 or
429 bans or backs off everybody on the IP. Market loading is restricted to the market type in use (one
``exchangeInfo`` request instead of three). A live run hands
it a client built for the run's venue (``exchange.ccxt_client``, from the same ``VenueSpec`` as the
broker's), so candles come from where the orders go; ``make_exchange`` is Binance mainnet's public data
(``tradewake data download``, snapshots).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import ccxt.async_support as ccxt_async
from ccxt.base import errors as ccxt_errors

from core.errors import ConfigError, OperationalError, TemporaryError, TradewakeError
from core.ids import Symbol
from core.ratelimit import Cost, Priority, Throttle, banned_until_ms, retry_after_s, usage_from_headers
from core.request_budget import Blocked, BlockKind, RequestBudget
from core.timeframes import datetime_to_ms, ms_to_datetime
from market.derivatives import DerivativesHistory, DerivativesReading

MarketType = Literal["spot", "future"]
KLINE_LIMIT = 1000
"""Binance spot answers at most 1,000 klines per request."""
LONG_SHORT_PERIOD = "5m"
FUNDING_LIMIT = 1000

T = TypeVar("T")
log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
_STATUS_RE = re.compile(r"^\S+ (\d{3}) ")
KLINES_WEIGHT = {"spot": 2, "future": 5}
"""Binance's weight of ``klines`` with ``limit`` 1,000: spot 2; USDⓈ-M 5 (limit 500 to 1,000)."""
LIGHT_WEIGHT = 1
"""``premiumIndex``, ``openInterest``, ``fundingRate`` and ``futures/data`` requests."""
MAX_THROTTLE_WAITS = 3


def make_exchange(market_type: MarketType = "spot", *, timeout_ms: int = 10_000) -> ccxt_async.Exchange:
    """A public (key-less) async Binance client with rate limiting on."""
    return ccxt_async.binance(
        {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": {
                "defaultType": "spot" if market_type == "spot" else "swap",
                "fetchMarkets": {"types": ["spot"] if market_type == "spot" else ["linear"]},
            },
        }
    )


EXCHANGE_INFO_WEIGHT: dict[str, int] = {"spot": 20, "future": 1}
"""Binance's request weight of ``exchangeInfo`` (spot ``/api/v3``: 20; USDT-M ``/fapi/v1``: 1)."""


class CcxtRest:
    """Market data over ccxt; every method raises ``core.errors`` types only.

    ``budget``: the venue's shared request budget (none: ccxt's own spacing only, as for one-off downloads);
    ``priority``: what its requests are admitted as (``MARKET_DATA``; see ``with_priority``).
    """

    def __init__(
        self,
        exchange: ccxt_async.Exchange,
        *,
        budget: RequestBudget | None = None,
        sleep: Sleep = asyncio.sleep,
        priority: Priority = Priority.MARKET_DATA,
    ) -> None:
        self.exchange = exchange
        self.budget = budget
        self.priority = priority
        self._sleep = sleep
        self._klines_weight = KLINES_WEIGHT["future" if _is_futures(exchange) else "spot"]

    def with_priority(self, priority: Priority) -> CcxtRest:
        """The same client (exchange and budget) admitting its requests at ``priority``: a live start's candle
        history gives the prices its stops are placed at, so it goes on the protection path (``engine/wiring.py``),
        not in market data's share of the window. Close the original, not this view."""
        return CcxtRest(self.exchange, budget=self.budget, sleep=self._sleep, priority=priority)

    async def close(self) -> None:
        await self.exchange.close()

    async def fetch_klines(self, symbol: str, timeframe: str, since_ms: int, until_ms: int) -> list[list[float]]:
        """Up to :data:`KLINE_LIMIT` candles with open time in ``[since_ms, until_ms)``, oldest first."""
        rows: list[list[Any]] = await self._call(
            lambda: self.exchange.fetch_ohlcv(
                symbol, timeframe, since=since_ms, limit=KLINE_LIMIT, params={"until": until_ms - 1}
            ),
            self._klines_weight,
        )
        return [[float(v) for v in row[:6]] for row in rows if since_ms <= int(row[0]) < until_ms]

    async def fetch_exchange_info(self, market_type: MarketType) -> dict[str, Any]:
        """Binance's own ``exchangeInfo`` answer, unparsed (spot ``/api/v3``, USDT-M ``/fapi/v1``): every
        symbol with its filters, for the markets file (``tradewake data markets``)."""
        exchange = self.exchange
        request = exchange.public_get_exchangeinfo if market_type == "spot" else exchange.fapipublic_get_exchangeinfo
        answer: dict[str, Any] = await self._call(request, EXCHANGE_INFO_WEIGHT[market_type])
        return answer

    async def fetch_derivatives(self, symbol: Symbol) -> DerivativesReading:
        """Funding rate (with mark price), open interest and the latest long/short account ratio."""
        _require_contract(symbol)
        funding = await self._call(lambda: self.exchange.fetch_funding_rate(symbol))
        interest = await self._call(lambda: self.exchange.fetch_open_interest(symbol))
        ratios = await self._long_short_ratios(symbol)
        stamps = [funding.get("timestamp"), interest.get("timestamp")]
        at_ms = max(int(s) for s in stamps if s is not None)
        next_funding = funding.get("fundingTimestamp")
        return DerivativesReading(
            symbol=symbol,
            at=ms_to_datetime(at_ms),
            funding_rate=funding.get("fundingRate"),
            next_funding_at=ms_to_datetime(int(next_funding)) if next_funding else None,
            mark_price=funding.get("markPrice"),
            open_interest=interest.get("openInterestAmount"),
            long_short_ratio=ratios[-1].get("longShortRatio") if ratios else None,
        )

    async def _long_short_ratios(self, symbol: Symbol) -> list[dict[str, Any]]:
        """The latest long/short account ratio; none on a venue without Binance's ``futures/data`` endpoints
        (demo trading has none: ccxt refuses the call before sending it)."""
        try:
            ratios: list[dict[str, Any]] = await self._call(
                lambda: self.exchange.fetch_long_short_ratio_history(symbol, LONG_SHORT_PERIOD, None, 1),
                unsupported_ok=True,
            )
        except _Unsupported:
            return []
        return ratios

    async def fetch_funding_history(
        self, symbol: Symbol, since_ms: int, until_ms: int, *, page_limit: int = FUNDING_LIMIT
    ) -> DerivativesHistory:
        """Settled funding rates with ``since_ms <= time < until_ms`` (paged, oldest first), for backtests."""
        _require_contract(symbol)
        history = DerivativesHistory(symbol)
        cursor = since_ms
        while cursor < until_ms:
            page = await self._call(
                functools.partial(
                    self.exchange.fetch_funding_rate_history, symbol, cursor, page_limit, params={"until": until_ms - 1}
                )
            )
            rows = [r for r in page if cursor <= int(r["timestamp"]) < until_ms]
            for row in rows:
                at = ms_to_datetime(int(row["timestamp"]))
                history.append(DerivativesReading(symbol=symbol, at=at, funding_rate=row["fundingRate"]))
            if len(page) < page_limit or not rows:
                break
            cursor = int(rows[-1]["timestamp"]) + 1
        return history

    async def _call(self, request: Callable[[], Awaitable[T]], weight: int = LIGHT_WEIGHT, *,
                    unsupported_ok: bool = False) -> T:
        await self._admit(weight)
        self.exchange.last_response_headers = None
        sent = self.budget.clock.now() if self.budget is not None else None
        try:
            result = await request()
        except ccxt_errors.NotSupported as exc:
            if unsupported_ok:
                raise _Unsupported from exc
            raise self._failed(exc, sent) from exc
        except ccxt_errors.BaseError as exc:
            raise self._failed(exc, sent) from exc
        self._observe(sent)
        return result

    async def _admit(self, weight: int) -> None:
        if self.budget is None:
            return
        decision = await self.budget.reserve(Cost(weight), self.priority, self._wait_for_budget,
                                             max_waits=MAX_THROTTLE_WAITS)
        if isinstance(decision, Blocked):
            if decision.kind is BlockKind.BAN:
                until = decision.until.isoformat()
                raise OperationalError(f"the IP is banned until {until}; market data not requested")
            seconds = (decision.until - self.budget.clock.now()).total_seconds()
            raise TemporaryError(f"backing off until {decision.until.isoformat()} (429)", retry_after_s=max(0, seconds))
        if isinstance(decision, Throttle):
            seconds = max(0.0, (decision.until_ms - datetime_to_ms(self.budget.clock.now())) / 1000)
            raise TemporaryError(f"request budget still full ({decision.limit})", retry_after_s=seconds)

    async def _wait_for_budget(self, seconds: float) -> None:
        """Market data may fill 60 % of the IP's window (a start's protection path more); the rest is safety's.
        Several runners on one IP share it, so a runner starting while the others' reads hold the window past that
        waits for the next one: it says so (a start that went quiet for up to a minute before its banner looked
        hung, ``docs/runners.md``)."""
        assert self.budget is not None
        used = {u.limit.name: u.used for u in self.budget.usage().limits}
        log.warning("%s waits %.1f s for the request budget's next window (this IP's use: %s; every "
                    "runner and client on the IP counts)", self.priority.name.lower().replace("_", " "), seconds,
                    ", ".join(f"{name} {count}" for name, count in sorted(used.items())))
        await self._sleep(seconds)

    def _observe(self, sent: datetime | None) -> None:
        headers = self.exchange.last_response_headers
        if self.budget is not None and headers:
            self.budget.observe(usage_from_headers(headers, self.budget.policy.limits), sent=sent)

    def _failed(self, exc: ccxt_errors.BaseError, sent: datetime | None) -> TradewakeError:
        """Translate, and tell the shared budget about a 418 ban or a 429 back-off."""
        self._observe(sent)
        error = self.translate(exc)
        budget, status = self.budget, _status(exc)
        if budget is None or not isinstance(exc, ccxt_errors.DDoSProtection):
            return error
        now = budget.clock.now()
        retry_after = retry_after_s(self.exchange.last_response_headers)
        if status == "418" or "banned until" in str(exc):
            budget.ban(ms_to_datetime(banned_until_ms(str(exc), retry_after, datetime_to_ms(now))))
        elif status == "429" and retry_after is not None:
            budget.back_off(now + timedelta(seconds=retry_after))
        return error

    def translate(self, exc: ccxt_errors.BaseError) -> TradewakeError:
        """Map a ccxt error to what the caller must do (see the module docstring)."""
        if isinstance(exc, ccxt_errors.DDoSProtection):
            return self._rate_limit_error(exc)
        if isinstance(exc, ccxt_errors.NetworkError):
            return TemporaryError(f"exchange unreachable or slow: {exc}")
        if type(exc) is ccxt_errors.OperationFailed:  # Binance -1001 "internal error; try again" with a 5xx
            return TemporaryError(f"exchange failed to process the request (try again): {exc}")
        if isinstance(exc, ccxt_errors.BadSymbol):
            return ConfigError(f"unknown symbol: {exc}")
        return OperationalError(f"exchange error: {exc}")

    def _rate_limit_error(self, exc: ccxt_errors.BaseError) -> TradewakeError:
        status = _status(exc)
        if status != "429":
            return OperationalError(f"rate limit ban (HTTP {status}); stop requesting until it expires: {exc}")
        headers = self.exchange.last_response_headers or {}
        retry_after = _header(headers, "Retry-After")
        return TemporaryError(f"rate limited (HTTP {status}): {exc}", retry_after_s=retry_after)


class _Unsupported(Exception):
    """The venue does not offer this request (ccxt refused it before sending)."""


def _status(exc: ccxt_errors.BaseError) -> str | None:
    match = _STATUS_RE.match(str(exc))
    return match.group(1) if match else None


def _is_futures(exchange: Any) -> bool:
    return str(getattr(exchange, "options", {}).get("defaultType", "spot")) in ("swap", "future")


def _require_contract(symbol: str) -> None:
    if ":" not in symbol:
        raise ConfigError(f"{symbol} is a spot symbol; derivatives data needs a perpetual such as {symbol}:USDT")


def _header(headers: dict[str, Any], name: str) -> float | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None
