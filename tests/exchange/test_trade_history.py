"""Trade history however old and however long (issue 16, item 6).

USDT-M ``GET /fapi/v1/userTrades``: "The time between startTime and endTime cannot be longer than 7 days";
without both, the last 7 days; at most 1,000 rows a page (500 by default); "fromId cannot be sent with
startTime or endTime". ccxt sends ``endTime = since + 7 days`` and one page, so reconciliation found no fill
of a position opened more than a week ago and at most 500 of one that filled in many pieces.
"""

import itertools
from datetime import timedelta
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from core.ids import Symbol
from core.types import OrderType, Side
from exchange.trade_history import FUTURES_WINDOW_MS, SPOT_WINDOW_MS, windows
from tests.exchange.ccxtkit import CcxtRig, ccxt_rig
from tests.exchange.simkit import T0, intent

BTC, FBTC = Symbol("BTC/USDT"), Symbol("BTC/USDT:USDT")
DAY = timedelta(days=1)


def at(rig: CcxtRig, when: timedelta, price: str, symbol: Symbol, volume: str | None = None) -> None:
    rig.clock.advance_to(T0 + when)
    rig.venue.on_price(price, symbol=symbol, volume=volume)


def params_of(rig: CcxtRig, path: str) -> list[dict[str, str]]:
    return [r.params for r in rig.fake.sent("GET", path)]


async def test_fills_of_a_position_opened_three_weeks_ago_are_all_found_in_7_day_windows() -> None:
    """userTrades: at most 7 days between startTime and endTime (ccxt sent since + 7 days and stopped)."""
    rig = ccxt_rig("future")
    rig.venue.on_price("40000", symbol=FBTC)
    rig.venue.place(intent("tw-p1-e0", quantity="0.01", symbol=FBTC))
    for day, cid in ((9, "tw-p1-e1"), (19, "tw-p1-x0")):
        at(rig, day * DAY, "40000", FBTC)
        side = Side.SELL if cid.endswith("x0") else Side.BUY
        rig.venue.place(intent(cid, side, quantity="0.01", symbol=FBTC))
    at(rig, 21 * DAY, "40000", FBTC)
    trades = await rig.broker.fetch_my_trades(FBTC, since=T0)
    assert [t.client_order_id for t in trades] == ["tw-p1-e0", "tw-p1-e1", "tw-p1-x0"]
    pages = params_of(rig, "/fapi/v1/userTrades")
    assert len(pages) == 4  # 21 days and a bit: four windows of at most 7 days
    assert all(int(p["endTime"]) - int(p["startTime"]) < FUTURES_WINDOW_MS for p in pages)
    assert int(pages[0]["startTime"]) == int(T0.timestamp() * 1000)


async def test_more_fills_than_a_page_are_read_on_by_id() -> None:
    """A big order filled in 1,100 pieces: the full 7-day page goes on by ``fromId``, never by time again."""
    rig = ccxt_rig("future", balances={"USDT": D(100_000)}, liquidity_fraction=D(1))
    rig.venue.on_price("40000", symbol=FBTC)
    rig.venue.place(intent("tw-p1-e0", order_type=OrderType.LIMIT, quantity="1.1", price="39000", symbol=FBTC))
    for n in range(1, 1101):
        at(rig, timedelta(minutes=5 * n), "38900", FBTC, volume="0.001")
    at(rig, 9 * DAY, "40000", FBTC)
    rig.venue.place(intent("tw-p1-x0", Side.SELL, quantity="1.1", symbol=FBTC))
    at(rig, 9 * DAY + timedelta(minutes=1), "40000", FBTC)
    trades = await rig.broker.fetch_my_trades(FBTC, since=T0)
    assert len(trades) == 1101 == len({t.trade_id for t in trades})
    assert sum(t.quantity for t in trades if t.side is Side.BUY) == D("1.1")
    assert [t.filled_at for t in trades] == sorted(t.filled_at for t in trades)
    pages = params_of(rig, "/fapi/v1/userTrades")
    by_time, by_id = [p for p in pages if "startTime" in p], [p for p in pages if "fromId" in p]
    assert len(by_time) == 2 and by_id and all("startTime" not in p and "endTime" not in p for p in by_id)
    assert all(p["limit"] == "1000" for p in pages)


async def test_spot_history_past_a_full_page_is_read_on_by_id() -> None:
    """myTrades: at most 1,000 rows a page; ``fromId`` reads on from a trade id."""
    rig = ccxt_rig("spot", balances={"USDT": D(100_000)}, liquidity_fraction=D(1))
    rig.venue.on_price("40000", symbol=BTC)
    rig.venue.place(intent("tw-p1-e0", order_type=OrderType.LIMIT, quantity="1.05", price="39000"))
    for n in range(1, 1051):
        at(rig, timedelta(minutes=n), "38900", BTC, volume="0.001")
    trades = await rig.broker.fetch_my_trades(BTC, since=T0)
    assert len(trades) == 1050 and sum(t.quantity for t in trades) == D("1.05")
    pages = params_of(rig, "/api/v3/myTrades")
    assert "startTime" in pages[0] and any("fromId" in p for p in pages[1:])
    assert all(int(p["endTime"]) - int(p["startTime"]) < SPOT_WINDOW_MS for p in pages if "startTime" in p)


async def test_spot_fills_days_apart_are_found_in_24_hour_windows() -> None:
    """Spot allows 24 hours between startTime and endTime; a single startTime reads one day on."""
    rig = ccxt_rig("spot", balances={"USDT": D(10_000), "BTC": D(1)})
    rig.venue.on_price("40000", symbol=BTC)
    rig.venue.place(intent("tw-p1-e0", quantity="0.01"))
    at(rig, 3 * DAY, "40000", BTC)
    rig.venue.place(intent("tw-p1-x0", Side.SELL, quantity="0.01"))
    at(rig, 3 * DAY + timedelta(minutes=1), "40000", BTC)
    trades = await rig.broker.fetch_my_trades(BTC, since=T0)
    assert [t.client_order_id for t in trades] == ["tw-p1-e0", "tw-p1-x0"]
    assert len(params_of(rig, "/api/v3/myTrades")) == 4


@given(
    since=st.integers(0, 10**13),
    span=st.integers(0, 90 * 24 * 3600 * 1000),
    window=st.integers(3600 * 1000, 8 * 24 * 3600 * 1000),
)
def test_windows_cover_the_range_exactly_once_and_none_is_too_long(since: int, span: int, window: int) -> None:
    """Windows never exceed Binance's span and never leave a gap or overlap."""
    cuts = windows(since, since + span, window)
    assert cuts[0][0] == since and cuts[-1][1] == since + span
    assert all(end - start < window for start, end in cuts)
    assert all(later[0] == earlier[1] + 1 for earlier, later in itertools.pairwise(cuts))
