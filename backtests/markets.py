"""The market a backtest's simulated exchange lists: the data's symbol, with the recorded rules
(``exchange.sim.markets``), else those of the markets file, else rules inferred from its candles (a
warning, in the summary and in ``metrics.json``)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.ids import Symbol
from core.money import MarketRules
from exchange.markets import default_markets
from exchange.sim.markets import ResolvedRules, known_market_rules, market_rules_for

if TYPE_CHECKING:
    from backtests.anonymize import Disguise
    from backtests.data import BacktestData
    from core.settings import Settings

PRICE_COLUMNS = ["open", "high", "low", "close"]


def backtest_markets(
    settings: Settings, data: BacktestData, disguise: Disguise | None = None
) -> tuple[dict[Symbol, MarketRules], dict[str, str]]:
    """The simulated exchange's markets for this run (the data's market only: with the cash in BTC for
    ETH/BTC, a listed BTC/USDT would show that cash as a BTC position), and the facts its metrics record
    about the market's rules (none when they are the recorded ones, as for the golden run)."""
    market_type = settings.exchange.market_type
    real = disguise.real_symbol if disguise is not None else data.symbol
    if (":" in real) != (market_type == "future"):
        raise ConfigError(f"{real} is not a {market_type} market (exchange.market_type is {market_type})")
    markets = default_markets()
    known = known_market_rules(real, market_type, markets)
    # Inferred from the candles traded (rebased ones when anonymized), named as the agent sees the market.
    resolved = known or market_rules_for(data.symbol, market_type, markets=markets,
                                         prices=data.all_candles[PRICE_COLUMNS].to_numpy())
    _check_quote(settings, resolved)
    chosen = _with_fee(resolved.rules, settings.backtest.fee_pct)
    if disguise is not None:
        chosen = disguise.rules(chosen)
    return {data.symbol: chosen}, resolved.facts()


def _check_quote(settings: Settings, resolved: ResolvedRules) -> None:
    """A market the account cannot trade fails here, loudly, not as a run without a single fill."""
    rules = resolved.rules
    if rules.quote != settings.exchange.quote:
        raise ConfigError(
            f"{rules.symbol} is quoted in {rules.quote} but the account holds {settings.exchange.quote} "
            "(exchange.quote; `tradewake backtest` sets it from the data's symbol)"
        )


def _with_fee(rules: MarketRules, fee_pct: float | None) -> MarketRules:
    """The run's fee override (``--fees``), exactly as ``engine.wiring.sim_markets`` applies it."""
    if fee_pct is None:
        return rules
    fee = Decimal(str(fee_pct)) / Decimal(100)
    return rules.model_copy(update={"maker_fee": fee, "taker_fee": fee})
