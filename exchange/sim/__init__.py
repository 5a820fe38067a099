"""A deterministic simulated exchange with fault injection, behind the ``Broker`` protocol.

Public API (everything the backtest, paper mode and the safety tests need)::

    from exchange.sim import (SimExchange, SimBroker, SimConfig, MarketFill, FixedBpsSlippage,
                              FaultPlan, Fault, FaultKind, Op, binance_spot_markets, binance_futures_markets)

    clock = SimClock(start)                                   # core.clock; the caller moves it
    venue = SimExchange(binance_futures_markets(), clock,
                        SimConfig(market_type="future", initial_balances={"USDT": Decimal(10_000)},
                                  slippage=FixedBpsSlippage(Decimal(2)), default_leverage=3))
    broker = SimBroker(venue, faults=FaultPlan.random(seed=7, rates={FaultKind.TIMEOUT_AFTER_ACCEPT: 0.05}))

    # drive the market (sync); each call returns the fills it caused
    venue.on_candle(candle)                       # bar-range matching, fills stamped clock.now()
    venue.on_price("64000.5", at, symbol="BTC/USDT:USDT")   # a tick; symbol optional with one market
    venue.apply_funding("0.0001", at, symbol=...) # futures funding on the open position

    # trade through the Broker protocol (async) ...
    order = await broker.create_order(intent)     # quantized, idempotent by client order id, retried
    # ... or inspect the venue directly (sync)
    venue.order(cid); venue.open_orders(); venue.fills(); venue.balances(); venue.positions()
    venue.orders_with_client_id(cid)              # duplicate check: never two for one create_order
    venue.events(); venue.last_price(); venue.wallet(); venue.order_reason(cid)

    # restart and snapshots
    broker2 = SimBroker(venue)                    # a process restart: the venue keeps everything
    snap = venue.snapshot(); ...; venue.restore(snap)

Semantics (see ``exchange.sim.matching`` for the bar rules): market orders fill at the next price
fed (``MarketFill.IMMEDIATE``: at once at the last price); limits fill when price trades through
(maker); stops and take-profits trigger on the bar's range, a gap fills at the open; a bar that
reaches both a stop and a take-profit fills the stop first (conservative); partial fills with
``liquidity_fraction`` of each bar's volume; Binance precision, min notional, balances (spot locks
funds for every open order, stops included) and margin (futures, one-way, cross) with reduce-only,
funding and liquidation. Spot ``fetch_positions`` reports base holdings as longs with entry price 0
(a spot exchange does not know it), exactly like the ccxt broker.
"""

from exchange.sim.broker import SimBroker
from exchange.sim.config import FixedBpsSlippage, MarketFill, SimConfig, SlippageModel
from exchange.sim.exchange import SimExchange, SimSnapshot
from exchange.sim.faults import Fault, FaultKind, FaultPlan, FiredFault, Op
from exchange.sim.markets import binance_futures_markets, binance_spot_markets
from exchange.sim.matching import Bar
from exchange.sim.state import SimEvent

__all__ = [
    "Bar",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FiredFault",
    "FixedBpsSlippage",
    "MarketFill",
    "Op",
    "SimBroker",
    "SimConfig",
    "SimEvent",
    "SimExchange",
    "SimSnapshot",
    "SlippageModel",
    "binance_futures_markets",
    "binance_spot_markets",
]
