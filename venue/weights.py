"""Request weight and order counts, in fixed wall-clock windows, reported on every answer like Binance.

Binance answers every REST request with ``X-MBX-USED-WEIGHT-1M`` (the IP's weight used in the current
minute) and every order request with ``X-MBX-ORDER-COUNT-10S`` and ``-1D`` (spot) or ``-1M``
(USDⓈ-M). Over a limit the request is refused with 429 and ``Retry-After`` (the seconds until the
window resets); the refused request still counts. Limits default to Binance's published ones
(spot 6,000 weight/min, 100 orders/10 s, 200,000/day; USDⓈ-M 2,400/min, 300/10 s, 1,200/min) and
are what ``exchangeInfo.rateLimits`` shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from venue import errors
from venue.errors import BinanceError, MarketKind

MINUTE_MS = 60_000
TEN_S_MS = 10_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Limits:
    weight_per_minute: int
    orders_per_10s: int
    orders_per_long: int
    long_window: str
    """``1D`` (spot) or ``1M`` (USDⓈ-M): the second order-count window."""

    @classmethod
    def binance(cls, market: MarketKind, weight_per_minute: int | None = None) -> Limits:
        if market == "spot":
            return cls(weight_per_minute or 6_000, 100, 200_000, "1D")
        return cls(weight_per_minute or 2_400, 300, 1_200, "1M")

    @property
    def long_ms(self) -> int:
        return DAY_MS if self.long_window == "1D" else MINUTE_MS

    def rate_limits(self) -> list[dict[str, object]]:
        """``exchangeInfo.rateLimits``."""
        long_interval = ("DAY", 1) if self.long_window == "1D" else ("MINUTE", 1)
        return [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": self.weight_per_minute},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": self.orders_per_10s},
            {"rateLimitType": "ORDERS", "interval": long_interval[0], "intervalNum": long_interval[1],
             "limit": self.orders_per_long},
        ]


@dataclass
class _Window:
    length_ms: int
    start_ms: int = -1
    used: int = 0

    def add(self, now_ms: int, amount: int) -> int:
        start = now_ms - now_ms % self.length_ms
        if start != self.start_ms:
            self.start_ms, self.used = start, 0
        self.used += amount
        return self.used

    def current(self, now_ms: int) -> int:
        return self.used if now_ms - now_ms % self.length_ms == self.start_ms else 0

    def retry_after_s(self, now_ms: int) -> int:
        return max(1, -(-(self.start_ms + self.length_ms - now_ms) // 1000))


@dataclass
class WeightMeter:
    limits: Limits
    _weight: _Window = field(default_factory=lambda: _Window(MINUTE_MS))
    _orders_10s: _Window = field(default_factory=lambda: _Window(TEN_S_MS))
    _orders_long: _Window | None = None
    by_endpoint: dict[str, int] = field(default_factory=dict)
    """Weight charged per ``METHOD path`` since the venue started (``GET /_venue/state``: what costs the most)."""

    def __post_init__(self) -> None:
        self._orders_long = _Window(self.limits.long_ms)

    def charge(self, weight: int, *, order: bool, now_ms: int, endpoint: str = "") -> BinanceError | None:
        """Count one request; the error to answer when it goes over a limit."""
        if endpoint:
            self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + weight
        used = self._weight.add(now_ms, weight)
        if used > self.limits.weight_per_minute:
            return errors.too_much_weight(self.limits.weight_per_minute, self._weight.retry_after_s(now_ms))
        if not order:
            return None
        assert self._orders_long is not None
        if self._orders_10s.add(now_ms, 1) > self.limits.orders_per_10s:
            retry = self._orders_10s.retry_after_s(now_ms)
            return errors.too_many_orders(self.limits.orders_per_10s, "10 SECOND", retry)
        if self._orders_long.add(now_ms, 1) > self.limits.orders_per_long:
            interval = "1 DAY" if self.limits.long_window == "1D" else "1 MINUTE"
            return errors.too_many_orders(
                self.limits.orders_per_long, interval, self._orders_long.retry_after_s(now_ms)
            )
        return None

    def headers(self, now_ms: int, *, order: bool) -> dict[str, str]:
        headers = {"X-MBX-USED-WEIGHT-1M": str(self._weight.current(now_ms))}
        if order:
            assert self._orders_long is not None
            headers["X-MBX-ORDER-COUNT-10S"] = str(self._orders_10s.current(now_ms))
            headers[f"X-MBX-ORDER-COUNT-{self.limits.long_window}"] = str(self._orders_long.current(now_ms))
        return headers
