"""Derivatives: the real XRP perpetual funding file, adaptive polling, per-symbol state, ccxt over recordings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError, TemporaryError
from core.ids import Symbol
from market.ccxt_rest import CcxtRest, make_exchange
from market.derivatives import (
    DerivativesHistory,
    DerivativesPoller,
    DerivativesReading,
    PollPolicy,
    is_moving,
    load_funding_csv,
    next_poll_interval,
)
from tests.market.binance_replay import FIXTURES, BinanceReplay, load_json
from tests.market.conftest import XRP_FUNDING

XRP = Symbol("XRP/USDT:USDT")
Futures = tuple[BinanceReplay, CcxtRest, list[dict[str, Any]]]
T0 = datetime(2021, 11, 18, tzinfo=UTC)


def test_funding_file_loads_as_a_history() -> None:
    history = load_funding_csv(XRP_FUNDING, XRP)
    assert len(history) == 91
    first = history.readings[0]
    assert first.at == datetime(2021, 11, 18, 0, 0, 0, 17000, tzinfo=UTC) and first.funding_rate == 0.0001
    assert history.view_at(datetime(2021, 11, 18, tzinfo=UTC)) is None  # 17 ms before the first settlement
    view = history.view_at(datetime(2021, 11, 20, 7, 59, tzinfo=UTC))
    assert view is not None and view.funding_rate == 0.00013046 and view.at.hour == 0  # 2021-11-20 00:00 rate
    assert len(history.until(datetime(2021, 11, 19, tzinfo=UTC))) == 4  # 11-19 00:00:00.000 is included


def test_history_is_keyed_by_symbol_and_ordered() -> None:
    history = DerivativesHistory(XRP)
    history.append(DerivativesReading(symbol=XRP, at=T0, funding_rate=0.0001))
    with pytest.raises(ValueError, match="BTC/USDT:USDT"):
        history.append(DerivativesReading(symbol=Symbol("BTC/USDT:USDT"), at=T0, funding_rate=0.0001))
    with pytest.raises(ValueError, match="older"):
        history.append(DerivativesReading(symbol=XRP, at=T0 - timedelta(seconds=1)))


def test_open_interest_change_is_against_the_previous_reading() -> None:
    history = DerivativesHistory(XRP, [
        DerivativesReading(symbol=XRP, at=T0, open_interest=200.0),
        DerivativesReading(symbol=XRP, at=T0 + timedelta(minutes=5), open_interest=203.0),
    ])
    view = history.view_at(T0 + timedelta(minutes=6))
    assert view is not None and view.open_interest_change_pct == pytest.approx(1.5)


# ---------------------------------------------------------------- adaptive interval (pure)


def reading(funding: float | None = 0.0001, oi: float | None = 1000.0, ls: float | None = 2.0) -> DerivativesReading:
    return DerivativesReading(symbol=XRP, at=T0, funding_rate=funding, open_interest=oi, long_short_ratio=ls)


def test_interval_shortens_when_values_move_and_lengthens_when_quiet() -> None:
    policy = PollPolicy()
    assert next_poll_interval(None, reading(), None, policy) == 300.0
    quiet = reading(oi=1005.0, ls=2.01)
    assert next_poll_interval(reading(), quiet, 300.0, policy) == 450.0
    assert next_poll_interval(reading(), reading(oi=1011.0), 300.0, policy) == 150.0  # open interest +1.1 %
    assert next_poll_interval(reading(), reading(ls=2.05), 300.0, policy) == 150.0  # long/short +2.5 %
    assert next_poll_interval(reading(), reading(funding=0.00016), 300.0, policy) == 150.0  # +0.6 bp
    assert next_poll_interval(reading(), reading(), 800.0, policy) == 900.0  # capped
    assert next_poll_interval(reading(), reading(oi=2000.0), 40.0, policy) == 30.0  # floored


def test_real_funding_sequence_drives_the_interval() -> None:
    readings = load_funding_csv(XRP_FUNDING, XRP).readings
    interval, intervals = None, []
    for previous, current in zip((None, *readings), readings, strict=False):
        interval = next_poll_interval(previous, current, interval)
        intervals.append(interval)
    jumps = [i for i in range(1, len(readings)) if is_moving(readings[i - 1], readings[i], PollPolicy())]
    assert jumps, "the real file has funding moves above half a basis point"
    for i in jumps:
        assert intervals[i] < intervals[i - 1] or intervals[i] == PollPolicy().min_s


values = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False)
optional = st.one_of(st.none(), values)


@given(
    f0=st.one_of(st.none(), st.floats(-0.01, 0.01)), f1=st.one_of(st.none(), st.floats(-0.01, 0.01)),
    oi0=optional, oi1=optional, ls0=optional, ls1=optional,
    last=st.one_of(st.none(), st.floats(1.0, 10_000.0)),
)
def test_interval_is_always_within_bounds_and_moves_the_right_way(
    f0: float | None, f1: float | None, oi0: float | None, oi1: float | None, ls0: float | None, ls1: float | None,
    last: float | None,
) -> None:
    policy = PollPolicy()
    previous, current = reading(f0, oi0, ls0), reading(f1, oi1, ls1)
    interval = next_poll_interval(previous, current, last, policy)
    assert policy.min_s <= interval <= policy.max_s
    start = min(policy.max_s, max(policy.min_s, policy.base_s if last is None else last))
    if is_moving(previous, current, policy):
        assert interval <= start
    else:
        assert interval >= start


# ---------------------------------------------------------------- poller, keyed by symbol


class ScriptedFeed:
    """A fetch function over prepared readings per symbol (a fake of the ccxt source, not a mock)."""

    def __init__(self, readings: dict[Symbol, list[DerivativesReading | Exception]]) -> None:
        self.readings = {s: list(r) for s, r in readings.items()}
        self.calls: list[Symbol] = []

    async def __call__(self, symbol: Symbol) -> DerivativesReading:
        self.calls.append(symbol)
        item = self.readings[symbol].pop(0)
        if isinstance(item, Exception):
            raise item
        return item


async def test_each_symbol_has_its_own_schedule_and_history() -> None:
    btc = Symbol("BTC/USDT:USDT")

    def r(symbol: Symbol, minutes: int, oi: float) -> DerivativesReading:
        return DerivativesReading(symbol=symbol, at=T0 + timedelta(minutes=minutes), open_interest=oi)

    feed = ScriptedFeed({
        XRP: [r(XRP, 0, 100.0), r(XRP, 5, 100.1)],
        btc: [r(btc, 0, 500.0), TemporaryError("timeout"), r(btc, 1, 520.0)],
    })
    poller = DerivativesPoller(feed, [XRP, btc])
    first = await poller.poll_due(T0)
    assert [x.symbol for x in first.readings] == [XRP, btc] and poller.interval_s(XRP) == 300.0
    assert await poller.poll_due(T0 + timedelta(minutes=1)) == type(first)((), {})  # nothing due yet
    second = await poller.poll_due(T0 + timedelta(minutes=5))
    assert [x.symbol for x in second.readings] == [XRP] and btc in second.temporary_errors
    assert poller.due_at(btc) == T0 + timedelta(minutes=5, seconds=30)  # retried after min_s
    assert poller.interval_s(XRP) == 450.0  # quiet
    third = await poller.poll_due(T0 + timedelta(minutes=5, seconds=30))
    assert [x.symbol for x in third.readings] == [btc]
    assert poller.interval_s(btc) == 150.0  # open interest +4 %
    assert len(poller.history(XRP)) == 2 and len(poller.history(btc)) == 2
    assert {x.symbol for x in poller.history(btc).readings} == {btc}


# ---------------------------------------------------------------- ccxt over recorded futures payloads


@pytest.fixture
async def futures() -> AsyncIterator[Futures]:
    info = load_json("binance_fapi_exchangeInfo.json")
    polls = json.loads((FIXTURES / "binance_fapi_XRPUSDT_polls.json").read_text())
    funding = load_funding_csv(XRP_FUNDING, XRP).readings
    served = {"premium": 0, "oi": 0, "ls": 0}

    def sequence(key: str, field: str) -> Any:
        def answer(_: dict[str, str]) -> Any:
            served[key] += 1
            return polls[served[key] - 1][field]
        return answer

    def funding_route(params: dict[str, str]) -> list[dict[str, Any]]:
        start, end = int(params.get("startTime", 0)), int(params.get("endTime", 2**62))
        rows = [f for f in funding if start <= int(f.at.timestamp() * 1000) <= end][: int(params.get("limit", 100))]
        return [{"symbol": "XRPUSDT", "fundingTime": round(f.at.timestamp() * 1000),
                 "fundingRate": repr(f.funding_rate), "markPrice": ""} for f in rows]

    replay = BinanceReplay({
        "/fapi/v1/exchangeInfo": lambda _: info,
        "/fapi/v1/premiumIndex": sequence("premium", "premiumIndex"),
        "/fapi/v1/openInterest": sequence("oi", "openInterest"),
        "/futures/data/globalLongShortAccountRatio": sequence("ls", "globalLongShortAccountRatio"),
        "/fapi/v1/fundingRate": funding_route,
    })
    rest = CcxtRest(replay.install(make_exchange("future")))
    yield replay, rest, polls
    await rest.close()


async def test_poller_over_ccxt_adapts_to_recorded_moves(futures: Futures) -> None:
    replay, rest, polls = futures
    poller = DerivativesPoller(rest.fetch_derivatives, [XRP])
    now = datetime(2021, 11, 18, 1, 0, tzinfo=UTC)
    intervals = []
    for _ in polls:
        outcome = await poller.poll_due(now)
        assert outcome.temporary_errors == {} and len(outcome.readings) == 1
        intervals.append(poller.interval_s(XRP))
        now = poller.next_due_at()  # type: ignore[assignment]
    # quiet, quiet, open interest +1.6 % and long/short +6 %, then quiet again
    assert intervals == [300.0, 450.0, 675.0, 337.5, 506.25, 759.375]
    first = poller.history(XRP).readings[0]
    assert first.mark_price == 1.10441 and first.funding_rate == 0.0001
    assert first.open_interest == 301250112.4 and first.long_short_ratio == 2.1034
    assert first.next_funding_at == datetime(2021, 11, 18, 8, tzinfo=UTC)
    ls_calls = [q for p, q in replay.calls if p.endswith("globalLongShortAccountRatio")]
    assert ls_calls[0]["symbol"] == "XRPUSDT" and ls_calls[0]["period"] == "5m"


async def test_funding_history_backfill_pages_and_matches_the_file(
    futures: Futures,
) -> None:
    replay, rest, _ = futures
    history = await rest.fetch_funding_history(
        XRP, int(T0.timestamp() * 1000), int(datetime(2021, 12, 19, tzinfo=UTC).timestamp() * 1000), page_limit=40
    )
    assert replay.count("/fapi/v1/fundingRate") == 3
    expected = load_funding_csv(XRP_FUNDING, XRP).readings
    assert [(r.at, r.funding_rate) for r in history.readings] == [(r.at, r.funding_rate) for r in expected]


async def test_spot_symbols_have_no_derivatives(futures: Futures) -> None:
    _, rest, _ = futures
    with pytest.raises(ConfigError, match="spot symbol"):
        await rest.fetch_derivatives(Symbol("XRP/USDT"))
