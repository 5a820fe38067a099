"""What the ccxt broker remembers about orders between calls, and how it reads one back (no I/O).

Per client id: the intent we sent (Binance does not echo everything back, reduce-only on spot for one)
and whether the order lives in the futures algo book (every later fetch or cancel must say so, ccxt
issue 27486). Per exchange id: the client id (trades name only the exchange's order id) and the fees of
a spot order read from its trades (a spot order read back by id carries no ``fills``).

Orders whose client id lacks our prefix are **foreign**: the Binance app's close-position TP/SL, a
trailing stop placed by hand, another bot's orders. They are read leniently (never fatal) and marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.ids import ClientOrderId, has_prefix
from core.money import MarketRules
from core.types import Order, OrderIntent
from exchange import binance_shapes as shapes
from exchange.binance_orders import client_id, read_order

Raw = Mapping[str, Any]


@dataclass
class OrderMemory:
    prefix: str
    futures: bool
    intents: dict[ClientOrderId, OrderIntent] = field(default_factory=dict)
    conditional: dict[ClientOrderId, bool] = field(default_factory=dict)
    cid_by_exchange_id: dict[str, ClientOrderId] = field(default_factory=dict)
    fees: dict[tuple[str, Decimal], shapes.FeeSplit] = field(default_factory=dict)
    """A filled order's fees from its trades, by (exchange id, filled quantity): refreshed when more fills."""

    def is_ours(self, cid: str) -> bool:
        return has_prefix(cid, self.prefix)

    def remember(self, intent: OrderIntent) -> None:
        self.intents[intent.client_order_id] = intent
        if self.futures:  # on futures, conditional types live in the algo book and nothing else does
            self.conditional[intent.client_order_id] = intent.type.is_conditional

    def reading(
        self, raw: Raw, rules: MarketRules | None, cid: ClientOrderId | None = None
    ) -> tuple[OrderIntent, dict[str, Any]]:
        """The intent of a raw order (what we sent, else read from the answer) and its ``Order`` extras.

        ``cid`` names the order when the answer's own client id is not its (a spot cancel answers with the
        cancel's id). Ours we did not send in this process are read strictly; anything else leniently, and
        marked foreign.
        """
        cid = cid or client_id(raw)
        foreign = not self.is_ours(cid)
        known = self.intents.get(cid)
        venue = read_order(raw, rules, lenient=foreign or known is not None)  # a known intent needs only extras
        intent = known or venue.intent.model_copy(update={"client_order_id": cid})
        return intent, {**venue.extras(), "foreign": foreign}

    def order(
        self,
        raw: Raw,
        intent: OrderIntent,
        extras: dict[str, Any],
        *,
        now: datetime,
        exchange_order_id: str | None = None,
        fees: shapes.FeeSplit | None = None,
    ) -> Order:
        if not extras.get("foreign"):
            self.remember(intent)
        self.cid_by_exchange_id[exchange_order_id or str(raw.get("id"))] = intent.client_order_id
        return shapes.order_from_ccxt(
            raw, intent, now=now, exchange_order_id=exchange_order_id, extras=extras, fees=fees
        )
