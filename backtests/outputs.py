"""Everything a finished run writes beside its metrics: trades and bars CSV, the PNG charts, report.html.

Apart from ``backtests.rundir`` because the report reads run directories (a cycle otherwise).
"""

from __future__ import annotations

from typing import Any

from backtests.report.files import write_bars_csv, write_trades_csv
from backtests.report.plots import plot_equity, plot_price_with_trades
from backtests.report.render import write_report
from backtests.rundir import RunDir
from backtests.stats import RunRecorder
from core.settings import Settings


def write_run_outputs(run: RunDir, title: str, metrics: dict[str, Any], recorder: RunRecorder,
                      settings: Settings) -> None:  # fmt: skip
    """Trades and bars CSV, both PNG charts and the HTML report (the metrics file is written first, by the runner).

    ``title`` replaces the report's own title (symbol, timeframe, period, agent) when not empty.
    """
    symbol = str(metrics["run"]["symbol"])
    portfolio = bool(metrics["run"].get("symbols"))  # the bars' close is then the basket, 100 at the start
    write_trades_csv(run.path / "trades.csv", recorder.trades, recorder.open_positions())
    bars = write_bars_csv(run.path / "bars.csv", recorder.times, recorder.closes, recorder.equity)
    plot_equity(run.path / "equity.png", recorder.times, recorder.equity)
    label = f"equal-weight basket of {symbol} (100 = start)" if portfolio else symbol
    plot_price_with_trades(run.path / "price.png", recorder.times, recorder.closes,
                           [] if portfolio else recorder.trades, label)  # fmt: skip
    write_report(run, namespace=settings.store.namespace, learner=settings.learner, title=title or None, bars=bars)
