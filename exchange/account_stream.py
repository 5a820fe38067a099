"""The account's user-data stream through ``ccxt.pro``: order updates, own trades, balances (and positions on
USDT-M futures) as notices that something changed on the account.

A notice says *when* to look, not *what* is true: the live loop answers each one with a safety pass that reads
the orders and positions it guards over REST (``CcxtBroker``), so a stream that drops, lags or misses an event
costs latency, never correctness, and REST is the fallback whenever the stream is down (the safety pass also
runs on its own cadence). Spot user data goes through Binance's WebSocket API (``userDataStream.subscribe``),
USDT-M through a listen key; ccxt handles both, and re-subscribes on the next ``watch_*`` after a drop.

Errors leave as ``core.errors`` types: a dropped or refused socket is a ``TemporaryError`` (call again: that
reconnects), a refused subscription an ``OperationalError``. ccxt 4.5.90 surfaces a refused spot subscription as
``KeyError('spot')`` with the ``AuthenticationError`` as its context (``docs/venue.md``); that is translated too.

USDⓈ-M also says when the account's settings change: ``ACCOUNT_CONFIG_UPDATE`` (a symbol's leverage, ``ac``, or
Multi-Assets Mode, ``ai``) and ``ACCOUNT_UPDATE`` with reason ``MARGIN_TYPE_CHANGE``. ccxt 4.5.90 hands neither to
any ``watch_*`` (it has no handler for the first and reads the second as a balance), so ``on_config`` sees every
message ccxt receives first and is called on those: the broker forgets the leverage and margin type it remembers
(``exchange.ccxt_account``) and reads them again at the next guard pass that needs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ccxt.base import errors as ccxt_errors

from core.errors import OperationalError, TemporaryError
from core.ids import ClientOrderId
from exchange.ccxt_client import ccxt_client
from exchange.venue import VenueSpec


class Channel(StrEnum):
    ORDERS = "orders"
    MY_TRADES = "my_trades"
    BALANCE = "balance"
    POSITIONS = "positions"


@dataclass(frozen=True, slots=True)
class AccountNotice:
    """Something changed on the account: on ``channel``, at ``at_ms`` exchange time (when the stream said)."""

    channel: Channel
    at_ms: int | None
    client_order_ids: tuple[ClientOrderId, ...] = ()


ConfigHook = Callable[[], None]
"""Called when the account's leverage, margin type or Multi-Assets Mode changed (see the module docstring)."""


class AccountStream:
    """One keyed ``ccxt.pro`` client watching the account. Build it with :meth:`open`."""

    def __init__(self, exchange: Any, venue: VenueSpec, *, on_config: ConfigHook | None = None) -> None:
        self.exchange = exchange
        self.venue = venue
        self._secrets = tuple(s for s in (getattr(exchange, "apiKey", None), getattr(exchange, "secret", None)) if s)
        if on_config is not None:
            _hear_config(exchange, on_config)

    @classmethod
    def open(
        cls, venue: VenueSpec, *, api_key: str, api_secret: str, timeout_s: float = 10.0,
        on_config: ConfigHook | None = None,
    ) -> AccountStream:
        return cls(ccxt_client(venue, api_key=api_key, api_secret=api_secret, timeout_s=timeout_s, websockets=True),
                   venue, on_config=on_config)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """What this account streams: positions only on futures (a spot account has balances)."""
        base = (Channel.ORDERS, Channel.MY_TRADES, Channel.BALANCE)
        return (*base, Channel.POSITIONS) if self.venue.futures else base

    async def next(self, channel: Channel) -> AccountNotice:
        """Wait for the next change on ``channel``."""
        match channel:
            case Channel.ORDERS:
                orders = await self._call(self.exchange.watch_orders)
                return _notice(channel, orders, "clientOrderId")
            case Channel.MY_TRADES:
                trades = await self._call(self.exchange.watch_my_trades)
                return _notice(channel, trades, None)
            case Channel.BALANCE:
                balance = await self._call(self.exchange.watch_balance)
                return AccountNotice(channel, _int(balance.get("timestamp")))
            case Channel.POSITIONS:
                positions = await self._call(self.exchange.watch_positions)
                return _notice(channel, positions, None)

    async def close(self) -> None:
        await self.exchange.close()

    async def _call(self, watch: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await watch()
        except asyncio.CancelledError:  # ccxt cancels the future of a socket it closes itself: a drop
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise TemporaryError("user-data stream closed under a pending watch") from None
        except ccxt_errors.AuthenticationError as exc:
            raise self._refused(exc) from exc
        except (ccxt_errors.NetworkError, ConnectionError) as exc:  # the latter: ccxt subscribed on a closed socket
            raise TemporaryError(f"user-data stream dropped: {self._redact(str(exc))}") from exc
        except ccxt_errors.BaseError as exc:
            raise TemporaryError(f"user-data stream failed: {type(exc).__name__}: {self._redact(str(exc))}") from exc
        except KeyError as exc:  # ccxt 4.5.90: a refused spot subscription, the real error as the context
            if isinstance(exc.__context__, ccxt_errors.AuthenticationError):
                raise self._refused(exc.__context__) from exc
            raise

    def _refused(self, exc: ccxt_errors.BaseError) -> OperationalError:
        return OperationalError(f"Binance {self.venue.label} ({self.venue.hosts}) refused the user-data stream: "
                                f"{self._redact(str(exc))}")

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def is_config_change(message: object) -> bool:
    """A USDⓈ-M user-data event that changes the account's leverage, margin type or Multi-Assets Mode."""
    if not isinstance(message, Mapping):
        return False
    event = message.get("e")
    if event == "ACCOUNT_CONFIG_UPDATE":
        return True
    update = message.get("a")
    return event == "ACCOUNT_UPDATE" and isinstance(update, Mapping) and update.get("m") == "MARGIN_TYPE_CHANGE"


def _hear_config(exchange: Any, on_config: ConfigHook) -> None:
    """Let ``on_config`` see each message before ccxt handles it. ccxt takes ``exchange.handle_message`` when it
    opens a connection (``Exchange.client``), so this is set before the first watch."""
    handle = exchange.handle_message

    def handle_message(client: Any, message: object) -> Any:
        if is_config_change(message):
            on_config()
        return handle(client, message)

    exchange.handle_message = handle_message


def _notice(channel: Channel, items: Iterable[Mapping[str, Any]], cid_field: str | None) -> AccountNotice:
    stamps = [_int(item.get("lastUpdateTimestamp") or item.get("timestamp")) for item in items]
    cids = tuple(ClientOrderId(str(i[cid_field])) for i in items if cid_field and i.get(cid_field))
    known = [s for s in stamps if s is not None]
    return AccountNotice(channel, max(known) if known else None, cids)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
