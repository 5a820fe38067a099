"""Properties: stops never loosen, the exposure cap is never exceeded, REDUCING never adds exposure."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ids import PositionId
from core.settings import RiskSettings, RunMode
from core.types import ExitReason, OrderStatus, OrderType, PositionSide, Signal
from safety.breakers import BreakerState, ExchangeBreaker
from safety.controls import Controls
from safety.guard import Finalize, Place, Update, request_exit
from safety.guard_state import GuardRecord, Observed
from safety.proposals import AdjustStopProposal, CloseProposal, EntryProposal
from safety.rules import is_tighter_or_equal
from safety.verdicts import Approved
from safety.veto import veto
from safety.views import Limits, Portfolio
from tests.safety.builders import ETH, PERP, SPOT, T0, board, market, position
from tests.safety.guard_helpers import order, record, run

STATUSES = [OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.PARTIALLY_FILLED, None]


def _observe(data: st.DataObject, rec: GuardRecord, intents: dict[str, object], price: Decimal) -> Observed:
    orders, unknown = {}, set()
    for cid in rec.referenced():
        status = data.draw(st.sampled_from(STATUSES), label=f"status {cid}")
        if status is None or cid not in intents:
            unknown.add(cid)
            continue
        filled = "0" if status is not OrderStatus.PARTIALLY_FILLED else str(intents[cid].quantity / 2)  # type: ignore[attr-defined]
        orders[cid] = order(intents[cid], status, filled=filled, price=str(price))  # type: ignore[arg-type]
    exchange = data.draw(st.sampled_from([None, "0", str(rec.remaining if rec.remaining > 0 else 0)]), label="xq")
    return Observed(orders, frozenset(unknown), Decimal(exchange) if exchange is not None else None, Decimal(0), price)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    side=st.sampled_from(list(PositionSide)),
    contract=st.booleans(),
    trailing=st.booleans(),
    take_profit=st.booleans(),
)
def test_stops_never_loosen(
    data: st.DataObject, side: PositionSide, contract: bool, trailing: bool, take_profit: bool
) -> None:
    long = side is PositionSide.LONG
    extra: dict[str, object] = {}
    if trailing:
        extra.update(trailing_activation_pct=1.0, trailing_distance_pct=1.5)
    if take_profit:
        extra["take_profit_price"] = Decimal(52000 if long else 48000)
    rec = record(contract, side=side, quantity="0.010", stop="49000" if long else "51000", **extra)
    intents: dict[str, object] = {}
    placed_stops: list[Decimal] = []
    now = T0
    for _ in range(25):
        price = Decimal(data.draw(st.integers(47000, 53000), label="price"))
        now += timedelta(seconds=data.draw(st.integers(0, 30), label="dt"))
        before = rec.position.stop_price
        for action in run(rec, _observe(data, rec, intents, price), now):
            match action:
                case Update():
                    rec = action.record
                case Place():
                    if action.intent.type is OrderType.STOP_MARKET:
                        assert action.intent.stop_price is not None
                        assert all(is_tighter_or_equal(side, action.intent.stop_price, s) for s in placed_stops)
                        placed_stops.append(action.intent.stop_price)
                    ok = data.draw(st.booleans(), label="accepted")
                    rec = action.on_success if ok else action.on_failure
                    intents[action.intent.client_order_id] = action.intent
                case Finalize():
                    return
                case _:
                    pass
            assert is_tighter_or_equal(side, rec.position.stop_price, before)
        if data.draw(st.integers(0, 9), label="agent exit") == 0:
            rec = request_exit(rec, ExitReason.AGENT, None, now)


# ---------------------------------------------------------------- veto properties

sizes = st.floats(min_value=0.01, max_value=200, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    size=sizes,
    held=st.decimals(min_value=0, max_value=3, places=3),
    equity=st.decimals(min_value=100, max_value=1_000_000, places=2),
    exposure_cap=st.floats(min_value=1, max_value=300),
    position_cap=st.floats(min_value=1, max_value=300),
    mode=st.sampled_from(list(RunMode)),
    reduce=st.booleans(),
)
def test_the_exposure_cap_is_never_exceeded(
    size: float, held: Decimal, equity: Decimal, exposure_cap: float, position_cap: float, mode: RunMode, reduce: bool
) -> None:
    risk = RiskSettings(
        max_total_exposure_pct=max(exposure_cap, position_cap),
        max_position_pct=position_cap,
        reduce_oversize_to_cap=reduce,
        max_leverage=10,
    )
    limits = Limits(risk, mode)
    positions = (position(ETH, quantity=held, entry_price=Decimal(3000), stop=Decimal(2900)),) if held > 0 else ()
    book = Portfolio(equity=equity, positions=positions)
    quotes = market()
    proposal = EntryProposal(
        symbol=SPOT,
        side=PositionSide.LONG,
        size_pct=size,
        stop_loss=Decimal(49000),
        signals=(Signal.BREAKOUT,),
        idempotency_key="k",
    )
    verdict = veto(proposal, book, quotes, limits, board(equity), T0)
    if isinstance(verdict, Approved):
        assert verdict.quantity is not None and verdict.reference_price is not None
        after = book.exposure(quotes) + verdict.quantity * verdict.reference_price
        effective = risk.effective_for(mode)
        assert after <= equity * Decimal(repr(effective.max_total_exposure_pct)) / 100
        assert verdict.quantity * verdict.reference_price <= equity * Decimal(repr(effective.max_position_pct)) / 100


reducing_boards = st.sampled_from(
    [
        board(controls=Controls(halted=True, halt_reason="x")),
        board(controls=Controls(sleep_until=T0 + timedelta(hours=1), sleep_reason="x")),
        board(exchange=ExchangeBreaker(state=BreakerState.OPEN)),
        board(exchange=ExchangeBreaker(state=BreakerState.HALF_OPEN)),
        board(trading=board().trading.model_copy(update={"state": BreakerState.OPEN})),
        board(persistence_ok=False),
        board(reconciled_at=None),
    ]
)
proposals = st.one_of(
    st.builds(
        EntryProposal,
        symbol=st.sampled_from([SPOT, PERP, ETH]),
        side=st.sampled_from(list(PositionSide)),
        size_pct=sizes,
        stop_loss=st.decimals(min_value=1000, max_value=100000, places=1),
        signals=st.just((Signal.MOMENTUM,)),
        idempotency_key=st.text(min_size=1, max_size=5),
    ),
    st.builds(CloseProposal, symbol=st.sampled_from([SPOT, ETH]), fraction=st.floats(min_value=0.01, max_value=1)),
    st.builds(
        AdjustStopProposal, symbol=st.just(SPOT), new_stop=st.decimals(min_value=40000, max_value=60000, places=2)
    ),
)


@settings(max_examples=300, deadline=None)
@given(b=reducing_boards, proposal=proposals, held=st.booleans())
def test_reducing_never_adds_exposure(b: object, proposal: object, held: bool) -> None:
    book = Portfolio(equity=Decimal(10000), positions=(position(),) if held else ())
    quotes = market()
    verdict = veto(proposal, book, quotes, Limits(RiskSettings(), RunMode.PAPER), b, T0)  # type: ignore[arg-type]
    if isinstance(verdict, Approved):
        assert not isinstance(verdict.proposal, EntryProposal)
        if isinstance(verdict.proposal, CloseProposal):
            assert verdict.quantity is not None and verdict.quantity <= book.positions[0].quantity


@settings(max_examples=100, deadline=None)
@given(data=st.data(), side=st.sampled_from(list(PositionSide)), contract=st.booleans())
def test_the_guard_only_ever_sends_exits_or_reduce_only_corrections(
    data: st.DataObject, side: PositionSide, contract: bool
) -> None:
    """The guard never opens exposure: every order is on the exit side, or a correction that is
    reduce-only on derivatives (it buys back an overshoot, it never adds to the position)."""
    long = side is PositionSide.LONG
    rec = record(contract, side=side, quantity="0.010", stop="49000" if long else "51000")
    intents: dict[str, object] = {}
    for _ in range(15):
        price = Decimal(data.draw(st.integers(47000, 53000)))
        for action in run(rec, _observe(data, rec, intents, price)):
            if isinstance(action, Place):
                role = action.intent.client_order_id.rsplit("-", 1)[1][0]
                assert action.intent.side is side.exit_side or (role == "c" and action.intent.reduce_only == contract)
                intents[action.intent.client_order_id] = action.intent
                rec = action.on_success if data.draw(st.booleans()) else action.on_failure
            elif isinstance(action, Update):
                rec = action.record
    assert rec.id == PositionId("p0000000001")
