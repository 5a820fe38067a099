"""Binance account settings as the exchange reports them: futures leverage, margin type, position mode,
multi-assets mode, maintenance brackets; spot and futures fee terms (BNB or not). Pure parsing, no I/O.

These belong to the account, whatever safety approved: leverage and margin type are per symbol
(``GET /fapi/v1/symbolConfig``), the position mode (``GET /fapi/v1/positionSide/dual``) and the
multi-assets mode (``GET /fapi/v1/multiAssetsMargin``) are account-wide. tradewake trades one-way mode:
a hedge-mode account is refused with one line that says how to switch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.errors import OperationalError
from core.ids import Symbol
from exchange.binance_shapes import dec
from exchange.liquidation import MaintenanceBracket, MarginType

Raw = Mapping[str, Any]
ZERO = Decimal(0)


class PositionMode(StrEnum):
    ONE_WAY = "one_way"
    HEDGE = "hedge"


@dataclass(frozen=True)
class SymbolSettings:
    """A futures symbol's leverage and margin type as the account has them."""

    symbol: Symbol
    leverage: int
    margin_type: MarginType


@dataclass(frozen=True)
class AccountModes:
    position_mode: PositionMode
    multi_assets: bool
    """Multi-Assets Mode: every symbol is cross margin (isolated is refused, -4168)."""


@dataclass(frozen=True)
class FeeTerms:
    """Who pays trading fees in what. ``bnb_pays``: fees are taken in BNB (at a discount), not in the trade's assets.

    Spot without BNB: a buy's fee is taken from the base asset bought, a sell's from the quote received.
    USDT-M futures without BNB: fees are taken in the margin asset (USDT).
    """

    bnb_enabled: bool
    """The account (and symbol) has the BNB fee discount switched on."""
    bnb_held: bool
    """There is BNB to pay with; without it Binance falls back to the trade's assets."""
    discount: Decimal | None = None
    """The rate charged when BNB pays, as a fraction of the standard fee (0.75 = 25 % off)."""

    @property
    def bnb_pays(self) -> bool:
        return self.bnb_enabled and self.bnb_held

    def describe(self, *, futures: bool, quote: str) -> str:
        if self.bnb_pays:
            off = f" ({(1 - self.discount) * 100:.0f} % off)" if self.discount is not None else ""
            return f"BNB{off}"
        fallback = " (BNB discount on, but no BNB held)" if self.bnb_enabled else ""
        if futures:
            return f"{quote}{fallback}"
        return f"base asset on buys, {quote} on sells{fallback}"


def symbol_settings(rows: Sequence[Raw], by_market_id: Mapping[str, Symbol]) -> dict[Symbol, SymbolSettings]:
    """``GET /fapi/v1/symbolConfig`` rows for the markets we know (``BTCUSDT`` -> ``BTC/USDT:USDT``)."""
    found = {}
    for row in rows:
        symbol = by_market_id.get(str(row.get("symbol")))
        if symbol is None:
            continue
        found[symbol] = SymbolSettings(symbol, int(row["leverage"]), margin_type(str(row.get("marginType", ""))))
    return found


def margin_type(text: str) -> MarginType:
    """Binance says ``CROSSED`` / ``ISOLATED`` (and ``cross`` / ``isolated`` in places)."""
    lowered = text.lower()
    if lowered in ("crossed", "cross"):
        return MarginType.CROSS
    if lowered == "isolated":
        return MarginType.ISOLATED
    raise ValueError(f"unknown Binance margin type {text!r}")


def account_modes(position_side: Raw, multi_assets: Raw) -> AccountModes:
    """From ``positionSide/dual`` (``dualSidePosition``) and ``multiAssetsMargin`` (``multiAssetsMargin``)."""
    hedge = _flag(position_side, "dualSidePosition")
    return AccountModes(PositionMode.HEDGE if hedge else PositionMode.ONE_WAY, _flag(multi_assets, "multiAssetsMargin"))


def require_one_way(modes: AccountModes, venue_label: str) -> None:
    if modes.position_mode is PositionMode.HEDGE:
        raise OperationalError(
            f"Binance {venue_label}: the account is in hedge mode (dual-side positions); tradewake trades in "
            "one-way mode. Switch it in Binance Futures > Preferences > Position Mode > One-way "
            "(with no open position or order), then start again."
        )


def brackets(rows: Sequence[Raw], market_id: str) -> list[MaintenanceBracket]:
    """``GET /fapi/v1/leverageBracket`` for one market id."""
    for row in rows:
        if row.get("symbol") == market_id:
            return [
                MaintenanceBracket(
                    notional_floor=_dec(b["notionalFloor"]),
                    notional_cap=_dec(b["notionalCap"]),
                    maintenance_rate=_dec(b["maintMarginRatio"]),
                    maintenance_amount=_dec(b.get("cum", 0)),
                    max_leverage=int(b["initialLeverage"]),
                )
                for b in row.get("brackets", [])
            ]
    raise ValueError(f"no leverage brackets for {market_id}")


def spot_fee_terms(commission: Raw, bnb_free: Decimal) -> FeeTerms:
    """``GET /api/v3/account/commission``: ``discount.enabledForAccount`` / ``enabledForSymbol`` / ``discount``."""
    discount = commission.get("discount") or {}
    enabled = _flag(discount, "enabledForAccount") and _flag(discount, "enabledForSymbol")
    enabled = enabled and str(discount.get("discountAsset", "BNB")).upper() == "BNB"
    return FeeTerms(enabled, bnb_free > 0, _dec_or_none(discount.get("discount")))


def futures_fee_terms(fee_burn: Raw, bnb_free: Decimal) -> FeeTerms:
    """``GET /fapi/v1/feeBurn`` -> ``{"feeBurn": bool}``: BNB pays futures fees (10 % off) when held."""
    return FeeTerms(_flag(fee_burn, "feeBurn"), bnb_free > 0, Decimal("0.9"))


def _flag(raw: Raw, key: str) -> bool:
    value = raw.get(key)
    return value is True or str(value).lower() == "true"


def _dec(value: Any) -> Decimal:
    number = dec(value)
    if number is None:
        raise ValueError("missing number")
    return number


def _dec_or_none(value: Any) -> Decimal | None:
    return dec(value)
