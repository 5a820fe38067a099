"""Errors named by what the caller must do.

Adapters translate vendor errors (ccxt, anthropic, redis) into these once, at the edge;
the core never sees a vendor exception class.
"""

from __future__ import annotations


class TradewakeError(Exception):
    """Base of every error we raise on purpose."""


class TemporaryError(TradewakeError):
    """Retry with capped backoff; ``retry_after_s`` is the server's hint when it gave one."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class OutcomeUnknownError(TemporaryError):
    """The request may or may not have taken effect (timeout after send): look it up before retrying."""


class OrderRejected(TradewakeError):
    """The order cannot be placed as asked; report ``code`` and the message to the agent."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class OperationalError(TradewakeError):
    """Something a human must look at: stop entries and alert."""


class ConfigError(TradewakeError):
    """Settings are invalid or incomplete; refuse to start."""


class ConflictError(TradewakeError):
    """A compare-and-set lost: the stored version is not the one the caller expected."""

    def __init__(self, key: str, expected: int | None, actual: int | None) -> None:
        super().__init__(f"version conflict on {key!r}: expected {expected}, found {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual
