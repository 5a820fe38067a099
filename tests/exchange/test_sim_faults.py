"""Fault injection: the client behaviour every broker must show when the wire or the venue misbehaves."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import OrderRejected, OutcomeUnknownError, TemporaryError
from core.ids import ClientOrderId
from core.types import OrderStatus, OrderType, Side
from exchange.retry import RetryPolicy
from exchange.sim import Fault, FaultKind, FaultPlan, MarketFill, Op, SimBroker
from tests.conftest import LONG_TESTS
from tests.exchange.simkit import FUT_BTC, SPOT_BTC, futures_venue, intent, spot_venue

CID = ClientOrderId("tw-1")


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.mark.parametrize(
    "kind",
    [FaultKind.TIMEOUT_AFTER_ACCEPT, FaultKind.TIMEOUT_BEFORE_ACCEPT, FaultKind.SERVER_ERROR, FaultKind.DISCONNECT],
)
async def test_no_duplicate_order_after_an_unknown_outcome(kind: FaultKind) -> None:
    venue = spot_venue(market_fill=MarketFill.IMMEDIATE)
    plan = FaultPlan.scripted([Fault(kind, op=Op.CREATE_ORDER)])
    broker = SimBroker(venue, faults=plan)
    venue.on_price("40000")
    order = await broker.create_order(intent("tw-1", quantity="0.1"))
    assert order.client_order_id == CID and order.status is OrderStatus.FILLED
    assert len(venue.orders_with_client_id(CID)) == 1  # never a second order
    assert [f.fault.kind for f in plan.fired] == [kind]
    assert venue.balances()["BTC"].total == D("0.0999")  # one buy of 0.1, its 0.1 % fee taken in BTC


async def test_a_timeout_after_accept_on_every_attempt_still_makes_one_order() -> None:
    venue = spot_venue()
    plan = FaultPlan.scripted([Fault(FaultKind.TIMEOUT_AFTER_ACCEPT, op=Op.CREATE_ORDER, times=3)])
    venue.on_price("40000")
    order = await SimBroker(venue, faults=plan).create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    assert order.status is OrderStatus.OPEN and len(venue.all_orders()) == 1


async def test_without_retries_the_raw_unknown_outcome_reaches_the_caller_and_the_order_exists() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    plan = FaultPlan.scripted([Fault(FaultKind.TIMEOUT_AFTER_ACCEPT, op=Op.CREATE_ORDER)])
    broker = SimBroker(venue, faults=plan, retry=RetryPolicy(max_retries=0))
    with pytest.raises(OutcomeUnknownError):
        await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    assert (await broker.fetch_order(CID, SPOT_BTC)).status is OrderStatus.OPEN  # reconcile by client id


async def test_an_unknown_outcome_that_outlasts_the_retries_is_raised_not_guessed() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    plan = FaultPlan.scripted([Fault(FaultKind.TIMEOUT_BEFORE_ACCEPT, times=10)])
    broker = SimBroker(venue, faults=plan, retry=RetryPolicy(max_retries=2))
    with pytest.raises(OutcomeUnknownError):
        await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    assert venue.all_orders() == []


async def test_rate_limits_are_retried_after_the_servers_retry_after() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    sleeps = Sleeps()
    plan = FaultPlan.scripted([Fault(FaultKind.RATE_LIMIT, op=Op.FETCH_BALANCE, retry_after_s=7, times=2)])
    balances = await SimBroker(venue, faults=plan, sleep=sleeps).fetch_balance()
    assert balances["USDT"].free == D(10_000)
    assert len(sleeps.delays) == 2 and min(sleeps.delays) >= 7


async def test_without_retries_a_rate_limit_reaches_the_caller_with_its_retry_after() -> None:
    venue = spot_venue()
    plan = FaultPlan.scripted([Fault(FaultKind.RATE_LIMIT, retry_after_s=3)])
    with pytest.raises(TemporaryError) as raised:
        await SimBroker(venue, faults=plan, retry=RetryPolicy(max_retries=0)).fetch_open_orders()
    assert raised.value.retry_after_s == 3


async def test_an_injected_rejection_is_reported_with_its_code_and_not_retried() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    plan = FaultPlan.scripted([Fault(FaultKind.REJECT, op=Op.CREATE_ORDER, code="insufficient_funds")])
    with pytest.raises(OrderRejected) as raised:
        await SimBroker(venue, faults=plan).create_order(intent("tw-1"))
    assert raised.value.code == "insufficient_funds" and venue.all_orders() == []


async def test_a_cancel_racing_a_fill_reports_the_fill() -> None:
    venue = futures_venue(market_fill=MarketFill.IMMEDIATE)
    broker = SimBroker(venue, faults=FaultPlan.scripted([Fault(FaultKind.FILL_DURING_CANCEL)]))
    venue.on_price("40000")
    await broker.create_order(intent("tw-1", quantity="0.1", symbol=FUT_BTC))
    stop = intent("tw-sl", Side.SELL, OrderType.STOP_MARKET, "0.1", symbol=FUT_BTC, stop="39000", reduce_only=True)
    await broker.create_order(stop)
    order = await broker.cancel_order(ClientOrderId("tw-sl"), FUT_BTC)
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D("0.1")
    assert await broker.fetch_positions() == []


async def test_a_cancel_whose_answer_is_lost_is_retried_and_reports_cancelled() -> None:
    venue = spot_venue()
    venue.on_price("40000")
    plan = FaultPlan.scripted([Fault(FaultKind.TIMEOUT_AFTER_ACCEPT, op=Op.CANCEL_ORDER)])
    broker = SimBroker(venue, faults=plan)
    await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    order = await broker.cancel_order(CID, SPOT_BTC)
    assert order.status is OrderStatus.CANCELED and len(plan.fired) == 1


async def test_stale_status_answers_the_previous_state_once() -> None:
    venue = spot_venue()
    plan = FaultPlan.scripted([Fault(FaultKind.STALE_STATUS, op=Op.FETCH_ORDER, client_order_id="tw-1")])
    broker = SimBroker(venue, faults=plan)
    venue.on_price("40000")
    await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    venue.on_price("38000")  # fills
    stale = await broker.fetch_order(CID, SPOT_BTC)
    fresh = await broker.fetch_order(CID, SPOT_BTC)
    assert (stale.status, fresh.status) == (OrderStatus.OPEN, OrderStatus.FILLED)


async def test_stale_open_orders_still_list_a_filled_order_once() -> None:
    venue = spot_venue()
    plan = FaultPlan.scripted([Fault(FaultKind.STALE_STATUS, op=Op.FETCH_OPEN_ORDERS)])
    broker = SimBroker(venue, faults=plan)
    venue.on_price("40000")
    await broker.create_order(intent("tw-1", order_type=OrderType.LIMIT, price="39000"))
    venue.on_price("38000")
    assert [o.client_order_id for o in await broker.fetch_open_orders()] == ["tw-1"]
    assert await broker.fetch_open_orders() == []


async def test_a_disconnect_on_reads_is_retried() -> None:
    venue = spot_venue()
    plan = FaultPlan.scripted([Fault(FaultKind.DISCONNECT, times=2)])
    assert await SimBroker(venue, faults=plan).fetch_positions() == []
    assert [f.op for f in plan.fired] == [Op.FETCH_POSITIONS, Op.FETCH_POSITIONS]


def test_faults_that_cannot_happen_on_an_operation_are_refused() -> None:
    with pytest.raises(ValueError):
        Fault(FaultKind.FILL_DURING_CANCEL, op=Op.CREATE_ORDER)
    with pytest.raises(ValueError):
        FaultPlan.random(1, {FaultKind.SERVER_ERROR: 0.7, FaultKind.RATE_LIMIT: 0.7})


async def run_schedule(seed: int) -> tuple[list[object], list[object], list[object]]:
    """A short trading schedule under random faults; returns what happened, for comparison."""
    rates = {kind: 0.06 for kind in FaultKind}
    plan = FaultPlan.random(seed, rates)
    venue = futures_venue(market_fill=MarketFill.IMMEDIATE, default_leverage=5)
    broker = SimBroker(venue, faults=plan, retry=RetryPolicy(max_retries=6), seed=seed)
    prices = [40000 + 37 * ((seed + i * 7919) % 101 - 50) for i in range(40)]
    venue.on_price(prices[0])
    for i, price in enumerate(prices[1:], start=1):
        cid = f"tw-{i}"
        side = Side.BUY if i % 2 else Side.SELL
        try:
            await broker.create_order(intent(cid, side, quantity="0.01", symbol=FUT_BTC))
            stop = intent(
                f"{cid}-sl",
                side.opposite,
                OrderType.STOP_MARKET,
                "0.01",
                symbol=FUT_BTC,
                stop=str(price - 500 if side is Side.BUY else price + 500),
                reduce_only=True,
            )
            await broker.create_order(stop)
            await broker.fetch_order(ClientOrderId(f"{cid}-sl"), FUT_BTC)
            await broker.cancel_order(ClientOrderId(f"{cid}-sl"), FUT_BTC)
        except (OrderRejected, TemporaryError):
            pass  # the schedule goes on; the invariants below must hold whatever failed
        venue.on_price(price)
    for order in venue.all_orders():
        assert len(venue.orders_with_client_id(order.client_order_id)) == 1
    return [f.fault.kind for f in plan.fired], venue.all_orders(), venue.fills()


async def test_same_seed_same_faults_same_result() -> None:
    first = await run_schedule(11)
    assert first == await run_schedule(11)
    assert first[0], "the schedule should have drawn some faults"
    assert first[0] != (await run_schedule(12))[0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
async def test_random_faults_never_make_two_orders_for_one_client_id(seed: int) -> None:
    await run_schedule(seed)


@pytest.mark.slow
@pytest.mark.skipif(not LONG_TESTS, reason="set TRADEWAKE_LONG_TESTS=1")
async def test_a_thousand_random_fault_schedules_never_duplicate_an_order() -> None:
    for seed in range(1000):
        await run_schedule(seed)
