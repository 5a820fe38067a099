"""Issue 16 item 1 at the safety layer: a spot position is what the account holds, net of a buy's fee.

Binance spot takes a trade's commission from the asset it delivers unless BNB pays it (``commissionAsset``
of each fill; ``GET /api/v3/account/commission`` -> ``discount``): a buy of 0.01 BTC credits 0.00999 BTC,
and a stop or exit for 0.01 is refused with -2010 "Account has insufficient balance for requested action".
Before this, the guard sized the stop from the gross fill: refused, then the fallback market exit of the
same quantity refused too, and the position stayed unprotected. Real ccxt, fed by the recorded-payload fake.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from core.clock import SimClock
from core.ids import Symbol
from core.types import OrderType
from exchange.sim import MarketFill, SimBroker, SimConfig, SimExchange, binance_spot_markets
from tests.exchange.ccxtkit import ccxt_rig
from tests.exchange.simkit import T0
from tests.safety.desk import open_desk

BTC = Symbol("BTC/USDT")


async def test_the_stop_and_the_exit_are_sized_from_what_the_buy_delivered(tmp_path: Path) -> None:
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    desk = await open_desk(rig.broker, tmp_path / "s.sqlite3", rig.clock, {BTC: D(40000)}, market_type="spot")
    result = await desk.enter(BTC, stop=D(39000))
    assert result.status == "filled", result.message
    held = (await rig.broker.fetch_balance())["BTC"].total
    assert held == D("0.024975")  # bought 0.025; 0.000025 BTC went to the fee
    (position,) = desk.safety.positions()
    assert position.quantity == D("0.02497")  # what is held, rounded down to the step (0.00001)
    assert position.entry_fee == D("1.0")  # the 0.000025 BTC fee, valued in USDT at the fill price
    (stop,) = [o for o in rig.venue.open_orders(BTC) if o.intent.type is OrderType.STOP_MARKET]
    assert stop.intent.quantity == position.quantity
    assert not desk.alerts("unprotected_position") and not desk.journal("guard.order_rejected")
    await desk.close(BTC, position.id)
    assert desk.safety.positions() == () and rig.venue.open_orders(BTC) == []
    (trade,) = [e["trade"] for e in desk.journal("position.closed")]
    assert D(trade["quantity"]) == position.quantity
    assert D(trade["fees"]) == D("1.0") + D("0.9988")  # entry (in BTC) + exit (in USDT), both in USDT
    assert (await rig.broker.fetch_balance())["BTC"].total < rig.venue.markets()[BTC].min_qty  # dust only


async def test_with_bnb_paying_the_fee_the_whole_fill_is_the_position(tmp_path: Path) -> None:
    """Fees in the quote (as when BNB pays): the net quantity is the fill; nothing changes from before."""
    venue = SimExchange(
        binance_spot_markets(), SimClock(T0),
        SimConfig(initial_balances={"USDT": D(10_000)}, spot_fees_in_received_asset=False,
                  market_fill=MarketFill.IMMEDIATE),
    )
    venue.on_price("40000", symbol=BTC)
    desk = await open_desk(SimBroker(venue), tmp_path / "q.sqlite3", venue.clock, {BTC: D(40000)},
                           market_type="spot")
    assert (await desk.enter(BTC, stop=D(39000))).status == "filled"
    (position,) = desk.safety.positions()
    assert position.quantity == D("0.025") and position.entry_fee == D("1.0")
