"""Binance account settings through ccxt: set and read back futures leverage and margin type, read the
position and multi-assets modes, the maintenance brackets and who pays fees (BNB or not).

Every call goes through ``CcxtCalls`` (budget, clock, errors). Setting is verified by reading back: the
account's settings are what the exchange applies, whatever was asked.

Leverage and margin type are remembered from the last read (``GET /fapi/v1/symbolConfig``, 5 request weight): a
guard pass decorates each position with them (:meth:`BinanceAccount.remembered_settings`) and used to read them on
every pass, on every runner, which with three runners on one IP filled most of USDⓈ-M's 2,400 weight a minute
(``docs/runners.md``). They change only through our own setting (which forgets and reads back) or a person on the
Binance app; every explicit read (:meth:`BinanceAccount.symbol_settings`: a start's reconciliation, the drift check
before a symbol's first entry, ``tradewake exchange``) asks the exchange and refreshes what is remembered, and
:meth:`BinanceAccount.forget_settings` drops it for the next read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from core.errors import OperationalError
from core.ids import Symbol
from core.money import MarketRules
from exchange import binance_account as account
from exchange.binance_account import AccountModes, FeeTerms, SymbolSettings
from exchange.binance_weights import Op
from exchange.ccxt_calls import CcxtCalls
from exchange.liquidation import MaintenanceBracket, MarginType
from exchange.symbols import exchange_id


class BinanceAccount:
    def __init__(self, calls: CcxtCalls) -> None:
        self.calls = calls
        self.exchange = calls.exchange
        self.label = calls.label
        self._settings: dict[Symbol, SymbolSettings] = {}
        """The last leverage and margin type read per symbol (see the module docstring)."""

    # ------------------------------------------------------------------ futures: per symbol

    async def symbol_settings(self, symbols: Sequence[Symbol]) -> dict[Symbol, SymbolSettings]:
        """Leverage and margin type of ``symbols`` as the account has them now (``GET /fapi/v1/symbolConfig``, always
        read; what it finds is remembered)."""
        self._futures_only("leverage and margin type")
        rows = await self._read("fapiPrivateGetSymbolConfig", {}, Op.SYMBOL_CONFIG)
        found = account.symbol_settings(rows, {exchange_id(s): s for s in symbols})
        missing = [s for s in symbols if s not in found]
        if missing:
            raise OperationalError(f"Binance {self.label} reports no settings for {', '.join(missing)}")
        self._settings.update(found)
        return found

    async def remembered_settings(self, symbols: Sequence[Symbol]) -> dict[Symbol, SymbolSettings]:
        """Leverage and margin type of ``symbols`` as last read; read only those not known (yet, or forgotten)."""
        unknown = [s for s in dict.fromkeys(symbols) if s not in self._settings]
        if unknown:
            await self.symbol_settings(unknown)
        return {s: self._settings[s] for s in symbols}

    def forget_settings(self, symbols: Sequence[Symbol] | None = None) -> None:
        """The next :meth:`remembered_settings` of ``symbols`` (``None``: of every symbol) reads the exchange again."""
        if symbols is None:
            self._settings.clear()
        for symbol in symbols or ():
            self._settings.pop(symbol, None)

    async def set_leverage(self, symbol: Symbol, leverage: int) -> SymbolSettings:
        """Set the symbol's leverage and read it back; a different answer is an ``OperationalError``."""
        self._futures_only("leverage")
        self.forget_settings([symbol])  # a write that fails after the exchange took it changed the leverage too
        await self.calls.call(lambda: self.exchange.set_leverage(leverage, symbol), Op.LEVERAGE, write=True)
        settings = (await self.symbol_settings([symbol]))[symbol]
        if settings.leverage != leverage:
            raise OperationalError(
                f"Binance {self.label}: {symbol} leverage is {settings.leverage}x after setting {leverage}x"
            )
        return settings

    async def set_margin_type(self, symbol: Symbol, margin: MarginType) -> SymbolSettings:
        """Set isolated or cross margin (only when it differs: Binance answers -4046 otherwise) and read it back.

        Binance refuses a change while the symbol has a position or open orders (-4048) and isolated margin
        in Multi-Assets Mode (-4168): both are ``OperationalError`` (a human must act).
        """
        current = (await self.symbol_settings([symbol]))[symbol]
        if current.margin_type is margin:
            return current
        self.forget_settings([symbol])
        await self.calls.call(lambda: self.exchange.set_margin_mode(margin.value, symbol), Op.MARGIN_TYPE, write=True)
        settings = (await self.symbol_settings([symbol]))[symbol]
        if settings.margin_type is not margin:
            raise OperationalError(f"Binance {self.label}: {symbol} is {settings.margin_type} after setting {margin}")
        return settings

    async def configure(
        self, symbol: Symbol, *, leverage: int, margin: MarginType, modes: AccountModes | None = None
    ) -> SymbolSettings:
        """Both settings, margin type first (it cannot change under a position), then leverage. ``modes``: the
        account's modes already read at this start (account-wide, 60 request weight a read: once per start, not
        once per symbol; six symbols' reads made a start cost ~550 weight, and three runners on one IP waited for
        the next window, ``docs/runners.md``)."""
        modes = modes if modes is not None else await self.modes()
        if margin is MarginType.ISOLATED and modes.multi_assets:
            raise OperationalError(
                f"Binance {self.label}: isolated margin is refused in Multi-Assets Mode; switch Multi-Assets Mode "
                "off (Futures > Preferences) or configure cross margin"
            )
        await self.set_margin_type(symbol, margin)
        return await self.set_leverage(symbol, leverage)

    async def brackets(self, symbol: Symbol) -> list[MaintenanceBracket]:
        """The symbol's notional brackets (maintenance margin rate and amount, maximum leverage)."""
        self._futures_only("leverage brackets")
        rows = await self._read("fapiPrivateGetLeverageBracket", {"symbol": exchange_id(symbol)}, Op.BRACKETS)
        return account.brackets(rows if isinstance(rows, list) else [rows], exchange_id(symbol))

    # ------------------------------------------------------------------ futures: account-wide

    async def modes(self) -> AccountModes:
        """Position mode (one-way or hedge) and Multi-Assets Mode."""
        self._futures_only("position mode")
        dual = await self._read("fapiPrivateGetPositionSideDual", {}, Op.POSITION_MODE)
        multi = await self._read("fapiPrivateGetMultiAssetsMargin", {}, Op.MULTI_ASSETS)
        return account.account_modes(dual, multi)

    async def require_one_way(self) -> AccountModes:
        """The account modes, or one ``OperationalError`` line when the account is in hedge mode."""
        modes = await self.modes()
        account.require_one_way(modes, self.label)
        return modes

    # ------------------------------------------------------------------ fees

    async def fee_terms(self, rules: MarketRules, balances: Mapping[str, Any]) -> FeeTerms:
        """Whether BNB pays this market's fees: the account's discount switch and a BNB balance to pay with."""
        bnb = balances.get("BNB")
        bnb_free = bnb.free if bnb is not None else Decimal(0)
        if self.calls.futures:
            burn = await self._read("fapiPrivateGetFeeBurn", {}, Op.FEE_BURN)
            return account.futures_fee_terms(burn, bnb_free)
        commission = await self._read(
            "privateGetAccountCommission", {"symbol": exchange_id(rules.symbol)}, Op.COMMISSION
        )
        return account.spot_fee_terms(commission, bnb_free)

    # ------------------------------------------------------------------ helpers

    async def _read(self, endpoint: str, params: dict[str, Any], op: Op) -> Any:
        method = getattr(self.exchange, endpoint)
        return await self.calls.read(lambda: method(params), op, endpoint)

    def _futures_only(self, what: str) -> None:
        if not self.calls.futures:
            raise OperationalError(f"{what} applies to futures; this broker trades spot")
