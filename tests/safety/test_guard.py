"""Every step of the guard's plan, on plain values (no exchange, no store)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.ids import ClientOrderId
from core.settings import RiskSettings
from core.types import ExitReason, OrderIntent, OrderStatus, OrderType, PositionSide
from safety.guard import Cancel, Finalize, Update, Warn, request_exit
from safety.guard_state import ExitOrder
from tests.safety.builders import T0
from tests.safety.guard_helpers import observed, order, placed, record, run, settle, stop_order

S1 = "tw-p0000000001-s1"


def protected(contract: bool = False, **kw: object) -> tuple:  # type: ignore[type-arg]
    """A record with a live stop S1 at 49000, already seen protected."""
    rec = record(contract, **kw)  # type: ignore[arg-type]
    rec = rec.model_copy(
        update={"seq": 1, "protected_at": T0, "position": rec.position.model_copy(update={"stop_order_id": S1})}
    )
    return rec, stop_order(rec, S1, str(rec.position.stop_price))


# ---------------------------------------------------------------- b. protection


def test_missing_stop_is_placed_at_the_desired_level() -> None:
    rec = record()
    place = placed(run(rec, observed("50000")))
    assert place.intent.type is OrderType.STOP_MARKET
    assert place.intent.stop_price == Decimal(49000) and place.intent.quantity == Decimal("0.02")
    assert place.intent.side.value == "sell" and not place.intent.reduce_only
    assert place.on_success.position.stop_order_id == S1 and place.on_success.seq == 1
    assert place.on_failure.stop_failures == 1 and place.on_failure.position.stop_order_id is None


def test_futures_stops_are_reduce_only_and_shorts_buy() -> None:
    rec = record(contract=True, side=PositionSide.SHORT, stop="51000", quantity="0.01")
    place = placed(run(rec, observed("50000", exchange="0.01")))
    assert place.intent.reduce_only and place.intent.side.value == "buy"


def test_price_already_through_the_stop_exits_at_market() -> None:
    rec = record()
    actions = run(rec, observed("48900"))
    assert isinstance(actions[0], Update) and actions[0].record.exit_request is not None
    assert actions[0].record.exit_request.reason is ExitReason.STOP_LOSS
    place = placed(run(actions[0].record, observed("48900")))
    assert place.intent.type is OrderType.MARKET and place.intent.quantity == Decimal("0.02")


def test_live_matching_stop_is_left_alone_after_it_is_seen_once() -> None:
    rec, stop = protected()
    fresh = rec.model_copy(update={"protected_at": None})
    first = run(fresh, observed("50000", stop))
    assert isinstance(first[0], Update) and first[0].record.protected_at == T0
    assert run(rec, observed("50000", stop)) == []


def test_cancelled_or_unknown_stop_is_replaced() -> None:
    rec, _stop = protected()
    cancelled = stop_order(rec, S1, "49000", status=OrderStatus.CANCELED)
    rec2, actions = settle(rec, observed("50000", cancelled))
    assert rec2.position.stop_order_id is None
    assert placed(actions).intent.client_order_id == "tw-p0000000001-s2"
    _, actions = settle(rec, observed("50000", unknown=(S1,)))
    assert placed(actions).intent.stop_price == Decimal(49000)


def test_a_tighter_live_stop_on_the_exchange_is_adopted_not_loosened() -> None:
    """A stop tightened before a crash that lost the save: the record follows the exchange up, never down."""
    rec, _stop = protected()
    tighter_live = stop_order(rec, S1, "49500")
    actions = run(rec, observed("50000", tighter_live))
    assert [type(a) for a in actions] == [Update]
    assert actions[0].record.position.stop_price == Decimal(49500)  # type: ignore[union-attr]
    assert run(actions[0].record, observed("50000", tighter_live)) == []  # type: ignore[union-attr]
    short, _ = protected(side=PositionSide.SHORT, stop="51000")
    adopted = run(short, observed("50000", stop_order(short, S1, "50600")))
    assert adopted[0].record.position.stop_price == Decimal(50600)  # type: ignore[union-attr]


def test_a_looser_live_stop_is_replaced_at_the_desired_level() -> None:
    rec, _stop = protected()  # spot: the stop locks the balance, so cancel first
    _, actions = settle(rec, observed("50000", stop_order(rec, S1, "48500")))
    assert [(type(a), a.order_id) for a in actions] == [(Cancel, S1)]  # type: ignore[union-attr]
    perp, _ = protected(contract=True, quantity="0.01")  # futures: the new stop goes in before the old leaves
    _, actions = settle(perp, observed("50000", stop_order(perp, S1, "48500"), exchange="0.01"))
    assert placed(actions).intent.stop_price == Decimal(49000)


def test_repeated_stop_failures_fall_back_to_a_market_exit() -> None:
    rec = record().model_copy(update={"stop_failures": 3})
    actions = run(rec, observed("50000"))
    assert any(isinstance(a, Warn) and a.kind == "unprotected_position" for a in actions)
    update = next(a for a in actions if isinstance(a, Update))
    assert update.record.exit_request is not None and update.record.exit_request.reason is ExitReason.WATCHDOG


# ---------------------------------------------------------------- a. terminal detection


def test_filled_stop_is_finalized_and_the_take_profit_cancelled() -> None:
    rec, _ = protected(contract=True, take_profit_price=Decimal(53000))
    tp_id = ClientOrderId("tw-p0000000001-t2")
    rec = rec.model_copy(update={"position": rec.position.model_copy(update={"take_profit_order_id": tp_id})})
    filled = stop_order(rec, S1, "49000", status=OrderStatus.FILLED, price="48990")
    tp = order(
        OrderIntent(
            client_order_id=tp_id,
            symbol=rec.symbol,
            side=rec.side.exit_side,
            type=OrderType.TAKE_PROFIT,
            quantity=Decimal("0.01"),
            stop_price=Decimal(53000),
            reduce_only=True,
        )
    )
    obs = observed("48900", filled, tp, exchange="0")
    _booked, actions = settle(rec, obs)
    assert len(actions) == 1 and isinstance(actions[0], Finalize)
    final = actions[0]
    assert final.cancel == (tp_id,)
    assert final.trade.exit_reason is ExitReason.STOP_LOSS
    assert final.trade.exit_price == Decimal(48990)
    assert final.trade.gross_pnl == Decimal("-20.20")
    assert final.trade.r_multiple is not None and abs(final.trade.r_multiple + 1.01) < 1e-9


def test_a_filled_stop_is_finalized_before_anything_else() -> None:
    """Even with price through the stop and an exit requested, booking and finalizing come first."""
    rec, _ = protected()
    rec = request_exit(rec, ExitReason.AGENT, None, T0)
    filled = stop_order(rec, S1, "49000", status=OrderStatus.FILLED)
    actions = run(rec, observed("40000", filled, exchange="0"))
    assert [type(a) for a in actions] == [Update]
    assert run(actions[0].record, observed("40000", filled, exchange="0"))[-1].__class__ is Finalize


def test_vanished_position_is_closed_externally() -> None:
    rec, stop = protected()
    actions = run(rec, observed("50500", stop, exchange="0"))
    assert isinstance(actions[0], Warn) and actions[0].kind == "position_vanished"
    final = actions[1]
    assert isinstance(final, Finalize) and final.trade.exit_reason is ExitReason.CLOSED_EXTERNALLY
    assert final.cancel == (S1,) and final.trade.exit_price == Decimal(50500)


def test_unknown_exchange_quantity_is_not_read_as_vanished() -> None:
    rec, stop = protected()
    assert run(rec, observed("50500", stop, exchange=None)) == []


# ---------------------------------------------------------------- c. break-even after take-profit 1


def test_take_profit_order_is_placed_on_futures_for_the_first_share() -> None:
    rec, stop = protected(contract=True, take_profit_price=Decimal(53000), quantity="0.010")
    place = placed(run(rec, observed("50000", stop, exchange="0.01")))
    assert place.intent.type is OrderType.TAKE_PROFIT and place.intent.quantity == Decimal("0.005")
    assert place.intent.reduce_only and place.on_success.position.take_profit_order_id == "tw-p0000000001-t2"


def test_take_profit_1_moves_the_stop_to_break_even_placing_before_cancelling() -> None:
    rec, stop = protected(contract=True, take_profit_price=Decimal(53000), quantity="0.010")
    tp_id = ClientOrderId("tw-p0000000001-t2")
    rec = rec.model_copy(update={"seq": 2, "position": rec.position.model_copy(update={"take_profit_order_id": tp_id})})
    tp = order(
        OrderIntent(
            client_order_id=tp_id,
            symbol=rec.symbol,
            side=rec.side.exit_side,
            type=OrderType.TAKE_PROFIT,
            quantity=Decimal("0.005"),
            stop_price=Decimal(53000),
            reduce_only=True,
        ),
        status=OrderStatus.FILLED,
        price="53000",
    )
    rec2, actions = settle(rec, observed("53100", stop, tp, exchange="0.005"))
    assert rec2.position.break_even_done and rec2.position.stop_price == Decimal("50050.0")
    assert rec2.position.quantity == Decimal("0.005")
    place = placed(actions)
    assert place.intent.stop_price == Decimal("50050.0") and place.intent.quantity == Decimal("0.005")
    assert S1 in place.on_success.retired, "old stop retired only after the new one is placed"
    new_stop = stop_order(place.on_success, "tw-p0000000001-s3", "50050.0")
    _rec3, actions = settle(place.on_success, observed("53100", stop, new_stop, exchange="0.005"))
    assert actions == [Cancel(ClientOrderId(S1), rec.symbol, "replaced by the live stop/take-profit")]


def test_spot_break_even_cancels_first_then_places() -> None:
    rec, stop = protected(take_profit_price=Decimal(52000))
    rec2, actions = settle(rec, observed("52100", stop))
    assert rec2.exit_request is not None and rec2.exit_request.reason is ExitReason.TAKE_PROFIT
    assert rec2.exit_request.target_remaining == Decimal("0.01")
    assert actions == [Cancel(ClientOrderId(S1), rec.symbol, "exit (take_profit): clear protective orders first")]
    cancelled = stop_order(rec, S1, "49000", status=OrderStatus.CANCELED)
    _rec3, actions = settle(rec2, observed("52100", cancelled))
    exit_place = placed(actions)
    assert exit_place.intent.type is OrderType.MARKET and exit_place.intent.quantity == Decimal("0.01")
    sold = order(exit_place.intent, OrderStatus.FILLED, price="52090")
    rec4, actions = settle(exit_place.on_success, observed("52100", cancelled, sold, exchange="0.01"))
    assert rec4.exit_request is None and rec4.position.break_even_done
    place = placed(actions)
    assert place.intent.type is OrderType.STOP_MARKET and place.intent.stop_price == Decimal("50050.00")
    assert place.intent.quantity == Decimal("0.01")


def test_break_even_through_price_exits_instead() -> None:
    rec, stop = protected(contract=True, take_profit_price=Decimal(53000), quantity="0.010")
    rec = rec.model_copy(update={"position": rec.position.model_copy(update={"break_even_done": False})})
    tp_id = ClientOrderId("tw-p0000000001-t2")
    tp = order(
        OrderIntent(
            client_order_id=tp_id,
            symbol=rec.symbol,
            side=rec.side.exit_side,
            type=OrderType.TAKE_PROFIT,
            quantity=Decimal("0.005"),
            stop_price=Decimal(53000),
            reduce_only=True,
        ),
        status=OrderStatus.FILLED,
        price="53000",
    )
    rec = rec.model_copy(update={"position": rec.position.model_copy(update={"take_profit_order_id": tp_id})})
    rec2, _ = settle(rec, observed("49900", stop, tp, exchange="0.005"))
    assert rec2.exit_request is not None and rec2.exit_request.reason is ExitReason.STOP_LOSS


# ---------------------------------------------------------------- d. trailing


def test_trailing_waits_for_activation_then_only_tightens() -> None:
    rec, stop = protected(contract=True, trailing_activation_pct=2.0, trailing_distance_pct=1.0)
    below, _ = settle(rec, observed("50900", stop))
    assert below.position.stop_price == Decimal(49000) and below.best_price == Decimal(50900)
    active, actions = settle(below, observed("51500", stop))
    assert active.position.stop_price == Decimal("50985.0") and active.trailed
    assert placed(actions).intent.stop_price == Decimal("50985.0")
    back, _ = settle(active, observed("51200", stop))
    assert back.position.stop_price == Decimal("50985.0"), "a pullback never loosens the trail"


def test_trailing_moves_in_steps_not_every_tick() -> None:
    rec, stop = protected(contract=True, trailing_activation_pct=1.0, trailing_distance_pct=1.0)
    rec = rec.model_copy(
        update={
            "position": rec.position.model_copy(update={"stop_price": Decimal("50490.0")}),
            "best_price": Decimal(51000),
            "trailed": True,
        }
    )
    small, _ = settle(rec, observed("51010", stop))
    assert small.position.stop_price == Decimal("50490.0")


def test_stopped_by_trailing_is_reported_as_such() -> None:
    rec, _ = protected(contract=True)
    rec = rec.model_copy(update={"trailed": True})
    filled = stop_order(rec, S1, "49000", status=OrderStatus.FILLED)
    _, actions = settle(rec, observed("48000", filled, exchange="0"))
    assert isinstance(actions[-1], Finalize) and actions[-1].trade.exit_reason is ExitReason.TRAILING_STOP


# ---------------------------------------------------------------- e. watchdog


def test_watchdog_waits_for_grace_then_cancels_verifies_and_exits() -> None:
    rec, stop = protected()
    seen, actions = settle(rec, observed("48800", stop))
    assert seen.breach_seen_at == T0 and actions == []
    later = T0 + timedelta(seconds=10)
    asked, actions = settle(seen, observed("48800", stop), now=later)
    assert asked.exit_request is not None and asked.exit_request.reason is ExitReason.WATCHDOG
    assert [type(a) for a in actions] == [Cancel]
    cancelled = stop_order(rec, S1, "49000", status=OrderStatus.CANCELED)
    _cleared, actions = settle(asked, observed("48800", cancelled), now=later)
    market = placed(actions)
    assert market.intent.type is OrderType.MARKET and market.intent.quantity == Decimal("0.02")
    sold = order(market.intent, OrderStatus.FILLED, price="48790")
    _, actions = settle(market.on_success, observed("48800", cancelled, sold, exchange="0"), now=later)
    assert isinstance(actions[-1], Finalize) and actions[-1].trade.exit_reason is ExitReason.WATCHDOG


def test_watchdog_finalizes_as_stop_when_the_cancel_finds_it_filled() -> None:
    rec, _ = protected()
    asked = request_exit(rec, ExitReason.WATCHDOG, None, T0)
    filled = stop_order(rec, S1, "49000", status=OrderStatus.FILLED, price="48950")
    _, actions = settle(asked, observed("48800", filled, exchange="0"))
    assert isinstance(actions[-1], Finalize) and actions[-1].trade.exit_reason is ExitReason.STOP_LOSS
    assert not any(isinstance(a, type(placed)) for a in actions)


def test_breach_clears_when_price_recovers() -> None:
    rec, stop = protected()
    seen = rec.model_copy(update={"breach_seen_at": T0})
    cleared, _ = settle(seen, observed("49500", stop))
    assert cleared.breach_seen_at is None


def test_post_market_verify_corrects_a_double_fill() -> None:
    rec, _ = protected(contract=True, quantity="0.010")
    exit_id = ClientOrderId("tw-p0000000001-x2")
    rec = rec.model_copy(update={"seq": 2, "exits": (ExitOrder(order_id=exit_id, reason=ExitReason.WATCHDOG),)})
    stop = stop_order(rec, S1, "49000", status=OrderStatus.FILLED, price="48990")
    sell = order(
        OrderIntent(
            client_order_id=exit_id,
            symbol=rec.symbol,
            side=rec.side.exit_side,
            type=OrderType.MARKET,
            quantity=Decimal("0.010"),
        ),
        OrderStatus.FILLED,
        price="48900",
    )
    booked, actions = settle(rec, observed("48900", stop, sell, exchange="0", opposite="0.010"))
    assert booked.remaining == Decimal("-0.010")
    fix = placed(actions)
    assert fix.intent.side.value == "buy" and fix.intent.quantity == Decimal("0.010") and fix.intent.reduce_only
    bought = order(fix.intent, OrderStatus.FILLED, price="48950")
    _, actions = settle(fix.on_success, observed("48950", stop, sell, bought, exchange="0", opposite="0"))
    final = actions[-1]
    assert isinstance(final, Finalize)
    # sold 0.01 @48990 + 0.01 @48900, bought back 0.01 @48950, entry 0.01 @50000
    assert final.trade.gross_pnl == Decimal("489.90") + Decimal("489.00") - Decimal("500.00") - Decimal("489.50")


# ---------------------------------------------------------------- exits requested by agent / operator


def test_partial_close_on_futures_keeps_the_stop_then_shrinks_it() -> None:
    rec, stop = protected(contract=True, quantity="0.010")
    asked = request_exit(rec, ExitReason.AGENT, Decimal("0.004"), T0)
    market = placed(run(asked, observed("50000", stop, exchange="0.01")))
    assert market.intent.quantity == Decimal("0.004") and market.intent.reduce_only
    sold = order(market.intent, OrderStatus.FILLED, price="50000")
    after, actions = settle(market.on_success, observed("50000", stop, sold, exchange="0.006"))
    assert after.exit_request is None and after.position.quantity == Decimal("0.006")
    assert placed(actions).intent.quantity == Decimal("0.006")


def test_full_close_clears_protection_first_even_on_futures() -> None:
    rec, stop = protected(contract=True, quantity="0.010")
    asked = request_exit(rec, ExitReason.OPERATOR, None, T0)
    assert [type(a) for a in run(asked, observed("50000", stop, exchange="0.01"))] == [Cancel]


def test_a_full_exit_request_is_not_downgraded() -> None:
    rec, _ = protected()
    full = request_exit(rec, ExitReason.OPERATOR, None, T0)
    again = request_exit(full, ExitReason.AGENT, Decimal("0.001"), T0)
    assert again.exit_request == full.exit_request


def test_dust_left_after_a_partial_fill_is_closed_out_with_a_warning() -> None:
    rec, stop = protected()
    exit_id = ClientOrderId("tw-p0000000001-x2")
    rec = rec.model_copy(update={"exits": (ExitOrder(order_id=exit_id, reason=ExitReason.AGENT),)})
    sell = order(
        OrderIntent(
            client_order_id=exit_id,
            symbol=rec.symbol,
            side=rec.side.exit_side,
            type=OrderType.MARKET,
            quantity=Decimal("0.02"),
        ),
        OrderStatus.CANCELED,
        filled="0.01995",
        price="50000",
    )
    _, actions = settle(rec, observed("50000", stop, sell, exchange="0.00005"))
    assert any(isinstance(a, Warn) and a.kind == "dust_left" for a in actions)
    assert isinstance(actions[-1], Finalize) and actions[-1].cancel == (S1,)


def test_plan_is_deterministic() -> None:
    rec, stop = protected(contract=True, trailing_activation_pct=1.0, trailing_distance_pct=0.5)
    obs = observed("51000", stop)
    assert run(rec, obs) == run(rec, obs)
    assert RiskSettings() == RiskSettings()
