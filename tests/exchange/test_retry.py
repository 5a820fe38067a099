import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.errors import OrderRejected, OutcomeUnknownError, RejectCode, TemporaryError
from core.ids import ClientOrderId, Symbol
from core.types import Order, OrderIntent, OrderStatus, OrderType, Side
from exchange.retry import Retrier, RetryPolicy, create_once

AT = datetime(2024, 1, 1, tzinfo=UTC)
INTENT = OrderIntent(
    client_order_id=ClientOrderId("tw-1"),
    symbol=Symbol("BTC/USDT"),
    side=Side.BUY,
    type=OrderType.LIMIT,
    quantity=Decimal("0.01"),
    price=Decimal("100"),
)


def order_for(intent: OrderIntent) -> Order:
    return Order(intent=intent, exchange_order_id="1", status=OrderStatus.OPEN, created_at=AT, updated_at=AT)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def retrier(policy: RetryPolicy | None = None, seed: int = 1) -> tuple[Retrier, Sleeps]:
    sleeps = Sleeps()
    return Retrier(policy or RetryPolicy(), sleep=sleeps, rng=random.Random(seed)), sleeps


def failing(errors: list[Exception], result: object = "ok"):
    calls = {"n": 0}

    async def call():
        calls["n"] += 1
        if errors:
            raise errors.pop(0)
        return result

    return call, calls


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, base_delay_s=1, cap_delay_s=8, jitter=0.5)
    rng = random.Random(3)
    delays = [policy.delay_s(n, TemporaryError("x"), rng) for n in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(ceiling / 2 <= d <= ceiling for d, ceiling in zip(delays, ceilings, strict=True))
    assert delays != ceilings  # jitter moved them


def test_same_seed_same_delays() -> None:
    first = [RetryPolicy().delay_s(n, TemporaryError("x"), random.Random(9)) for n in range(4)]
    second = [RetryPolicy().delay_s(n, TemporaryError("x"), random.Random(9)) for n in range(4)]
    assert first == second


def test_retry_after_is_a_floor_and_a_long_one_is_raised() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_retry_after_s=30)
    assert policy.delay_s(0, TemporaryError("429", retry_after_s=7), random.Random(1)) == 7
    too_long = TemporaryError("429", retry_after_s=120)
    with pytest.raises(TemporaryError) as raised:
        policy.delay_s(0, too_long, random.Random(1))
    assert raised.value is too_long


async def test_run_retries_temporary_errors_then_succeeds() -> None:
    r, sleeps = retrier()
    call, calls = failing([TemporaryError("503"), TemporaryError("429", retry_after_s=2)])
    assert await r.run(call, "fetch") == "ok"
    assert calls["n"] == 3
    assert len(sleeps.delays) == 2 and sleeps.delays[1] >= 2
    assert r.slept_s == pytest.approx(sum(sleeps.delays))


async def test_run_gives_up_after_max_retries_with_the_last_error() -> None:
    r, sleeps = retrier(RetryPolicy(max_retries=2))
    last = TemporaryError("third")
    call, calls = failing([TemporaryError("first"), TemporaryError("second"), last])
    with pytest.raises(TemporaryError) as raised:
        await r.run(call, "fetch")
    assert raised.value is last and calls["n"] == 3 and len(sleeps.delays) == 2


async def test_run_does_not_retry_rejections() -> None:
    r, sleeps = retrier()
    call, calls = failing([OrderRejected("insufficient_funds", "no")])
    with pytest.raises(OrderRejected):
        await r.run(call, "create")
    assert calls["n"] == 1 and sleeps.delays == []


async def test_create_looks_up_after_an_unknown_outcome_and_never_resends_a_found_order() -> None:
    r, _ = retrier()
    sent: list[OrderIntent] = []
    looked_up = {"n": 0}

    async def send() -> Order:
        sent.append(INTENT)
        raise OutcomeUnknownError("timeout after send")

    async def lookup() -> Order | None:
        looked_up["n"] += 1
        return order_for(INTENT)

    order = await create_once(r, INTENT, send=send, lookup=lookup)
    assert order.client_order_id == "tw-1"
    assert len(sent) == 1 and looked_up["n"] == 1


async def test_create_resends_when_the_lookup_finds_nothing() -> None:
    r, _ = retrier()
    outcomes: list[Exception | None] = [OutcomeUnknownError("timeout before send"), None]

    async def send() -> Order:
        outcome = outcomes.pop(0)
        if outcome:
            raise outcome
        return order_for(INTENT)

    async def lookup() -> Order | None:
        return None

    assert (await create_once(r, INTENT, send=send, lookup=lookup)).client_order_id == "tw-1"
    assert outcomes == []


async def test_create_raises_outcome_unknown_when_retries_run_out_after_an_unknown_outcome() -> None:
    r, _ = retrier(RetryPolicy(max_retries=1))
    errors: list[Exception] = [OutcomeUnknownError("timeout"), TemporaryError("503 on lookup")]

    async def send() -> Order:
        raise errors.pop(0)

    async def lookup() -> Order | None:
        raise errors.pop(0)

    with pytest.raises(OutcomeUnknownError):
        await create_once(r, INTENT, send=send, lookup=lookup)


async def test_duplicate_client_id_returns_the_existing_order_with_the_same_terms() -> None:
    r, _ = retrier()

    async def send() -> Order:
        raise OrderRejected(RejectCode.DUPLICATE_CLIENT_ORDER_ID, "Duplicate order sent.")

    async def same() -> Order | None:
        return order_for(INTENT)

    async def different() -> Order | None:
        return order_for(INTENT.model_copy(update={"quantity": Decimal("0.02")}))

    assert (await create_once(r, INTENT, send=send, lookup=same)).intent == INTENT
    with pytest.raises(OrderRejected, match="different order") as raised:
        await create_once(r, INTENT, send=send, lookup=different)
    assert raised.value.code == RejectCode.DUPLICATE_CLIENT_ORDER_ID


def test_policy_validates_itself() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(base_delay_s=2, cap_delay_s=1)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.0)
