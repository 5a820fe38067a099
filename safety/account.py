"""The futures account's terms, read from the exchange: what the liquidation veto needs, and the drift check.

On USDT-M futures the leverage, the margin type and the maintenance brackets belong to the account: whatever
safety approved, the exchange margins and liquidates a position by them. ``tradewake run`` sets leverage and
margin type at start-up (``engine.exchange_setup.configure_account``); anybody can change them afterwards in
the Binance app. So:

- at reconciliation the terms of every traded symbol are read (settings and brackets) and handed to the veto
  through its market view (``Quote.terms``): the liquidation rule (``rules.check_stop_before_liquidation``)
  judges every entry against them;
- before the first entry on a symbol in this process the settings are read again; when they drifted from what
  the run configured the entry is not sent, the drift is journaled and a human is told.

The reads go to any broker that can answer them (``AccountSettingsReader``: ``CcxtBroker``, and ``SimBroker``
for paper runs and backtests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from core.errors import OperationalError, TemporaryError
from core.ids import Symbol
from exchange.binance_account import SymbolSettings
from exchange.liquidation import MaintenanceBracket, MarginType
from safety.views import AccountTerms


@runtime_checkable
class AccountSettingsReader(Protocol):
    async def fetch_symbol_settings(self, symbols: Sequence[Symbol] | None = None) -> dict[Symbol, SymbolSettings]:
        """Each symbol's leverage and margin type as the account has them."""
        ...

    async def fetch_leverage_brackets(self, symbol: Symbol) -> list[MaintenanceBracket]:
        """The symbol's maintenance margin brackets."""
        ...


@dataclass(frozen=True, slots=True)
class ExpectedTerms:
    """What the run configured on the account (``exchange.leverage``, ``exchange.margin_type``)."""

    leverage: int
    margin_type: MarginType

    def drift(self, found: SymbolSettings) -> str | None:
        if (found.leverage, found.margin_type) == (self.leverage, self.margin_type):
            return None
        return (
            f"{found.symbol} trades at {found.leverage}x {found.margin_type.value} margin on the account, not the "
            f"{self.leverage}x {self.margin_type.value} this run set; someone changed it (restart to set it again)"
        )


READ_ERRORS = (TemporaryError, OperationalError)


@dataclass
class FuturesTerms:
    reader: AccountSettingsReader
    expected: ExpectedTerms | None
    """None: nothing to compare against (a simulated account keeps what it was built with)."""
    terms: dict[Symbol, AccountTerms] = field(default_factory=dict)
    checked: set[Symbol] = field(default_factory=set)
    """Symbols whose settings were read again before their first entry in this process."""

    async def load(self, symbols: Sequence[Symbol]) -> str | None:
        """Read the terms of ``symbols``; what is wrong, in one line, or ``None``."""
        try:
            settings = await self.reader.fetch_symbol_settings(list(symbols))
            for symbol in symbols:
                brackets = tuple(await self.reader.fetch_leverage_brackets(symbol))
                found = settings[symbol]
                self.terms[symbol] = AccountTerms(found.leverage, found.margin_type, brackets)
        except READ_ERRORS as exc:
            return f"reading the futures account's leverage, margin type and brackets failed: {exc}"
        drifts = [d for s in symbols if (d := self._drift(settings[s])) is not None]
        return "; ".join(drifts) or None

    async def before_first_entry(self, symbol: Symbol) -> str | None:
        """Read ``symbol``'s settings again before its first entry in this process; why not to enter, or ``None``."""
        if symbol in self.checked or symbol not in self.terms:
            return None
        try:
            found = (await self.reader.fetch_symbol_settings([symbol]))[symbol]
        except READ_ERRORS as exc:
            return f"could not read {symbol}'s leverage and margin type before its first entry: {exc}"
        known = self.terms[symbol]
        self.terms[symbol] = AccountTerms(found.leverage, found.margin_type, known.brackets)
        drift = self._drift(found)
        if drift is None:
            self.checked.add(symbol)
        return drift

    def _drift(self, found: SymbolSettings) -> str | None:
        return self.expected.drift(found) if self.expected is not None else None
