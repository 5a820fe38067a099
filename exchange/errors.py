"""Exchange-layer refinements of the core errors (still caught by their core base classes)."""

from __future__ import annotations

from datetime import datetime

from core.errors import OperationalError


class IpBanned(OperationalError):
    """Binance answered 418: the IP is banned for sending too much request weight.

    Never retried in a loop: stop new orders until ``until`` (when the exchange said) and alert.
    """

    def __init__(self, message: str, *, until: datetime | None) -> None:
        super().__init__(message)
        self.until = until
