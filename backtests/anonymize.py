"""``--anonymize``: the run happens in a disguised copy of the market, so an LLM agent cannot recognise
the period and recall what came next.

Prices are rebased (every price times one factor, so the first close is 100; volumes divided by it, so
notionals are unchanged), dates are shifted by a whole number of weeks so the series starts in the
first week of 2000 (weekday and hour-of-day patterns survive), and the symbol becomes ``ASSET/<quote>``
with the real market's trading rules. Returns, drawdowns and trade counts are those of the real series
up to price rounding; the factor and the shift are written into the run's metrics so a reader can map
the run back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from backtests.data import BacktestData, frame_digest
from core.ids import Symbol
from core.money import MarketRules

REBASE_TO = 100.0
_EPOCH_WEEK = datetime(2000, 1, 3, tzinfo=UTC)
"""A Monday: the disguised series starts in this week."""


@dataclass(frozen=True)
class Disguise:
    real_symbol: Symbol
    symbol: Symbol
    price_factor: float
    shift: timedelta

    def facts(self) -> dict[str, object]:
        return {
            "anonymized": True,
            "price_factor": self.price_factor,
            "shift_days": self.shift.days,
            "disguised_symbol": self.symbol,
        }

    def rules(self, real: MarketRules) -> MarketRules:
        return real.model_copy(update={"symbol": self.symbol})


def anonymize(data: BacktestData) -> tuple[BacktestData, Disguise]:
    candles = data.candles
    factor = REBASE_TO / float(candles["close"].iloc[0])
    weeks = (data.start - _EPOCH_WEEK) // timedelta(weeks=1)
    shift = timedelta(weeks=weeks)
    disguised = _disguise(candles, factor, shift)
    quote = data.symbol.split("/", 1)[1] if "/" in data.symbol else "USDT"
    symbol = Symbol(f"ASSET/{quote}")
    history = _disguise(data.history, factor, shift)
    anonymized = BacktestData(symbol, data.timeframe, disguised, history, "anonymized", frame_digest(disguised))
    return anonymized, Disguise(data.symbol, symbol, factor, shift)


def _disguise(candles: pd.DataFrame, factor: float, shift: timedelta) -> pd.DataFrame:
    disguised = candles.copy()
    for column in ("open", "high", "low", "close"):
        disguised[column] = candles[column] * factor
    disguised["volume"] = candles["volume"] / factor
    disguised.index = pd.DatetimeIndex(candles.index - pd.Timedelta(shift), name=candles.index.name)
    return disguised
