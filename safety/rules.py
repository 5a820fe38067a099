"""The veto's rules, one small pure check each: ``check_*(...) -> Vetoed | None``.

No I/O, no clock reads, no LLM: every input is an argument. :mod:`safety.veto` decides which
checks apply to which proposal and in what order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from core.errors import OrderRejected
from core.ids import PositionId, Symbol
from core.money import MarketRules, to_decimal
from core.settings import RiskSettings
from core.types import Position, PositionSide
from exchange.liquidation import bracket_for, entry_liquidation_price, stop_versus_liquidation
from safety.breakers import BreakerBoard, BreakerState
from safety.proposals import EntryProposal
from safety.verdicts import VetoCode, Vetoed
from safety.views import AccountTerms, Limits, MarketView, Portfolio, Quote

HUNDRED = Decimal(100)


def pct_distance(a: Decimal, b: Decimal) -> Decimal:
    """|a - b| as % of b."""
    return abs(a - b) / b * HUNDRED


def is_protective(side: PositionSide, stop: Decimal, price: Decimal) -> bool:
    """A long's stop sits below the price, a short's above it."""
    return stop < price if side is PositionSide.LONG else stop > price


def tradable(quantity: Decimal, price: Decimal, rules: MarketRules) -> bool:
    """Whether the exchange accepts an exit order (or a protective stop) for ``quantity``.

    Below the minimum quantity nothing is accepted; below the minimum notional only reduce-only orders
    on derivatives are (Binance USDT-M exempts them), so on spot such a remainder is dust.
    """
    if quantity <= 0 or quantity < rules.min_qty:
        return False
    return rules.contract or quantity * price >= rules.min_notional


def is_tighter_or_equal(side: PositionSide, new: Decimal, old: Decimal) -> bool:
    """True when ``new`` risks no more than ``old``: higher for a long, lower for a short."""
    return new >= old if side is PositionSide.LONG else new <= old


# ------------------------------------------------------------------ controls and breakers


def check_controls(board: BreakerBoard, now: datetime) -> Vetoed | None:
    controls = board.controls
    if controls.halted:
        return Vetoed(VetoCode.HALTED, f"trading is halted by the operator ({controls.halt_reason}); exits only")
    if controls.sleeping(now):
        until = controls.sleep_until.isoformat() if controls.sleep_until else "?"
        return Vetoed(VetoCode.SLEEPING, f"sleep mode until {until} ({controls.sleep_reason}); no new entries")
    return None


def check_entry_gates(board: BreakerBoard) -> Vetoed | None:
    """State and breaker conditions under which the account is REDUCING (exits only)."""
    if not board.persistence_ok:
        return Vetoed(VetoCode.STATE_NOT_SAVED, "the last state save failed; no entries until it is saved again")
    if board.reconciled_at is None:
        return Vetoed(VetoCode.NOT_RECONCILED, "state has not been reconciled with the exchange yet; no entries")
    if board.exchange.state is not BreakerState.CLOSED:
        return Vetoed(
            VetoCode.EXCHANGE_BREAKER_OPEN,
            f"exchange-error breaker is {board.exchange.state.value} ({board.exchange.last_error}); exits only",
        )
    trading = board.trading
    if trading.is_open:
        until = trading.closes_at.isoformat() if trading.closes_at else "next UTC day"
        reason = trading.reason.value if trading.reason else "?"
        return Vetoed(VetoCode.TRADING_BREAKER_OPEN, f"trading breaker open ({reason}) until {until}; exits only")
    return None


def check_ip_ban(board: BreakerBoard, now: datetime) -> Vetoed | None:
    """Binance banned the IP (418): no entry (nothing would be sent; exits wait for the ban's end too)."""
    if board.banned(now):
        until = board.banned_until.isoformat() if board.banned_until else "?"
        return Vetoed(VetoCode.IP_BANNED, f"Binance banned this IP until {until}; nothing is sent before then")
    return None


def check_daily_order_cap(board: BreakerBoard, limits: RiskSettings) -> Vetoed | None:
    if board.trading.agent_orders >= limits.max_orders_per_day:
        return Vetoed(
            VetoCode.DAILY_ORDER_CAP,
            f"{board.trading.agent_orders} orders today reached the daily cap of {limits.max_orders_per_day}",
        )
    return None


# ------------------------------------------------------------------ market data


def quote_for(market: MarketView, symbol: Symbol) -> Quote | Vetoed:
    quote = market.get(symbol)
    if quote is None:
        return Vetoed(VetoCode.UNKNOWN_SYMBOL, f"no market data for {symbol}; known: {sorted(market)}")
    return quote


def check_fresh(quote: Quote, limits: RiskSettings, now: datetime) -> Vetoed | None:
    age = now - quote.as_of
    if age > timedelta(seconds=limits.stale_data_s):
        return Vetoed(
            VetoCode.STALE_DATA,
            f"last price of {quote.rules.symbol} is {int(age.total_seconds())}s old "
            f"(limit {limits.stale_data_s}s); refresh the data first",
        )
    return None


# ------------------------------------------------------------------ entry shape


def check_market_side(p: EntryProposal, rules: MarketRules) -> Vetoed | None:
    """A spot market can only be bought to open: a short needs a derivatives market (``rules.contract``).

    The exchange would refuse the sell later (nothing to sell), after the decision had counted on it.
    """
    if p.side is PositionSide.SHORT and not rules.contract:
        return Vetoed(
            VetoCode.WRONG_MARKET_SIDE,
            f"{p.symbol} is a spot market: it cannot be sold short (shorts need futures); go long or stay flat",
        )
    return None


def check_equity(portfolio: Portfolio) -> Vetoed | None:
    if portfolio.equity <= 0:
        return Vetoed(VetoCode.NO_EQUITY, f"account equity is {portfolio.equity}; nothing to trade with")
    return None


def check_one_per_symbol(p: EntryProposal, portfolio: Portfolio, limits: RiskSettings) -> Vetoed | None:
    sides = {pos.side for pos in portfolio.positions_in(p.symbol)}
    sides |= {e.side for e in portfolio.pending_entries if e.symbol == p.symbol}
    if sides - {p.side}:
        return Vetoed(
            VetoCode.OPPOSITE_POSITION, f"{p.symbol} already has an opposite position or entry; close it first"
        )
    if sides and not limits.allow_pyramiding:
        return Vetoed(VetoCode.POSITION_EXISTS, f"{p.symbol} already has a {p.side.value} position or pending entry")
    return None


def check_cooldown(p: EntryProposal, portfolio: Portfolio, limits: RiskSettings, now: datetime) -> Vetoed | None:
    exited_at = portfolio.last_exit_at.get(p.symbol)
    if exited_at is None:
        return None
    ready_at = exited_at + timedelta(seconds=limits.cooldown_after_exit_s)
    if now < ready_at:
        return Vetoed(
            VetoCode.COOLDOWN,
            f"{p.symbol} was exited at {exited_at.isoformat()}; no new entry before {ready_at.isoformat()}",
        )
    return None


def check_fat_finger(limit_price: Decimal, quote: Quote, limits: RiskSettings) -> Vetoed | None:
    distance = pct_distance(limit_price, quote.last_price)
    if distance > to_decimal(limits.fat_finger_band_pct):
        return Vetoed(
            VetoCode.FAT_FINGER,
            f"limit price {limit_price} is {distance:.2f}% from the last price {quote.last_price} "
            f"(band {limits.fat_finger_band_pct}%)",
        )
    return None


def check_stop_distance(
    side: PositionSide, stop: Decimal, reference: Decimal, limits: RiskSettings, what: str = "stop-loss"
) -> Vetoed | None:
    """The stop must be on the protective side of ``reference`` and within the configured band."""
    if not is_protective(side, stop, reference):
        where = "below" if side is PositionSide.LONG else "above"
        return Vetoed(VetoCode.STOP_WRONG_SIDE, f"a {side.value}'s {what} must be {where} {reference}, got {stop}")
    distance = pct_distance(stop, reference)
    if distance < to_decimal(limits.stop_min_distance_pct):
        return Vetoed(
            VetoCode.STOP_TOO_CLOSE,
            f"{what} {stop} is {distance:.3f}% from {reference}; minimum {limits.stop_min_distance_pct}%",
        )
    if distance > to_decimal(limits.stop_max_distance_pct):
        return Vetoed(
            VetoCode.STOP_TOO_FAR,
            f"{what} {stop} is {distance:.3f}% from {reference}; maximum {limits.stop_max_distance_pct}%",
        )
    return None


def check_take_profit_side(side: PositionSide, take_profit: Decimal, reference: Decimal) -> Vetoed | None:
    beyond = take_profit > reference if side is PositionSide.LONG else take_profit < reference
    if not beyond:
        where = "above" if side is PositionSide.LONG else "below"
        return Vetoed(
            VetoCode.TAKE_PROFIT_WRONG_SIDE,
            f"a {side.value}'s take-profit must be {where} {reference}, got {take_profit}",
        )
    return None


# ------------------------------------------------------------------ caps


def check_leverage(p: EntryProposal, rules: MarketRules, limits: Limits) -> Vetoed | None:
    if not rules.contract and p.leverage != 1:
        return Vetoed(VetoCode.LEVERAGE_CAP, f"{p.symbol} is a spot market: leverage must be 1, got {p.leverage}")
    if p.leverage > limits.risk.max_leverage:
        return Vetoed(VetoCode.LEVERAGE_CAP, f"leverage {p.leverage} above the cap of {limits.risk.max_leverage}")
    effective = limits.effective.max_leverage
    if p.leverage > effective:
        return Vetoed(
            VetoCode.MAINNET_LIMIT,
            f"leverage {p.leverage} above the {limits.mode.value} cap of {effective} (mainnet limits are stricter)",
        )
    return None


def check_stop_before_liquidation(
    side: PositionSide,
    quantity: Decimal,
    entry_price: Decimal,
    stop: Decimal,
    terms: AccountTerms,
    *,
    cross_wallet: Decimal,
    other_maintenance: Decimal,
    margin_pct: Decimal,
) -> Vetoed | None:
    """Futures: the stop must fill before the account liquidates the position, ``margin_pct`` of the entry
    price earlier. The liquidation price is Binance's (``exchange.liquidation``) for the leverage, margin type
    and brackets the account has (``terms``, read from the exchange): on an isolated 20x account it sits about
    4.6 % from the entry, inside a stop distance the risk limits allow. Cross margin: ``cross_wallet`` is the
    account's margin balance (unrealized P&L of other positions included), ``other_maintenance`` their
    maintenance margin."""
    liquidation = entry_liquidation_price(
        side,
        quantity,
        entry_price,
        leverage=Decimal(terms.leverage),
        margin_type=terms.margin_type,
        brackets=terms.brackets,
        cross_wallet=cross_wallet,
        other_maintenance=other_maintenance,
    )
    verdict = stop_versus_liquidation(side, stop, liquidation, entry_price, margin_pct=margin_pct)
    if verdict.ok:
        return None
    return Vetoed(
        VetoCode.STOP_BEYOND_LIQUIDATION,
        f"{verdict.message} at {terms.leverage}x {terms.margin_type.value} margin (the account's settings): "
        "the position would be liquidated before its stop fills; move the stop closer or trade smaller",
    )


def maintenance_of_others(portfolio: Portfolio, market: MarketView, symbol: Symbol) -> Decimal:
    """Maintenance margin of the open futures positions in other symbols (Binance's ``TMM``), marked at the last
    prices; positions whose terms are unknown count nothing."""
    total = Decimal(0)
    for position in portfolio.positions:
        quote = market.get(position.symbol)
        if position.symbol == symbol or quote is None or quote.terms is None:
            continue
        notional = position.quantity * quote.last_price
        bracket = bracket_for(notional, quote.terms.brackets)
        total += notional * bracket.maintenance_rate - bracket.maintenance_amount
    return total


def allowed_size_pct(portfolio: Portfolio, market: MarketView, limits: Limits) -> Decimal:
    """The largest size (% of equity) this entry may have: the position cap or the exposure room left."""
    effective = limits.effective
    used_pct = portfolio.exposure(market) / portfolio.equity * HUNDRED
    room = to_decimal(effective.max_total_exposure_pct) - used_pct
    return min(to_decimal(effective.max_position_pct), room)


def check_size(p: EntryProposal, allowed: Decimal, limits: Limits) -> Vetoed | None:
    """Veto an oversize entry when it cannot (or must not) be reduced to ``allowed``."""
    requested = to_decimal(p.size_pct)
    if requested <= allowed:
        return None
    effective = limits.effective
    if allowed <= 0:
        return Vetoed(
            VetoCode.EXPOSURE_CAP,
            f"total exposure already at the cap of {effective.max_total_exposure_pct}% of equity; "
            f"no room for {p.symbol}",
        )
    if limits.risk.reduce_oversize_to_cap:
        return None
    if allowed < to_decimal(effective.max_position_pct):
        return Vetoed(
            VetoCode.EXPOSURE_CAP,
            f"size {p.size_pct}% would take total exposure above {effective.max_total_exposure_pct}%; "
            f"at most {allowed:.2f}% is left",
        )
    if requested > to_decimal(limits.risk.max_position_pct):
        return Vetoed(
            VetoCode.POSITION_SIZE_CAP, f"size {p.size_pct}% above the cap of {limits.risk.max_position_pct}%"
        )
    return Vetoed(
        VetoCode.MAINNET_LIMIT,
        f"size {p.size_pct}% above the {limits.mode.value} cap of {effective.max_position_pct}% "
        f"(mainnet limits are stricter)",
    )


_MONEY_CODES = {
    "below_min_qty": VetoCode.BELOW_MIN_QUANTITY,
    "above_max_qty": VetoCode.ABOVE_MAX_QUANTITY,
    "below_min_notional": VetoCode.BELOW_MIN_NOTIONAL,
}


def quantized_order(rules: MarketRules, quantity: Decimal, price: Decimal) -> tuple[Decimal, Decimal] | Vetoed:
    """Quantity (rounded down) and price (to the tick) that fit the market, or the reason they don't."""
    try:
        return rules.checked_order(quantity, price)
    except OrderRejected as exc:
        return Vetoed(_MONEY_CODES.get(exc.code, VetoCode.INVALID_ORDER), exc.message)


# ------------------------------------------------------------------ existing positions


def find_position(portfolio: Portfolio, symbol: Symbol, position_id: PositionId | None) -> Position | Vetoed:
    found = portfolio.find(symbol, position_id)
    if found is not None:
        return found
    count = len(portfolio.positions_in(symbol))
    if count > 1 and position_id is None:
        return Vetoed(VetoCode.NO_POSITION, f"{symbol} has {count} positions; name one by position_id")
    which = f"position {position_id}" if position_id else "open position"
    return Vetoed(VetoCode.NO_POSITION, f"no {which} in {symbol}")


def check_stop_tightens(position: Position, new_stop: Decimal) -> Vetoed | None:
    if not is_tighter_or_equal(position.side, new_stop, position.stop_price):
        return Vetoed(
            VetoCode.STOP_LOOSENING,
            f"stops only tighten: a {position.side.value}'s stop can move from {position.stop_price} "
            f"{'up' if position.side is PositionSide.LONG else 'down'}, not to {new_stop}",
        )
    return None
