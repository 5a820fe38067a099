"""Pure translation between our types and ccxt's Binance structures (no ccxt import, no I/O).

ccxt parses Binance's JSON into unified dicts whose numbers are floats; wherever Binance's own
strings are at hand (``info``) we read those instead, so money stays exact ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core.ids import ClientOrderId, Symbol, base_asset
from core.money import MarketRules, to_decimal
from core.types import (
    Balance,
    ExchangePosition,
    Fill,
    Liquidity,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
)

Raw = Mapping[str, Any]
ZERO = Decimal(0)

_CCXT_STATUS: dict[str, OrderStatus] = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
    "canceling": OrderStatus.OPEN,  # Binance PENDING_CANCEL: live until the cancel completes
}
ALGO_DONE = frozenset({"TRIGGERED", "FINISHED"})
"""Algo statuses after the trigger: the fill lives on the child order named by ``actualOrderId``."""


def dec(value: Any) -> Decimal | None:
    """A Binance string or a ccxt float as ``Decimal``; None for missing or empty values."""
    if value is None or value == "":
        return None
    return to_decimal(value) if isinstance(value, float | int) else Decimal(str(value))


def ms_to_datetime(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC) if ms not in (None, "", 0) else None


# ---------------------------------------------------------------- markets


def rules_from_market(market: Raw) -> MarketRules:
    """``MarketRules`` from a ccxt market, exact from Binance's filters where present."""
    filters = {f.get("filterType"): f for f in market.get("info", {}).get("filters", [])}
    price_filter, lot = filters.get("PRICE_FILTER", {}), filters.get("LOT_SIZE", {})
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    precision, limits = market.get("precision", {}), market.get("limits", {})
    return MarketRules(
        symbol=Symbol(market["symbol"]),
        base=market["base"],
        quote=market["quote"],
        tick_size=_first(dec(price_filter.get("tickSize")), dec(precision.get("price"))).normalize(),
        step_size=_first(dec(lot.get("stepSize")), dec(precision.get("amount"))).normalize(),
        min_qty=_first(dec(lot.get("minQty")), dec(limits.get("amount", {}).get("min")), ZERO).normalize(),
        max_qty=_first(dec(lot.get("maxQty")), dec(limits.get("amount", {}).get("max")), None),
        min_notional=_first(
            dec(notional.get("minNotional")),
            dec(notional.get("notional")),
            dec(limits.get("cost", {}).get("min")),
            ZERO,
        ).normalize(),
        maker_fee=_first(dec(market.get("maker")), Decimal("0.001")),
        taker_fee=_first(dec(market.get("taker")), Decimal("0.001")),
        contract=bool(market.get("contract")),
    )


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


# ---------------------------------------------------------------- orders out


@dataclass(frozen=True)
class CreateArgs:
    """The arguments of ``exchange.create_order`` for one intent."""

    type: str
    side: str
    amount: str
    price: str | None
    params: dict[str, Any] = field(default_factory=dict)


def create_args(intent: OrderIntent, *, contract: bool) -> CreateArgs:
    """ccxt arguments for an already-quantized intent (amounts as exact strings).

    Conditional orders carry ``triggerPrice`` (stops) or ``takeProfitPrice``; on futures ccxt then
    routes them to the Algo Order API, whose client id field is ``clientAlgoId``.
    """
    params: dict[str, Any] = {}
    algo = contract and intent.type.is_conditional
    params["clientAlgoId" if algo else "newClientOrderId"] = intent.client_order_id
    if intent.type is OrderType.TAKE_PROFIT:
        params["takeProfitPrice"] = str(intent.stop_price)
    elif intent.stop_price is not None:
        params["triggerPrice"] = str(intent.stop_price)
    if intent.post_only:
        params["postOnly"] = True
    if intent.reduce_only and contract:
        params["reduceOnly"] = True
    ccxt_type = "limit" if intent.type.needs_limit_price else "market"
    price = str(intent.price) if intent.price is not None else None
    return CreateArgs(ccxt_type, str(intent.side), str(intent.quantity), price, params)


# ---------------------------------------------------------------- orders in


def is_algo(raw: Raw) -> bool:
    return "algoId" in raw.get("info", {})


def algo_status(raw: Raw) -> str:
    return str(raw.get("info", {}).get("algoStatus", "")).upper()


def algo_child_id(raw: Raw) -> str | None:
    """The regular order an algo order became when it triggered, if any."""
    child = raw.get("info", {}).get("actualOrderId")
    return str(child) if child not in (None, "", 0, "0") else None


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def order_from_ccxt(
    raw: Raw,
    intent: OrderIntent,
    *,
    now: datetime,
    exchange_order_id: str | None = None,
    extras: Mapping[str, Any] | None = None,
    fees: FeeSplit | None = None,
) -> Order:
    """Our ``Order`` from a ccxt order (regular book, or an algo order's child), for ``intent``.

    ``extras`` are ``Order`` fields beyond the intent (``foreign``, ``venue_type`` ...); a foreign order's
    unknown status reads as open instead of raising. ``fees`` overrides what the answer's own ``fills``
    say (a spot order read back by id carries no fills: its trades do).
    """
    info = raw.get("info", {})
    filled = _first(dec(info.get("executedQty")), dec(raw.get("filled")), ZERO)
    split = fees or fee_split(info.get("fills") or [], base_asset(intent.symbol))
    created = ms_to_datetime(raw.get("timestamp")) or now
    fields = dict(extras or {})
    return Order(
        intent=intent,
        exchange_order_id=exchange_order_id or str(raw.get("id")),
        status=status_from_ccxt(raw, filled, lenient=bool(fields.get("foreign"))),
        filled_quantity=filled,
        average_price=_average(raw, filled),
        fee=split.total,
        fee_asset=split.asset,
        base_fee=split.base,
        created_at=created,
        updated_at=max(created, ms_to_datetime(raw.get("lastUpdateTimestamp")) or created),
        **fields,
    )


