"""Each wire fault as unmodified ccxt sees it, and what the venue's ledger says really happened."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from ccxt.base import errors as ccxt_errors

from tests.venue.ccxt_client import client
from venue import FaultRule, Venue, WireFault

PERP = "BTC/USDT:USDT"
ORDER = ("POST /fapi/v1/order",)


def orders_in_ledger(venue: Venue, cid: str) -> int:
    return sum(1 for r in venue.ledger.records if r["kind"] == "order" and r["client_order_id"] == cid)


@pytest.fixture
async def impatient(futures_venue: Venue) -> Any:
    """A client whose requests time out after 0.5 s (the venue holds faulted ones for 1.5 s)."""
    exchange = client("future", futures_venue.url, timeout_ms=500)
    await exchange.load_markets()
    yield exchange
    await exchange.close()


@pytest.mark.parametrize(
    ("rule", "raised", "applied"),
    [
        (FaultRule(kind=WireFault.SERVER_ERROR, paths=ORDER), ccxt_errors.OperationFailed, False),
        (FaultRule(kind=WireFault.SERVER_ERROR, paths=ORDER, status=502, body="html"),
         ccxt_errors.ExchangeNotAvailable, False),
        (FaultRule(kind=WireFault.SERVER_ERROR_AFTER, paths=ORDER), ccxt_errors.OperationFailed, True),
        (FaultRule(kind=WireFault.TIMEOUT_BEFORE_ACCEPT, paths=ORDER, hold_s=1.5), ccxt_errors.RequestTimeout, False),
        (FaultRule(kind=WireFault.TIMEOUT_AFTER_ACCEPT, paths=ORDER, hold_s=1.5), ccxt_errors.RequestTimeout, True),
        (FaultRule(kind=WireFault.RATE_LIMIT, paths=ORDER, retry_after_s=7), ccxt_errors.DDoSProtection, False),
    ],
    ids=["5xx", "502-html", "5xx-after-applied", "timeout-before", "timeout-after-applied", "429"],
)
async def test_an_order_request_meets_a_fault(
    impatient: Any, futures_venue: Venue, rule: FaultRule, raised: type[Exception], applied: bool
) -> None:
    futures_venue.faults.add(rule.model_copy(update={"times": 1}))
    with pytest.raises(raised):
        await impatient.create_order(PERP, "market", "buy", 0.02, params={"newClientOrderId": "tw-1"})
    assert orders_in_ledger(futures_venue, "tw-1") == (1 if applied else 0)
    faults = futures_venue.ledger.since(0, "fault")
    assert [(f["fault"], f["target"]) for f in faults] == [(rule.kind, "POST /fapi/v1/order")]
    if applied:  # the order exists although the client never heard of it: a lookup by client id finds it
        found = await impatient.fetch_order(None, PERP, {"origClientOrderId": "tw-1"})
        assert found["status"] == "closed"
    else:
        with pytest.raises(ccxt_errors.OrderNotFound):
            await impatient.fetch_order(None, PERP, {"origClientOrderId": "tw-1"})


async def test_429_carries_retry_after(impatient: Any, futures_venue: Venue) -> None:
    futures_venue.faults.add(FaultRule(kind=WireFault.RATE_LIMIT, retry_after_s=7, times=1))
    with pytest.raises(ccxt_errors.DDoSProtection, match="429"):
        await impatient.fetch_balance()
    assert {k.lower(): v for k, v in impatient.last_response_headers.items()}["retry-after"] == "7"


async def test_a_ban_answers_418_to_everything_until_it_ends(impatient: Any, futures_venue: Venue) -> None:
    futures_venue.faults.add(FaultRule(kind=WireFault.BAN, retry_after_s=1, times=1))
    with pytest.raises(ccxt_errors.DDoSProtection, match=r"418.*banned until"):
        await impatient.fetch_balance()
    with pytest.raises(ccxt_errors.DDoSProtection, match="418"):
        await impatient.fetch_positions([PERP])
    await asyncio.sleep(1.05)
    assert (await impatient.fetch_balance())["USDT"]["free"] == 10_000


async def test_a_delayed_fill_rests_until_the_next_replay_step(impatient: Any, futures_venue: Venue) -> None:
    futures_venue.faults.add(FaultRule(kind=WireFault.DELAY_FILL, times=1))
    order = await impatient.create_order(PERP, "market", "buy", 0.02)
    assert order["status"] == "open" and order["filled"] == 0
    assert await impatient.fetch_positions([PERP]) == []
    futures_venue.step()
    assert (await impatient.fetch_order(order["id"], PERP))["status"] == "closed"
    assert (await impatient.fetch_positions([PERP]))[0]["contracts"] == 0.02
    assert [f["fault"] for f in futures_venue.ledger.since(0, "fault")] == ["delay_fill"]


async def test_the_weight_limit_answers_429_like_binance(futures_venue: Venue) -> None:
    from venue.weights import Limits, WeightMeter

    futures_venue.http.meter = WeightMeter(Limits.binance("future", weight_per_minute=12))
    exchange = client("future", futures_venue.url)
    try:
        await exchange.load_markets()  # weight 1
        await exchange.fetch_balance()  # 5
        await exchange.fetch_balance()  # 11
        with pytest.raises(ccxt_errors.DDoSProtection, match="-1003"):
            await exchange.fetch_balance()
    finally:
        await exchange.close()


async def test_faults_can_be_set_at_run_time_through_the_admin_endpoint(futures_venue: Venue) -> None:
    async with aiohttp.ClientSession() as http:
        reply = await http.post(f"{futures_venue.url}/_venue/faults",
                                json={"seed": 3, "rules": [{"kind": "server_error", "times": 1}]})
        assert reply.status == 200 and (await reply.json())["config"]["seed"] == 3
        refused = await http.post(f"{futures_venue.url}/_venue/faults", json={"rules": [{"kind": "meteor"}]})
        assert refused.status == 400 and "kind" in (await refused.json())["error"]
        first = await http.get(f"{futures_venue.url}/fapi/v1/time")
        second = await http.get(f"{futures_venue.url}/fapi/v1/time")
        assert (first.status, second.status) == (503, 200)
        added = await http.post(f"{futures_venue.url}/_venue/faults/add", json={"rules": [{"kind": "ban"}]})
        assert [r["kind"] for r in (await added.json())["config"]["rules"]] == ["server_error", "ban"]
        cleared = await http.delete(f"{futures_venue.url}/_venue/faults")
        assert (await cleared.json())["config"]["rules"] == []
        assert (await http.get(f"{futures_venue.url}/fapi/v1/time")).status == 200


async def test_a_venue_bug_is_a_500_and_a_ledger_record_never_a_silent_fault(futures_venue: Venue) -> None:
    from venue.calls import Route, fixed

    def broken(ctx: object, call: object) -> object:
        raise RuntimeError("boom")

    futures_venue.http.table = {**futures_venue.http.table, ("GET", "/fapi/v1/time"): Route(broken, "NONE", fixed(1))}
    async with aiohttp.ClientSession() as http, http.get(f"{futures_venue.url}/fapi/v1/time") as reply:
        assert reply.status == 500
    errors = futures_venue.ledger.since(0, "venue_error")
    assert [(e["target"], e["error"]) for e in errors] == [("GET /fapi/v1/time", "RuntimeError: boom")]
