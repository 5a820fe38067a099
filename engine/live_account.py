"""Where a live run's orders fill: the simulated exchange at live prices (paper) or the exchange itself, with the
equity the run starts from (``engine/wiring.py`` picks one by the run mode; nothing here knows the mode)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from core.ids import Symbol
from core.money import MarketRules
from core.ports import Broker, Clock, Store
from core.settings import Settings
from engine.exchange_setup import configure_account
from engine.live import PriceHook
from engine.paper import PaperAccount
from engine.simulated import sim_exchange, sim_markets
from exchange.account_stream import AccountStream
from exchange.ccxt_broker import CcxtBroker
from exchange.sim import MarketFill
from exchange.venue import VenueSpec
from safety.service import account_equity


@dataclass(frozen=True)
class LiveAccount:
    """Where a live run's orders fill, and the equity it starts from."""

    broker: Broker
    rules: Mapping[Symbol, MarketRules]
    equity: Decimal
    on_price: PriceHook | None = None
    """Paper: the simulated exchange trades at every live price before anyone looks (its fills follow them)."""
    stream: AccountStream | None = None
    """The account's user-data stream (fills and order updates as they happen; REST stays the truth)."""


def last_closes(histories: Mapping[Symbol, pd.DataFrame]) -> dict[Symbol, Decimal]:
    return {s: Decimal(str(h["close"].iloc[-1])) for s, h in histories.items()}


def simulated_account(
    settings: Settings, clock: Clock, store: Store, histories: Mapping[Symbol, pd.DataFrame]
) -> LiveAccount:
    """Paper: the simulated exchange at live prices, restored from the store and saved there after every change."""
    rules = sim_markets(settings)
    venue = sim_exchange(settings, clock, rules, fill=MarketFill.IMMEDIATE,
                         initial_cash=settings.backtest.initial_cash, slippage_bps=settings.backtest.slippage_bps)
    paper = PaperAccount.open(venue, store)
    equity = account_equity(venue.balances(), last_closes(histories), settings.exchange.quote)
    return LiveAccount(paper.broker(), rules, equity, on_price=paper.on_price)


async def exchange_account(
    broker: CcxtBroker, settings: Settings, histories: Mapping[Symbol, pd.DataFrame]
) -> LiveAccount:
    """The exchange's account behind ``broker``: access checked, futures terms set, markets and balance read."""
    await broker.check_access()
    await configure_account(broker, settings.exchange)  # futures: one-way mode, margin type and leverage set
    rules = dict(await broker.load_markets())
    equity = account_equity(await broker.fetch_balance(), last_closes(histories), settings.exchange.quote)
    return LiveAccount(broker, rules, equity)


def with_stream(
    account: LiveAccount, settings: Settings, venue: VenueSpec, resources: AsyncExitStack
) -> LiveAccount:
    """The account's user-data stream beside its broker (same venue, same keys); a change of the account's
    leverage or margin type it hears makes the broker read them again."""
    exchange = settings.exchange
    assert exchange.api_key is not None  # the broker checked both
    assert exchange.api_secret is not None
    broker = account.broker
    forget = broker.forget_symbol_settings if isinstance(broker, CcxtBroker) else None
    stream = AccountStream.open(venue, api_key=exchange.api_key.get_secret_value(),
                                api_secret=exchange.api_secret.get_secret_value(),
                                timeout_s=exchange.request_timeout_s, on_config=forget)
    resources.push_async_callback(stream.close)
    return LiveAccount(account.broker, account.rules, account.equity, account.on_price, stream)
