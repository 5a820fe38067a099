"""What a run does with its exchange account before trading: the broker with its keys, one request budget per
venue, and the futures account's settings.

- ``venue_budget``: Binance counts request weight per IP and orders per account, for every client on them.
  One ``RequestBudget`` per venue (its host family is the IP scope, a hash of the API key the account scope)
  is shared by the run's broker and its candle feed, and through the run's store (SQLite on one machine,
  Redis between machines: both are ``WindowCounter``s) by every process on the same store.
- ``configure_account``: on USDT-M futures, leverage, margin type and position mode are the account's, not
  the order's. A hedge-mode account is refused with one line; then every traded symbol gets the configured
  margin type and leverage, each read back (``CcxtBroker.account.configure``).

``engine/wiring.py`` calls both; ``tradewake exchange check`` builds its broker with the same budget.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from core.errors import ConfigError
from core.ids import Symbol
from core.ports import Clock
from core.ratelimit import BudgetPolicy
from core.request_budget import MemoryCounter, RequestBudget, WindowCounter
from core.settings import ExchangeSettings
from exchange.binance_account import SymbolSettings
from exchange.ccxt_broker import CcxtBroker
from exchange.liquidation import MarginType
from exchange.retry import RetryPolicy, Sleep
from exchange.venue import VenueSpec
from safety.service import ExpectedTerms


def open_broker(
    venue: VenueSpec,
    exchange: ExchangeSettings,
    symbols: Sequence[Symbol],
    clock: Clock,
    *,
    sleep: Sleep = asyncio.sleep,
    seed: int | None = None,
    budget: RequestBudget | None = None,
    signing_clock: Clock | None = None,
) -> CcxtBroker:
    """The ccxt broker on ``venue`` with the configured keys (a missing key is a one-line ``ConfigError``)."""
    if exchange.api_key is None or exchange.api_secret is None:
        raise ConfigError(
            f"{venue.label} needs exchange.api_key and exchange.api_secret "
            "(TRADEWAKE_EXCHANGE__API_KEY / TRADEWAKE_EXCHANGE__API_SECRET)"
        )
    return CcxtBroker.open(
        venue, api_key=exchange.api_key.get_secret_value(), api_secret=exchange.api_secret.get_secret_value(),
        symbols=symbols, clock=clock, retry=RetryPolicy.from_settings(exchange), timeout_s=exchange.request_timeout_s,
        sleep=sleep, seed=seed, budget=budget, client_id_prefix=exchange.client_id_prefix,
        signing_clock=signing_clock,
    )


def venue_budget(venue: VenueSpec, store: object, clock: Clock, exchange: ExchangeSettings) -> RequestBudget:
    """The request budget of ``venue``: counted in ``store`` when it can count (else in this process only)."""
    counter = store if isinstance(store, WindowCounter) else MemoryCounter()
    policy = BudgetPolicy.binance_futures() if venue.futures else BudgetPolicy.binance_spot()
    return RequestBudget(counter, clock, policy, ip=venue.hosts, account=account_id(exchange))


def account_id(exchange: ExchangeSettings) -> str:
    """A stable name for the API key's account that reveals nothing of the key (12 hex digits of its SHA-256)."""
    if exchange.api_key is None:
        return "anonymous"
    return hashlib.sha256(exchange.api_key.get_secret_value().encode()).hexdigest()[:12]


def expected_terms(exchange: ExchangeSettings, *, on_exchange: bool) -> ExpectedTerms | None:
    """What safety compares the account's settings with before each symbol's first entry: the configured
    leverage and margin type on a real exchange; nothing on the simulated one (it keeps what it was built with)."""
    if not on_exchange or exchange.market_type != "future":
        return None
    return ExpectedTerms(exchange.leverage, MarginType(exchange.margin_type))


async def configure_account(broker: CcxtBroker, exchange: ExchangeSettings) -> tuple[SymbolSettings, ...]:
    """Futures: refuse hedge mode, then set and read back each symbol's margin type and leverage (spot: nothing)."""
    if not broker.venue.futures:
        return ()
    modes = await broker.require_one_way()  # account-wide: read once, not again for every symbol
    margin = MarginType(exchange.margin_type)
    return tuple(
        [await broker.account.configure(symbol, leverage=exchange.leverage, margin=margin, modes=modes)
         for symbol in broker.symbols]
    )
