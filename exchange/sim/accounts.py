"""Balances of the simulated exchange: a spot wallet, or a USDT-M futures account (one-way mode, cross margin).

Both answer the same questions for the matching engine: reserve funds for a new order (or refuse
it), how much of a fill the account can take, settle a fill, release what an ended order held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from core.errors import OrderRejected, RejectCode
from core.ids import Symbol
from core.money import MarketRules
from core.types import Balance, ExchangePosition, PositionSide, Side
from exchange.sim.book import SimOrder

ZERO = Decimal(0)


class Account(Protocol):
    def reserve(self, order: SimOrder, ref_price: Decimal, rules: MarketRules, marks: Mapping[Symbol, Decimal]) -> None:
        """Hold what ``order`` needs, or raise ``OrderRejected(insufficient_funds)``."""
        ...

    def fillable(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee_rate: Decimal, rules: MarketRules
    ) -> Decimal:
        """How much of ``quantity`` the account can take now (funds, reduce-only); on the step grid."""
        ...

    def fee(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee_rate: Decimal, rules: MarketRules
    ) -> tuple[Decimal, str]:
        """The fee of a fill and the asset it is taken in."""
        ...

    def settle(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee: Decimal, rules: MarketRules, *, fee_asset: str
    ) -> None: ...

    def release(self, order: SimOrder) -> None: ...

    def balances(self, marks: Mapping[Symbol, Decimal]) -> dict[str, Balance]: ...

    def positions(
        self, rules: Mapping[Symbol, MarketRules], marks: Mapping[Symbol, Decimal]
    ) -> list[ExchangePosition]: ...


class SpotAccount:
    """Assets held and locked.

    Fees: by default every fee is charged in the quote asset (as if paid from the quote balance). With
    ``fees_in_received_asset`` each fee is taken from the asset the trade delivers, as Binance does when BNB
    does not pay: a buy of 0.01 BTC at 0.1 % leaves 0.00999 BTC, a sell's fee comes out of the quote received.

    Every open order locks what it may spend: a buy its quantity at its reference price (plus the taker
    fee when fees are paid in the quote asset), a sell its quantity (base) — stops and take-profits
    included, as on Binance.
    """

    def __init__(self, balances: Mapping[str, Decimal], *, fees_in_received_asset: bool = False) -> None:
        self.total: dict[str, Decimal] = {asset: Decimal(amount) for asset, amount in balances.items()}
        self.locked: dict[str, Decimal] = {}
        self.fees_in_received_asset = fees_in_received_asset

    def _quote_fee_rate(self, side: Side, fee_rate: Decimal) -> Decimal:
        """The fee rate a buy pays on top in the quote asset (0 when the fee comes out of the base bought)."""
        return Decimal(0) if self.fees_in_received_asset and side is Side.BUY else fee_rate

    def fee(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee_rate: Decimal, rules: MarketRules
    ) -> tuple[Decimal, str]:
        if self.fees_in_received_asset and order.intent.side is Side.BUY:
            return quantity * fee_rate, rules.base
        return quantity * price * fee_rate, rules.quote

    def free(self, asset: str) -> Decimal:
        return self.total.get(asset, ZERO) - self.locked.get(asset, ZERO)

    def reserve(self, order: SimOrder, ref_price: Decimal, rules: MarketRules, marks: Mapping[Symbol, Decimal]) -> None:
        del marks
        if order.intent.side is Side.BUY:
            asset = rules.quote
            amount = order.remaining * ref_price * (1 + self._quote_fee_rate(Side.BUY, rules.taker_fee))
        else:
            asset, amount = rules.base, order.remaining
        if self.free(asset) < amount:
            raise OrderRejected(
                RejectCode.INSUFFICIENT_FUNDS,
                f"{order.symbol}: the order needs {amount} {asset}, {self.free(asset)} {asset} free",
            )
        self.locked[asset] = self.locked.get(asset, ZERO) + amount
        order.reserved, order.reserved_asset = amount, asset

    def fillable(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee_rate: Decimal, rules: MarketRules
    ) -> Decimal:
        if order.intent.side is Side.SELL:
            return min(quantity, order.reserved)
        budget = order.reserved + self.free(rules.quote)
        unit_cost = price * (1 + self._quote_fee_rate(Side.BUY, fee_rate))
        if quantity * unit_cost <= budget:
            return quantity
        return rules.quantity(budget / unit_cost)

    def settle(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee: Decimal, rules: MarketRules, *, fee_asset: str
    ) -> None:
        if order.intent.side is Side.BUY:
            in_base = fee_asset == rules.base
            spend = quantity * price + (0 if in_base else fee)
            from_reserve = min(order.reserved, spend)
            self._unlock(order, from_reserve)
            self._add(rules.quote, -spend)
            self._add(rules.base, quantity - (fee if in_base else 0))
        else:
            self._unlock(order, quantity)
            self._add(rules.base, -quantity)
            self._add(rules.quote, quantity * price - fee)

    def release(self, order: SimOrder) -> None:
        self._unlock(order, order.reserved)

    def balances(self, marks: Mapping[Symbol, Decimal]) -> dict[str, Balance]:
        del marks
        assets = sorted(set(self.total) | set(self.locked))
        return {a: Balance(asset=a, free=self.free(a), used=self.locked.get(a, ZERO)) for a in assets}

    def positions(self, rules: Mapping[Symbol, MarketRules], marks: Mapping[Symbol, Decimal]) -> list[ExchangePosition]:
        """Base holdings of each market seen as a long; a spot exchange knows no entry price (0)."""
        del marks
        held = []
        for symbol, market in sorted(rules.items()):
            quantity = self.total.get(market.base, ZERO)
            if quantity > 0:
                held.append(
                    ExchangePosition(symbol=symbol, side=PositionSide.LONG, quantity=quantity, entry_price=ZERO)
                )
        return held

    def _unlock(self, order: SimOrder, amount: Decimal) -> None:
        if order.reserved_asset is None or amount == 0:
            return
        self.locked[order.reserved_asset] -= amount
        order.reserved -= amount

    def _add(self, asset: str, amount: Decimal) -> None:
        self.total[asset] = self.total.get(asset, ZERO) + amount


@dataclass(slots=True)
class FuturesPosition:
    quantity: Decimal
    """Signed: positive long, negative short."""
    entry_price: Decimal


class FuturesAccount:
    """A USDT-M futures wallet in one-way mode with cross margin.

    Opening orders hold initial margin (the opening part of the quantity at the order's reference
    price divided by leverage, plus the taker fee); reduce-only orders hold nothing and can only
    shrink a position (a reduce-only fill with nothing left to reduce ends the order as expired).
    """

    def __init__(self, wallet: Decimal, quote: str, default_leverage: int, max_leverage: int) -> None:
        self.wallet = wallet
        self.quote = quote
        self.default_leverage = default_leverage
        self.max_leverage = max_leverage
        self.leverage: dict[Symbol, int] = {}
        self.open: dict[Symbol, FuturesPosition] = {}
        self.order_margin = ZERO

    def leverage_of(self, symbol: Symbol) -> int:
        return self.leverage.get(symbol, self.default_leverage)

    def set_leverage(self, symbol: Symbol, leverage: int) -> None:
        if not 1 <= leverage <= self.max_leverage:
            raise OrderRejected(
                RejectCode.INVALID_ORDER, f"leverage must be between 1 and {self.max_leverage}, got {leverage}"
            )
        self.leverage[symbol] = leverage

    def reducible(self, symbol: Symbol, side: Side) -> Decimal:
        """The part of the position an order on ``side`` would reduce."""
        position = self.open.get(symbol)
        if position is None:
            return ZERO
        if side is Side.SELL and position.quantity > 0:
            return position.quantity
        if side is Side.BUY and position.quantity < 0:
            return -position.quantity
        return ZERO

    def unrealized(self, marks: Mapping[Symbol, Decimal]) -> Decimal:
        return sum((p.quantity * (marks.get(s, p.entry_price) - p.entry_price) for s, p in self.open.items()), ZERO)

    def position_margin(self, marks: Mapping[Symbol, Decimal]) -> Decimal:
        return sum(
            (abs(p.quantity) * marks.get(s, p.entry_price) / self.leverage_of(s) for s, p in self.open.items()), ZERO
        )

    def available(self, marks: Mapping[Symbol, Decimal]) -> Decimal:
        return self.wallet + self.unrealized(marks) - self.position_margin(marks) - self.order_margin

    def reserve(self, order: SimOrder, ref_price: Decimal, rules: MarketRules, marks: Mapping[Symbol, Decimal]) -> None:
        if order.intent.reduce_only:
            return
        opening = max(ZERO, order.remaining - self.reducible(order.symbol, order.intent.side))
        need = opening * ref_price / self.leverage_of(order.symbol) + order.remaining * ref_price * rules.taker_fee
        available = self.available(marks)
        if need > available:
            raise OrderRejected(
                RejectCode.INSUFFICIENT_FUNDS,
                f"{order.symbol}: margin is insufficient: the order needs {need:.8f} {self.quote}, "
                f"{available:.8f} {self.quote} available",
            )
        self.order_margin += need
        order.reserved, order.reserved_asset = need, self.quote

    def fillable(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee_rate: Decimal, rules: MarketRules
    ) -> Decimal:
        del price, fee_rate, rules
        if order.intent.reduce_only:
            return min(quantity, self.reducible(order.symbol, order.intent.side))
        return quantity

    def fee(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee_rate: Decimal, rules: MarketRules
    ) -> tuple[Decimal, str]:
        del order
        return quantity * price * fee_rate, rules.quote

    def settle(
        self, order: SimOrder, quantity: Decimal, price: Decimal, fee: Decimal, rules: MarketRules, *, fee_asset: str
    ) -> None:
        del rules, fee_asset
        if order.reserved and order.remaining > 0:
            part = order.reserved * quantity / order.remaining
            self.order_margin -= part
            order.reserved -= part
        signed = quantity if order.intent.side is Side.BUY else -quantity
        self.wallet += self._apply(order.symbol, signed, price) - fee

    def release(self, order: SimOrder) -> None:
        self.order_margin -= order.reserved
        order.reserved = ZERO

    def apply_funding(self, symbol: Symbol, rate: Decimal, mark: Decimal) -> Decimal:
        """Funding paid to (positive) or by (negative) the account: longs pay shorts when ``rate`` > 0."""
        position = self.open.get(symbol)
        if position is None:
            return ZERO
        payment = -position.quantity * mark * rate
        self.wallet += payment
        return payment

    def needs_liquidation(self, worst_marks: Mapping[Symbol, Decimal], maintenance_rate: Decimal) -> bool:
        if not self.open:
            return False
        maintenance = sum(
            (abs(p.quantity) * worst_marks.get(s, p.entry_price) * maintenance_rate for s, p in self.open.items()), ZERO
        )
        return self.wallet + self.unrealized(worst_marks) < maintenance

    def balances(self, marks: Mapping[Symbol, Decimal]) -> dict[str, Balance]:
        used = self.position_margin(marks) + self.order_margin
        return {self.quote: Balance(asset=self.quote, free=self.available(marks), used=used)}

    def positions(self, rules: Mapping[Symbol, MarketRules], marks: Mapping[Symbol, Decimal]) -> list[ExchangePosition]:
        del rules
        return [
            ExchangePosition(
                symbol=symbol,
                side=PositionSide.LONG if p.quantity > 0 else PositionSide.SHORT,
                quantity=abs(p.quantity),
                entry_price=p.entry_price,
                leverage=Decimal(self.leverage_of(symbol)),
                unrealized_pnl=p.quantity * (marks.get(symbol, p.entry_price) - p.entry_price),
            )
            for symbol, p in sorted(self.open.items())
        ]

    def _apply(self, symbol: Symbol, signed: Decimal, price: Decimal) -> Decimal:
        """Add a signed fill to the position; returns the realized P&L of the part that reduced it."""
        position = self.open.get(symbol)
        if position is None or position.quantity == 0:
            self.open[symbol] = FuturesPosition(signed, price)
            return ZERO
        if (position.quantity > 0) == (signed > 0):
            total = position.quantity + signed
            position.entry_price = (position.entry_price * position.quantity + price * signed) / total
            position.quantity = total
            return ZERO
        closing = min(abs(signed), abs(position.quantity))
        direction = Decimal(1) if position.quantity > 0 else Decimal(-1)
        realized = closing * (price - position.entry_price) * direction
        remaining = position.quantity + signed
        if remaining == 0:
            del self.open[symbol]
        elif (remaining > 0) != (position.quantity > 0):
            self.open[symbol] = FuturesPosition(remaining, price)
        else:
            position.quantity = remaining
        return realized
