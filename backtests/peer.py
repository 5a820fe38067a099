"""The peer for the accounting cross-check: an SMA crossover in backtesting.py.

backtesting.py is a dev dependency (imported lazily). The same strategy runs through our engine as
a scripted agent (``backtests.scripted``); entries, exits and return must agree within the
tolerance documented in ``tests/backtests/test_cross_check.py``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from pydantic import BaseModel, ConfigDict


class PeerTrade(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_at: datetime
    exit_at: datetime
    entry_price: float
    exit_price: float


class PeerResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    trades: tuple[PeerTrade, ...]
    final_equity: float
    return_pct: float


def sma_cross_backtesting_py(
    candles: pd.DataFrame, *, fast: int, slow: int, fee: float, cash: float, size: float
) -> PeerResult:
    """Long-only SMA(fast)/SMA(slow) crossover: buy ``size`` of equity on a cross up, close on a cross down.

    ``candles`` has a UTC DatetimeIndex (bar open time) and columns open/high/low/close/volume.
    Orders fill at the next bar's open (backtesting.py's default), like our simulated market orders.
    """
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest, crossover

    class SmaCross(Strategy):  # type: ignore[misc]  # backtesting.py ships no type hints
        def init(self) -> None:
            close = pd.Series(self.data.Close)
            self.fast = self.I(lambda: close.rolling(fast).mean().to_numpy(), name="fast")
            self.slow = self.I(lambda: close.rolling(slow).mean().to_numpy(), name="slow")

        def next(self) -> None:
            if crossover(self.fast, self.slow) and not self.position:
                self.buy(size=size)
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    data = candles.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    bt = FractionalBacktest(data, SmaCross, cash=cash, commission=fee, finalize_trades=True, fractional_unit=1e-8)
    stats = bt.run()
    frame = stats["_trades"]
    trades = tuple(
        PeerTrade(
            entry_at=row.EntryTime.to_pydatetime(),
            exit_at=row.ExitTime.to_pydatetime(),
            entry_price=float(row.EntryPrice),
            exit_price=float(row.ExitPrice),
        )
        for row in frame.itertuples()
    )
    final_equity = float(stats["Equity Final [$]"])
    return PeerResult(trades=trades, final_equity=final_equity, return_pct=float(stats["Return [%]"]))
