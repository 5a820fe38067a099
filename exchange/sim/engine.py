"""The matching engine of the simulated exchange: accepts, matches, fills and ends orders.

The price rules live in ``exchange.sim.matching`` (pure); this module applies them to the order book
and the account, in a fixed order, so the same inputs always give the same fills.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from core.errors import OrderRejected, RejectCode
from core.ids import ClientOrderId, Symbol
from core.money import MarketRules
from core.types import Fill, Liquidity, OrderIntent, OrderStatus, OrderType, Side
from exchange.orders import prepare_intent
from exchange.sim.accounts import FuturesAccount
from exchange.sim.book import SimOrder, UnknownOrder, make_fill
from exchange.sim.config import MarketFill, SimConfig
from exchange.sim.matching import (
    Bar,
    marketable,
    priority,
    resting_limit_fills,
    stop_trigger,
    take_profit_trigger,
    would_trigger_now,
)
from exchange.sim.state import SimEvent, SimState

Budget = Decimal | None
"""Quantity still fillable in the current bar; ``None`` is unlimited."""


def _rank(order: SimOrder) -> tuple[int, int]:
    return priority(order.intent.type, order.triggered), order.seq


class MatchingEngine:
    def __init__(self, rules: Mapping[Symbol, MarketRules], config: SimConfig, state: SimState) -> None:
        self.rules = rules
        self.config = config
        self.state = state

    # ------------------------------------------------------------------ orders

    def place(self, intent: OrderIntent, at: datetime) -> SimOrder:
        try:
            return self._place(intent, at)
        except OrderRejected as rejection:
            self._event(at, "rejected", intent.symbol, intent.client_order_id, str(rejection))
            raise

    def _place(self, intent: OrderIntent, at: datetime) -> SimOrder:
        rules = self.rules_for(intent.symbol)
        existing = self.state.by_client_id.get(intent.client_order_id)
        if existing is not None and existing.is_open:
            raise OrderRejected(
                RejectCode.DUPLICATE_CLIENT_ORDER_ID, f"an open order already has client id {intent.client_order_id}"
            )
        last = self.state.last_price.get(intent.symbol)
        self._validate(intent, rules, last)
        order = SimOrder(
            intent=intent,
            exchange_id=str(self.state.next_order_id),
            seq=self.state.next_order_id,
            created_at=at,
            updated_at=at,
        )
        self.state.account.reserve(order, self._reference_price(intent, last), rules, self.state.last_price)
        self._register(order)
        self._event(
            at,
            "placed",
            intent.symbol,
            intent.client_order_id,
            f"{intent.side} {intent.quantity} {intent.type}",
            exchange_order_id=order.exchange_id,
        )
        if self.config.market_fill is MarketFill.IMMEDIATE and last is not None:
            self._meet_market_now(order, last, at)
        return order

    def _validate(self, intent: OrderIntent, rules: MarketRules, last: Decimal | None) -> None:
        if prepare_intent(intent, rules, reference_price=last) != intent:
            raise OrderRejected(
                RejectCode.INVALID_PRECISION,
                f"{intent.symbol}: quantity {intent.quantity} or a price is off the step {rules.step_size} "
                f"/ tick {rules.tick_size}",
            )
        if (
            last is not None
            and intent.stop_price is not None
            and would_trigger_now(intent.type, intent.side, intent.stop_price, last)
        ):
            raise OrderRejected(
                RejectCode.WOULD_IMMEDIATELY_TRIGGER,
                f"{intent.symbol}: trigger {intent.stop_price} is already reached (last {last})",
            )
        if (
            last is not None
            and intent.post_only
            and intent.price is not None
            and marketable(intent.side, intent.price, last)
        ):
            raise OrderRejected(
                RejectCode.POST_ONLY_WOULD_TAKE, f"{intent.symbol}: post-only {intent.price} would take at {last}"
            )
        account = self.state.account
        if (
            isinstance(account, FuturesAccount)
            and intent.reduce_only
            and not intent.type.is_conditional
            and account.reducible(intent.symbol, intent.side) == 0
        ):
            raise OrderRejected(
                RejectCode.REDUCE_ONLY_REJECTED, f"{intent.symbol}: no position for a reduce-only {intent.side}"
            )

    def _reference_price(self, intent: OrderIntent, last: Decimal | None) -> Decimal:
        reference = intent.price or intent.stop_price or last
        if reference is None:
            raise OrderRejected(RejectCode.NO_MARKET_PRICE, f"{intent.symbol}: no price seen yet for a market order")
        return reference

    def _meet_market_now(self, order: SimOrder, last: Decimal, at: datetime) -> None:
        """IMMEDIATE mode: a market or marketable limit order trades at once at the last price."""
        intent = order.intent
        order.fresh = False
        if intent.type is OrderType.MARKET:
            self._take(order, last, Liquidity.TAKER, at=at, budget=None)
        elif (
            intent.type is OrderType.LIMIT and intent.price is not None and marketable(intent.side, intent.price, last)
        ):
            self._take(order, last, Liquidity.TAKER, at=at, budget=None, limit=intent.price)

    def cancel(self, client_order_id: ClientOrderId, symbol: Symbol, at: datetime) -> SimOrder:
        order = self.find(client_order_id, symbol)
        if not order.is_open:
            raise UnknownOrder(f"order {client_order_id} is {order.status}, not open")
        self._end(order, OrderStatus.CANCELED, at, None)
        return order

    def find(self, client_order_id: ClientOrderId, symbol: Symbol | None = None) -> SimOrder:
        order = self.state.by_client_id.get(client_order_id)
        if order is None or (symbol is not None and order.symbol != symbol):
            raise UnknownOrder(f"no order {client_order_id}" + (f" on {symbol}" if symbol else ""))
        return order

    def fill_now(self, client_order_id: ClientOrderId, at: datetime) -> list[Fill]:
        """Fill an open order at once at its natural price (the cancel-races-a-fill fault)."""
        order = self.state.by_client_id.get(client_order_id)
        if order is None or not order.is_open:
            return []
        before = len(self.state.fills)
        intent = order.intent
        order.triggered = order.triggered or intent.type.is_conditional
        if intent.price is not None:
            self._take(order, intent.price, Liquidity.MAKER, at=at, budget=None)
        else:
            price = self.state.last_price.get(order.symbol) or intent.stop_price
            if price is not None:
                self._take(order, price, Liquidity.TAKER, at=at, budget=None)
        return self.state.fills[before:]

    # ------------------------------------------------------------------ matching

    def process_bar(self, symbol: Symbol, bar: Bar, at: datetime) -> list[Fill]:
        before = len(self.state.fills)
        book = self.state.open_by_symbol.get(symbol)
        if book:
            budget = self._bar_budget(bar)
            ordered = sorted(book, key=_rank) if len(book) > 1 else list(book)
            for order in ordered:
                if order.is_open:
                    budget = self._match(order, bar, at, budget)
            for order in book:
                order.fresh = False
        self.state.last_price[symbol] = bar.close
        if isinstance(self.state.account, FuturesAccount) and self.state.account.open:
            self._check_liquidation(symbol, bar, at)
        return self.state.fills[before:]

    def _bar_budget(self, bar: Bar) -> Budget:
        if bar.volume is None or self.config.liquidity_fraction is None:
            return None
        return bar.volume * self.config.liquidity_fraction

    def _match(self, order: SimOrder, bar: Bar, at: datetime, budget: Budget) -> Budget:
        intent = order.intent
        kind = intent.type
        if kind is OrderType.MARKET or (order.triggered and kind is not OrderType.STOP_LIMIT):
            return self._take(order, bar.open, Liquidity.TAKER, at=at, budget=budget)
        if kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) and not order.triggered:
            assert intent.stop_price is not None
            return self._trigger(order, stop_trigger(intent.side, intent.stop_price, bar), at, budget)
        if kind is OrderType.TAKE_PROFIT:
            assert intent.stop_price is not None
            return self._trigger(order, take_profit_trigger(intent.side, intent.stop_price, bar), at, budget)
        return self._match_limit(order, bar, at, budget)

    def _trigger(self, order: SimOrder, trigger_price: Decimal | None, at: datetime, budget: Budget) -> Budget:
        if trigger_price is None:
            return budget
        order.triggered = True
        self._event(
            at, "triggered", order.symbol, order.client_order_id, f"at {trigger_price}",
            exchange_order_id=order.exchange_id,
        )
        limit = order.intent.price
        if limit is None:
            return self._take(order, trigger_price, Liquidity.TAKER, at=at, budget=budget)
        if not marketable(order.intent.side, limit, trigger_price):
            return budget  # a stop-limit gapped past its limit rests as a limit from the next bar
        return self._take(order, trigger_price, Liquidity.TAKER, at=at, budget=budget, limit=limit)

    def _match_limit(self, order: SimOrder, bar: Bar, at: datetime, budget: Budget) -> Budget:
        intent = order.intent
        assert intent.price is not None
        if order.fresh and not intent.post_only and marketable(intent.side, intent.price, bar.open):
            return self._take(order, bar.open, Liquidity.TAKER, at=at, budget=budget, limit=intent.price)
        if resting_limit_fills(intent.side, intent.price, bar):
            return self._take(order, intent.price, Liquidity.MAKER, at=at, budget=budget)
        return budget

    def _take(
        self,
        order: SimOrder,
        price: Decimal,
        liquidity: Liquidity,
        *,
        at: datetime,
        budget: Budget,
        limit: Decimal | None = None,
    ) -> Budget:
        """Fill as much of ``order`` as liquidity and the account allow at ``price`` (slipped for takers)."""
        rules = self.rules[order.symbol]
        side = order.intent.side
        if liquidity is Liquidity.TAKER:
            price = self.config.slippage.fill_price(side, price, rules)
            if limit is not None:
                price = min(price, limit) if side is Side.BUY else max(price, limit)
        wanted = order.remaining if budget is None else min(order.remaining, rules.quantity(budget))
        if wanted <= 0:
            return budget
        fee_rate = rules.taker_fee if liquidity is Liquidity.TAKER else rules.maker_fee
        quantity = self.state.account.fillable(order, wanted, price, fee_rate, rules)
        if quantity > 0:
            self._fill(order, quantity, price, fee_rate=fee_rate, liquidity=liquidity, at=at)
        if quantity < wanted and order.is_open:
            reason = (
                "reduce-only: nothing left to reduce" if order.intent.reduce_only else "insufficient funds at fill time"
            )
            self._end(order, OrderStatus.EXPIRED, at, reason)
        return None if budget is None else budget - quantity

    def _fill(
        self,
        order: SimOrder,
        quantity: Decimal,
        price: Decimal,
        *,
        fee_rate: Decimal,
        liquidity: Liquidity,
        at: datetime,
    ) -> None:
        rules = self.rules[order.symbol]
        fee, fee_asset = self.state.account.fee(order, quantity, price, fee_rate, rules)
        order.transition(at)
        account = self.state.account
        wallet_before = account.wallet if isinstance(account, FuturesAccount) else None
        account.settle(order, quantity, price, fee, rules, fee_asset=fee_asset)
        order.record_fill(quantity, price, fee, fee_asset, base_fee=fee if fee_asset == rules.base else Decimal(0))
        fill = make_fill(
            order,
            trade_id=self.state.next_trade_id,
            quantity=quantity,
            price=price,
            fee=fee,
            fee_asset=fee_asset,
            liquidity=liquidity,
            at=at,
        )
        self.state.next_trade_id += 1
        self.state.fills.append(fill)
        if isinstance(account, FuturesAccount) and wallet_before is not None:
            self.state.realized_pnl[fill.trade_id] = account.wallet - wallet_before + fee
        self._event(
            at, "filled", order.symbol, order.client_order_id, f"{quantity} @ {price} ({liquidity})",
            exchange_order_id=order.exchange_id,
        )
        if not order.is_open:
            self._retire(order)

    # ------------------------------------------------------------------ futures

    def apply_funding(self, symbol: Symbol, rate: Decimal, mark: Decimal, at: datetime) -> Decimal:
        account = self.state.account
        if not isinstance(account, FuturesAccount):
            raise ValueError("funding payments apply to a futures account only")
        if symbol not in account.open:
            return Decimal(0)
        payment = account.apply_funding(symbol, rate, mark)
        self.state.funding.append((at, symbol, rate, payment))
        self._event(at, "funding", symbol, None, f"rate {rate} at mark {mark}: {payment:+}")
        return payment

    def _check_liquidation(self, symbol: Symbol, bar: Bar, at: datetime) -> None:
        account = self.state.account
        assert isinstance(account, FuturesAccount)
        worst = dict(self.state.last_price)
        position = account.open.get(symbol)
        if position is not None:
            worst[symbol] = bar.low if position.quantity > 0 else bar.high
        if account.needs_liquidation(worst, self.config.maintenance_margin_rate):
            for held in sorted(account.open):
                self._liquidate(held, worst.get(held, account.open[held].entry_price), at)
            account.wallet = max(account.wallet, Decimal(0))  # the insurance fund takes a negative balance

    def _liquidate(self, symbol: Symbol, price: Decimal, at: datetime) -> None:
        """Close a position at the bar's worst price (harsher than Binance's own liquidation price)."""
        account = self.state.account
        assert isinstance(account, FuturesAccount)
        for order in list(self.state.open_by_symbol.get(symbol, [])):
            self._end(order, OrderStatus.CANCELED, at, "liquidation")
        position = account.open[symbol]
        side = Side.SELL if position.quantity > 0 else Side.BUY
        intent = OrderIntent(
            client_order_id=ClientOrderId(f"autoclose-{self.state.next_order_id}"),
            symbol=symbol,
            side=side,
            type=OrderType.MARKET,
            quantity=abs(position.quantity),
            reduce_only=True,
        )
        order = SimOrder(
            intent=intent,
            exchange_id=str(self.state.next_order_id),
            seq=self.state.next_order_id,
            created_at=at,
            updated_at=at,
        )
        self._register(order)
        self._fill(
            order, intent.quantity, price, fee_rate=self.rules[symbol].taker_fee, liquidity=Liquidity.TAKER, at=at
        )
        self._event(
            at, "liquidation", symbol, intent.client_order_id, f"{side} {intent.quantity} @ {price}",
            exchange_order_id=order.exchange_id,
        )

    # ------------------------------------------------------------------ bookkeeping

    def rules_for(self, symbol: Symbol) -> MarketRules:
        rules = self.rules.get(symbol)
        if rules is None:
            raise OrderRejected(
                RejectCode.UNKNOWN_SYMBOL, f"no market {symbol} on this exchange (markets: {sorted(self.rules)})"
            )
        return rules

    def _register(self, order: SimOrder) -> None:
        self.state.next_order_id += 1
        self.state.orders[order.exchange_id] = order
        self.state.by_client_id[order.client_order_id] = order
        self.state.open_by_symbol.setdefault(order.symbol, []).append(order)

    def _end(self, order: SimOrder, status: OrderStatus, at: datetime, reason: str | None) -> None:
        order.transition(at)
        order.status = status
        order.reason = reason
        self._retire(order)
        self._event(
            at, str(status), order.symbol, order.client_order_id, reason or "", exchange_order_id=order.exchange_id
        )

    def _retire(self, order: SimOrder) -> None:
        self.state.account.release(order)
        self.state.open_by_symbol[order.symbol].remove(order)

    def _event(
        self,
        at: datetime,
        kind: str,
        symbol: Symbol | None,
        client_order_id: ClientOrderId | None,
        detail: str,
        *,
        exchange_order_id: str | None = None,
    ) -> None:
        self.state.events.append(SimEvent(at, kind, symbol, client_order_id, detail, exchange_order_id))