def status_from_ccxt(raw: Raw, filled: Decimal, *, lenient: bool = False) -> OrderStatus:
    status = raw.get("status")
    if status == "open" or status is None or (lenient and status not in _CCXT_STATUS):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    if status not in _CCXT_STATUS:
        raise ValueError(f"unknown ccxt order status {status!r}")
    return _CCXT_STATUS[status]


def _average(raw: Raw, filled: Decimal) -> Decimal | None:
    if filled <= 0:
        return None
    info = raw.get("info", {})
    average = _positive(dec(info.get("avgPrice")))
    if average is not None:
        return average
    quote = dec(info.get("cummulativeQuoteQty"))
    if quote is not None and quote > 0:
        return quote / filled
    return _positive(dec(raw.get("average")))


@dataclass(frozen=True)
class FeeSplit:
    """An order's fees: the total, its asset (None when fills paid in different assets) and the base part."""

    total: Decimal = ZERO
    asset: str | None = None
    base: Decimal = ZERO
    """Commission taken in the base asset: what a spot buy delivered is its fills minus this."""


def fee_split(fills: Sequence[Raw], base: str) -> FeeSplit:
    """Fees of Binance ``fills`` rows (an order's FULL answer, or its trades' ``info``)."""
    if not fills:
        return FeeSplit()
    assets = {str(f.get("commissionAsset")) for f in fills}
    amounts = [(str(f.get("commissionAsset")), abs(dec(f.get("commission")) or ZERO)) for f in fills]
    return FeeSplit(
        total=sum((amount for _, amount in amounts), ZERO),
        asset=assets.pop() if len(assets) == 1 else None,
        base=sum((amount for asset, amount in amounts if asset == base), ZERO),
    )


# ---------------------------------------------------------------- fills, balances, positions


def fill_from_ccxt(raw: Raw, client_order_id: ClientOrderId) -> Fill:
    info = raw.get("info", {})
    maker = info.get("isMaker", info.get("maker"))
    if maker is None:
        maker = raw.get("takerOrMaker") == "maker"
    return Fill(
        trade_id=str(raw.get("id")),
        client_order_id=client_order_id,
        exchange_order_id=str(raw.get("order")),
        symbol=Symbol(raw["symbol"]),
        side=Side(str(raw["side"]).lower()),
        quantity=_first(dec(info.get("qty")), dec(raw.get("amount"))),
        price=_first(dec(info.get("price")), dec(raw.get("price"))),
        fee=abs(_first(dec(info.get("commission")), dec((raw.get("fee") or {}).get("cost")), ZERO)),
        fee_asset=str(info.get("commissionAsset") or (raw.get("fee") or {}).get("currency") or ""),
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        filled_at=ms_to_datetime(raw.get("timestamp")) or datetime.fromtimestamp(0, tz=UTC),
    )


def spot_balances(raw: Raw) -> dict[str, Balance]:
    rows = raw.get("info", {}).get("balances", [])
    balances = {}
    for row in rows:
        free, locked = dec(row.get("free")) or ZERO, dec(row.get("locked")) or ZERO
        if free or locked:
            balances[row["asset"]] = Balance(asset=row["asset"], free=free, used=locked)
    return balances


def futures_balances(raw: Raw) -> dict[str, Balance]:
    """Free is Binance's ``availableBalance``; used makes the total the margin balance (wallet + uPnL)."""
    balances = {}
    for row in raw.get("info", {}).get("assets", []):
        margin, available = dec(row.get("marginBalance")) or ZERO, dec(row.get("availableBalance")) or ZERO
        if margin or available:
            balances[row["asset"]] = Balance(asset=row["asset"], free=available, used=margin - available)
    return balances


def position_from_ccxt(raw: Raw) -> ExchangePosition | None:
    """A futures position from ``positionRisk`` (v3 carries no leverage: see :func:`with_settings`)."""
    info = raw.get("info", {})
    amount = _first(dec(info.get("positionAmt")), None)
    if amount is None:
        contracts = dec(raw.get("contracts")) or ZERO
        amount = contracts if raw.get("side") != "short" else -contracts
    if amount == 0:
        return None
    return ExchangePosition(
        symbol=Symbol(raw["symbol"]),
        side=PositionSide.LONG if amount > 0 else PositionSide.SHORT,
        quantity=abs(amount),
        entry_price=_first(dec(info.get("entryPrice")), dec(raw.get("entryPrice")), ZERO),
        leverage=_first(dec(raw.get("leverage")), Decimal(1)),
        unrealized_pnl=_first(dec(info.get("unRealizedProfit")), dec(raw.get("unrealizedPnl")), ZERO),
        liquidation_price=_positive(_first(dec(info.get("liquidationPrice")), dec(raw.get("liquidationPrice")))),
        mark_price=_positive(_first(dec(info.get("markPrice")), dec(raw.get("markPrice")))),
    )


def with_settings(position: ExchangePosition, leverage: int, margin_type: str) -> ExchangePosition:
    """The position with the leverage and margin type the account has in force for its symbol."""
    return position.model_copy(update={"leverage": Decimal(leverage), "margin_type": str(margin_type)})
