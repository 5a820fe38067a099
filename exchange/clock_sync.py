"""The exchange's clock, as an offset from ours (a broker's state, measured through the injected ``Clock``).

Binance refuses a signed request whose ``timestamp`` is more than 1,000 ms ahead of its own clock or older
than ``recvWindow`` (-1021 "Timestamp for this request was 1000ms ahead of the server's time" / "outside of
the recvWindow"). The request was not processed: it is a known rejection, never an unknown outcome. So the
broker measures ``serverTime - our time`` at start-up and every ``resync_every``, signs with our time plus
that offset, and after a -1021 measures again and retries the request once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.timeframes import datetime_to_ms

RESYNC_EVERY = timedelta(minutes=30)


@dataclass
class ClockOffset:
    resync_every: timedelta = RESYNC_EVERY
    offset_ms: int = 0
    """The exchange's time minus ours, in ms (positive: the exchange is ahead)."""
    synced_at: datetime | None = None
    """When it was last measured (our time); None: never, the offset is an assumption of 0."""

    def record(self, server_ms: int, sent_at: datetime, received_at: datetime) -> int:
        """Take a time-endpoint answer: the server read its clock about halfway through the round trip."""
        midpoint = (datetime_to_ms(sent_at) + datetime_to_ms(received_at)) // 2
        self.offset_ms = int(server_ms) - midpoint
        self.synced_at = received_at
        return self.offset_ms

    def due(self, now: datetime) -> bool:
        """Never measured, or measured more than ``resync_every`` ago."""
        return self.synced_at is None or now - self.synced_at >= self.resync_every

    def exchange_ms(self, now: datetime) -> int:
        """``now`` on the exchange's clock: the ``timestamp`` of a signed request."""
        return datetime_to_ms(now) + self.offset_ms
