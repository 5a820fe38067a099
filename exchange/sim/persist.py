"""A simulated exchange's state as a JSON document and back: what paper trading saves after every change so that
a restart finds its balances, positions and resting orders where it left them.

Saved: the account (spot balances with what is locked, or the futures wallet, leverage, positions and order
margin), every order (open and closed: the guard asks about the orders of open positions by client id), every
fill, funding payments, last prices, realized P&L per fill and the id counters. Not saved: the event log
(inspection only) and the orders' earlier states (the stale-status fault), so a restored exchange starts both
empty. Money is written as strings; ``restore`` rebuilds the derived indexes (latest order per client id, open
orders per symbol in placement order).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from core.ids import Symbol
from core.types import Fill, OrderIntent, OrderStatus
from exchange.sim.accounts import FuturesAccount, FuturesPosition, SpotAccount
from exchange.sim.book import SimOrder
from exchange.sim.exchange import SimExchange, SimSnapshot
from exchange.sim.state import SimState

FORMAT = "sim-state/1"


def dump(exchange: SimExchange) -> dict[str, Any]:
    """The exchange's state as JSON-able data (see the module docstring for what is kept)."""
    state = exchange.snapshot().state()
    return {
        "format": FORMAT,
        "account": _dump_account(state.account),
        "orders": [_dump_order(order) for order in state.orders.values()],
        "fills": [fill.model_dump(mode="json") for fill in state.fills],
        "funding": [[at.isoformat(), symbol, str(rate), str(paid)] for at, symbol, rate, paid in state.funding],
        "last_price": {symbol: str(price) for symbol, price in state.last_price.items()},
        "realized_pnl": {trade: str(pnl) for trade, pnl in state.realized_pnl.items()},
        "next_order_id": state.next_order_id,
        "next_trade_id": state.next_trade_id,
        "last_at": state.last_at.isoformat() if state.last_at else None,
    }


def restore(exchange: SimExchange, document: dict[str, Any]) -> None:
    """Put ``exchange`` in the state ``document`` describes (it must come from an exchange of the same kind)."""
    if document.get("format") != FORMAT:
        raise ValueError(f"not a saved simulated exchange ({document.get('format')!r}, expected {FORMAT})")
    orders = [_load_order(raw) for raw in document["orders"]]
    state = SimState(account=_load_account(document["account"]))
    for order in sorted(orders, key=lambda o: o.seq):
        state.orders[order.exchange_id] = order
        state.by_client_id[order.client_order_id] = order
        if order.is_open:
            state.open_by_symbol.setdefault(order.symbol, []).append(order)
    state.fills = [Fill.model_validate(raw) for raw in document["fills"]]
    state.funding = [(datetime.fromisoformat(at), Symbol(s), Decimal(r), Decimal(p)) for at, s, r, p in
                     document["funding"]]
    state.last_price = {Symbol(s): Decimal(p) for s, p in document["last_price"].items()}
    state.realized_pnl = {trade: Decimal(pnl) for trade, pnl in document["realized_pnl"].items()}
    state.next_order_id = int(document["next_order_id"])
    state.next_trade_id = int(document["next_trade_id"])
    state.last_at = datetime.fromisoformat(document["last_at"]) if document["last_at"] else None
    if isinstance(state.account, FuturesAccount) != (exchange.config.market_type == "future"):
        raise ValueError(f"the saved account does not match this {exchange.config.market_type} exchange")
    exchange.restore(SimSnapshot(state))


def _dump_account(account: SpotAccount | FuturesAccount) -> dict[str, Any]:
    if isinstance(account, SpotAccount):
        return {"kind": "spot", "total": _strings(account.total), "locked": _strings(account.locked)}
    return {
        "kind": "future", "wallet": str(account.wallet), "quote": account.quote,
        "default_leverage": account.default_leverage, "max_leverage": account.max_leverage,
        "leverage": dict(account.leverage), "order_margin": str(account.order_margin),
        "open": {s: [str(p.quantity), str(p.entry_price)] for s, p in account.open.items()},
    }


def _load_account(raw: dict[str, Any]) -> SpotAccount | FuturesAccount:
    if raw["kind"] == "spot":
        account = SpotAccount(_decimals(raw["total"]))
        account.locked = _decimals(raw["locked"])
        return account
    futures = FuturesAccount(Decimal(raw["wallet"]), raw["quote"], int(raw["default_leverage"]),
                             int(raw["max_leverage"]))
    futures.leverage = {Symbol(s): int(v) for s, v in raw["leverage"].items()}
    futures.order_margin = Decimal(raw["order_margin"])
    futures.open = {Symbol(s): FuturesPosition(Decimal(q), Decimal(e)) for s, (q, e) in raw["open"].items()}
    return futures


def _dump_order(order: SimOrder) -> dict[str, Any]:
    return {
        "intent": order.intent.model_dump(mode="json"), "exchange_id": order.exchange_id, "seq": order.seq,
        "created_at": order.created_at.isoformat(), "updated_at": order.updated_at.isoformat(),
        "status": order.status.value, "filled": str(order.filled), "cost": str(order.cost), "fee": str(order.fee),
        "fee_asset": order.fee_asset, "base_fee": str(order.base_fee),
        "triggered": order.triggered, "fresh": order.fresh,
        "reserved": str(order.reserved), "reserved_asset": order.reserved_asset, "reason": order.reason,
    }


def _load_order(raw: dict[str, Any]) -> SimOrder:
    return SimOrder(
        intent=OrderIntent.model_validate(raw["intent"]), exchange_id=str(raw["exchange_id"]), seq=int(raw["seq"]),
        created_at=datetime.fromisoformat(raw["created_at"]), updated_at=datetime.fromisoformat(raw["updated_at"]),
        status=OrderStatus(raw["status"]), filled=Decimal(raw["filled"]), cost=Decimal(raw["cost"]),
        fee=Decimal(raw["fee"]), fee_asset=raw["fee_asset"], base_fee=Decimal(raw.get("base_fee", "0")),
        triggered=bool(raw["triggered"]),
        fresh=bool(raw["fresh"]), reserved=Decimal(raw["reserved"]), reserved_asset=raw["reserved_asset"],
        reason=raw["reason"],
    )


def _strings(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {asset: str(amount) for asset, amount in amounts.items()}


def _decimals(amounts: dict[str, str]) -> dict[str, Decimal]:
    return {asset: Decimal(amount) for asset, amount in amounts.items()}

