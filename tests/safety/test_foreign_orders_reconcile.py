"""Issue 16 item 3 at the safety layer: orders placed by hand never stop the bot, and are never ours.

Binance lists every open order of the account (``GET /fapi/v1/openOrders``, ``GET /fapi/v1/openAlgoOrders``):
the app's close-position TP/SL (algo orders with ``closePosition: true`` and quantity 0), trailing stops
(``TRAILING_STOP_MARKET``, ``callbackRate``, no trigger until activated) and anything another bot placed.
Reconciliation reports each once (journal ``reconcile.foreign`` and one alert), never cancels it (not even
with ``cancel_orphans``), never counts it as ours, and adopts the level of a foreign stop that covers the
position better than ours. Real ccxt, fed by the recorded-payload fake.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from core.ids import Symbol
from core.types import OrderType
from tests.exchange.ccxtkit import ccxt_rig
from tests.exchange.test_foreign_orders import algo_order, spot_order
from tests.safety.desk import open_desk

BTC, FBTC = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")


def cancels(rig, cid: str) -> list[object]:  # type: ignore[no-untyped-def]
    return [r for r in rig.fake.requests if r.method == "DELETE" and cid in str(r.params)]


async def test_the_apps_orders_are_reported_once_never_cancelled_and_a_better_stop_lends_its_level(
    tmp_path: Path,
) -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("50000", symbol=FBTC)
    desk = await open_desk(rig.broker, tmp_path / "f.sqlite3", rig.clock, {FBTC: D(50000)}, market_type="future")
    assert (await desk.enter(FBTC, stop=D(48500))).status == "filled"
    rig.fake.foreign_algo_orders += [
        algo_order("web_close_sl", "STOP_MARKET", quantity="0", closePosition=True, triggerPrice="49000"),
        algo_order("web_close_tp", "TAKE_PROFIT_MARKET", quantity="", closePosition=True, triggerPrice="55000"),
        algo_order("and_trail", "TRAILING_STOP_MARKET", triggerPrice="", activatePrice="51000", callbackRate="0.8"),
    ]
    report = await desk.safety.reconcile(rig.clock.now(), cancel_orphans=True)
    assert report.ok, report.error
    assert sorted(report.foreign) == ["and_trail", "web_close_sl", "web_close_tp"] and report.orphans == []
    assert len(desk.journal("reconcile.foreign")) == 3 and len(desk.alerts("foreign_order")) == 3
    assert not any(cancels(rig, cid) for cid in ("web_close_sl", "web_close_tp", "and_trail"))
    (position,) = desk.safety.positions()
    assert position.stop_price == D(49000), "the app's tighter close-position stop lends its level"
    (adopted,) = desk.journal("reconcile.adopted_foreign_stop")
    assert (adopted["order_id"], adopted["from"], adopted["to"]) == ("web_close_sl", "48500", "49000")
    ours = [o for o in rig.venue.open_orders(FBTC) if o.intent.type is OrderType.STOP_MARKET]
    assert [o.intent.stop_price for o in ours] == [D(49000)], "our own stop follows, theirs stays theirs"

    again = await desk.safety.reconcile(rig.clock.now(), cancel_orphans=True)
    restarted = await open_desk(rig.broker, tmp_path / "f.sqlite3", rig.clock, {FBTC: D(50000)},
                                market_type="future")
    assert again.ok and len(desk.journal("reconcile.foreign")) == 3 and len(desk.alerts("foreign_order")) == 3
    assert restarted.alerts("foreign_order") == [], "reported once, across restarts too (the book keeps it)"
    assert not any(cancels(rig, cid) for cid in ("web_close_sl", "web_close_tp", "and_trail"))


async def test_a_looser_or_partial_foreign_stop_is_only_reported(tmp_path: Path) -> None:
    rig = ccxt_rig("future")
    rig.venue.on_price("50000", symbol=FBTC)
    desk = await open_desk(rig.broker, tmp_path / "l.sqlite3", rig.clock, {FBTC: D(50000)}, market_type="future")
    assert (await desk.enter(FBTC, stop=D(48500))).status == "filled"
    rig.fake.foreign_algo_orders += [
        algo_order("web_loose", "STOP_MARKET", quantity="0", closePosition=True, triggerPrice="47000"),
        algo_order("web_part", "STOP_MARKET", quantity="0.001", triggerPrice="49500"),  # covers a sliver only
    ]
    assert (await desk.safety.reconcile(rig.clock.now())).ok
    (position,) = desk.safety.positions()
    assert position.stop_price == D(48500) and desk.journal("reconcile.adopted_foreign_stop") == []


async def test_spot_orders_by_hand_are_reported_and_left_alone(tmp_path: Path) -> None:
    """Spot: an OCO and a trailing stop from the app; a covering stop there locks the balance, so none is
    adopted (ours could not be placed beside it); each is reported once."""
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    rig.fake.foreign_orders += [
        spot_order("ios_oco_below", "STOP_LOSS_LIMIT", price="38900.00", stopPrice="39000.00", orderListId=9),
        spot_order("and_trail", "STOP_LOSS", price="0.00", stopPrice="0.00", trailingDelta=150, trailingTime=-1),
    ]
    desk = await open_desk(rig.broker, tmp_path / "s.sqlite3", rig.clock, {BTC: D(40000)}, market_type="spot")
    assert sorted(a.split(": ", 1)[1].split(":")[0] for a in desk.alerts("foreign_order")) == [
        "and_trail", "ios_oco_below"]
    assert not cancels(rig, "ios_oco_below") and not cancels(rig, "and_trail")
