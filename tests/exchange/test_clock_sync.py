"""The exchange's clock (issue 16, item 7).

Binance refuses a signed request whose ``timestamp`` is more than 1,000 ms ahead of its clock or older than
``recvWindow`` (ccxt sends 10,000 ms): -1021, and the request is not processed. ccxt raises
``InvalidNonce``, a ``NetworkError``, so -1021 was taken for an unknown outcome and retried four times with
the same skew. Now the offset is measured at start-up and every 30 minutes through the injected clock, and a
-1021 re-measures and retries once, as a known rejection (no lookup, no unknown outcome).
"""

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import OperationalError
from core.ids import ClientOrderId, Symbol
from core.types import OrderType
from exchange.clock_sync import ClockOffset
from tests.exchange.ccxtkit import ccxt_rig
from tests.exchange.simkit import intent

BTC = Symbol("BTC/USDT")


async def test_a_host_clock_ahead_of_binance_is_measured_at_start_up_and_signs_on_binances_time() -> None:
    """-1021 when ``timestamp`` is more than 1,000 ms ahead of Binance's clock: sign with Binance's time."""
    rig = ccxt_rig("spot")
    rig.fake.server_offset_ms = -2_500  # our clock runs 2.5 s ahead: Binance refuses anything > 1 s ahead
    await rig.broker.check_access()
    assert rig.broker.clock_offset_ms == -2_500
    assert [r.path for r in rig.fake.requests][:2] == ["/api/v3/time", "/api/v3/exchangeInfo"]
    signed = rig.fake.sent("GET", "/api/v3/account")[-1]
    assert int(signed.params["timestamp"]) == int(rig.clock.now().timestamp() * 1000) - 2_500


async def test_a_1021_measures_the_offset_again_and_sends_the_order_once_more_without_a_lookup() -> None:
    """A -1021 request was not processed (known rejection): re-measure, resend once, nothing to look up."""
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.check_access()
    rig.fake.server_offset_ms = 15_000  # Binance's clock jumped: our timestamps are now outside recvWindow
    order = await rig.broker.create_order(
        intent("tw-p1-e0", order_type=OrderType.LIMIT, quantity="0.01", price="39000")
    )
    assert order.client_order_id == "tw-p1-e0" and rig.broker.clock_offset_ms == 15_000
    assert len(rig.fake.sent("POST", "/api/v3/order")) == 2  # refused once (-1021), then accepted
    assert not rig.fake.sent("GET", "/api/v3/order")  # a known rejection: nothing to look up
    assert len(rig.venue.orders_with_client_id(ClientOrderId("tw-p1-e0"))) == 1
    assert len(rig.fake.sent("GET", "/api/v3/time")) == 2


async def test_a_1021_that_survives_a_resync_is_an_operational_error_not_an_unknown_outcome() -> None:
    """A second -1021 means the host clock itself is wrong: a human must look (NTP), no retry loop."""
    rig = ccxt_rig("spot")
    rig.venue.on_price("40000", symbol=BTC)
    await rig.broker.check_access()
    rig.fake.server_offset_ms, rig.fake.time_endpoint_error_ms = 15_000, -15_000
    with pytest.raises(OperationalError, match="refused the request timestamp again") as raised:
        await rig.broker.create_order(intent("tw-p1-e0", order_type=OrderType.LIMIT, quantity="0.01", price="39000"))
    assert "NTP" in str(raised.value)
    assert len(rig.fake.sent("POST", "/api/v3/order")) == 2 and not rig.fake.sent("GET", "/api/v3/order")
    assert rig.venue.all_orders() == []


async def test_the_offset_is_measured_again_every_30_minutes_of_the_injected_clock() -> None:
    """Clocks drift: ``GET /fapi/v1/time`` again every 30 minutes, timed by the injected clock."""
    rig = ccxt_rig("future")
    await rig.broker.check_access()
    await rig.broker.fetch_balance()
    assert len(rig.fake.sent("GET", "/fapi/v1/time")) == 1
    rig.fake.server_offset_ms = 400  # drift within the window: not refused, but measured at the next resync
    rig.clock.advance_by(29 * 60)
    await rig.broker.fetch_balance()
    assert len(rig.fake.sent("GET", "/fapi/v1/time")) == 1
    rig.clock.advance_by(60)
    await rig.broker.fetch_balance()
    assert len(rig.fake.sent("GET", "/fapi/v1/time")) == 2 and rig.broker.clock_offset_ms == 400


def test_the_offset_reads_the_servers_clock_at_the_middle_of_the_round_trip() -> None:
    """``serverTime`` is read during the request: about halfway through the round trip."""
    offset = ClockOffset()
    sent = datetime(2026, 1, 1, tzinfo=UTC)
    assert offset.due(sent)
    server_ms = int(sent.timestamp() * 1000) + 1_000 + 50  # read 50 ms into a 100 ms round trip, 1 s ahead
    received = sent + timedelta(milliseconds=100)
    assert offset.record(server_ms, sent, received) == 1_000
    assert not offset.due(received + timedelta(minutes=29)) and offset.due(received + timedelta(minutes=30))
    assert offset.exchange_ms(sent) == int(sent.timestamp() * 1000) + 1_000


async def test_a_wait_for_the_request_budget_is_not_taken_for_network_time() -> None:
    """The round trip starts when the time request leaves, not when it asks the budget: waiting for the next
    weight window (here a full one) before ``GET time`` must not move the offset (a 60 s wait read as a 30 s
    lead would sign every request 30 s ahead: -1021 on each)."""
    rig = ccxt_rig("spot")
    rig.fake.server_offset_ms = 700
    rig.broker.budget.observe({"weight_1m": 5_990})  # the IP's minute is spent: even protective calls wait
    await rig.broker.check_access()
    assert rig.slept == [60.0] and rig.broker.clock_offset_ms == 700
    assert len(rig.fake.sent("GET", "/api/v3/time")) == 1, "measured right the first time: no -1021, no resync"
