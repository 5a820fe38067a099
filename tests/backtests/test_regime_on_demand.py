"""A backtest reads the regime only when something asks for it (``Engine.regime_on_demand``): the gate's label when
it is read, a decision's regime when ``place_order`` records it. Against the oracle that reads it at every step as a
live run does (``BacktestRequest.eager_regime``), on real slices: byte-identical ``metrics.json``, ``trades.csv``
and ``bars.csv``, the same journal event for event and the same saved gate state; and the SMA agent's run fits
fewer weekly models (a week in which it places nothing is never fitted)."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from backtests.data import BacktestData
from backtests.report.files import read_trades_csv
from backtests.runner import BacktestResult, run_backtest
from gate.persistence import STATE_KEY
from market.hmm import RegimeModel
from market.regime import RegimeSchedule
from store.sqlite_store import SqliteStore
from tests.backtests.test_fast_path import OUTPUTS, PAIRS, SERIES, Series, journal, pair_of, request, slice_of

pytestmark = pytest.mark.timeout(600)


def gate_state(result: BacktestResult) -> Any:
    store = SqliteStore(result.run.store_path, namespace="tw")
    try:
        return store.get(STATE_KEY)
    finally:
        store.close()


class CountingFits:
    """Counts ``RegimeModel.fit`` calls (each still fits: the real method is called)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = RegimeModel.fit.__func__  # type: ignore[attr-defined]

        def fit(cls: type[RegimeModel], *args: Any, **kwargs: Any) -> RegimeModel:
            self.calls += 1
            model: RegimeModel = real(cls, *args, **kwargs)
            return model

        monkeypatch.setattr(RegimeModel, "fit", classmethod(fit))


def both(data: BacktestData | list[BacktestData], agent: str, seed: int,
         fits: CountingFits) -> tuple[BacktestResult, int, int, set[datetime], set[str]]:  # fmt: skip
    """The on-demand run against the eager one; returns the on-demand run, each run's fits, the refit periods of its
    entries and the regimes its trades recorded."""
    with tempfile.TemporaryDirectory() as tmp:
        before = fits.calls
        eager = asyncio.run(run_backtest(replace(request(data, agent, seed, Path(tmp) / "eager", exact=False),
                                                 eager_regime=True)))  # fmt: skip
        eager_fits, before = fits.calls - before, fits.calls
        lazy = asyncio.run(run_backtest(request(data, agent, seed, Path(tmp) / "lazy", exact=False)))
        lazy_fits = fits.calls - before
        for name in OUTPUTS:
            assert (lazy.run.path / name).read_bytes() == (eager.run.path / name).read_bytes(), name
        assert journal(lazy) == journal(eager)
        assert gate_state(lazy) == gate_state(eager)
        rows = read_trades_csv(lazy.run.path / "trades.csv")
        weeks = {RegimeSchedule().refit_time(row.opened_at) for row in rows}
        return lazy, eager_fits, lazy_fits, weeks, {row.regime for row in rows}


@pytest.mark.parametrize(
    ("series", "agent", "seed", "length"),
    [(SERIES[2], "sma", 2, 2_500), (SERIES[3], "sma", 4, 2_500), (SERIES[0], "rules", 7, 400),
     (SERIES[2], "chaos", 11, 600), (SERIES[5], "sma", 5, 3_000)],
    ids=["futures-1h-sma", "eth-1h-sma", "bundled-1h-rules", "futures-1h-chaos", "real-5m-sma"],
)
def test_reading_the_regime_on_demand_changes_nothing(series: Series, agent: str, seed: int, length: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    fits = CountingFits(monkeypatch)
    offset = 3_000 if "1h" in series.path.name else 30_000  # history enough for a regime (500 1h bars)
    result, eager_fits, lazy_fits, weeks, regimes = both(slice_of(series, offset, length), agent, seed, fits)
    assert lazy_fits <= eager_fits
    if agent == "sma":  # the periods it fits: those of its entries (place_order records the regime) and the last
        assert result.performance.trades > 0  # one (the gate's state saved at the end reads the label)
        assert regimes - {""}, "no trade recorded a regime: the comparison would not see one"
        assert lazy_fits <= len(weeks) + 1, (lazy_fits, len(weeks), eager_fits)


def test_a_portfolio_reads_each_market_s_regime_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    fits = CountingFits(monkeypatch)
    _, _, _, _, regimes = both(pair_of(PAIRS[0], 30_000, 1_500), "sma", 3, fits)
    assert regimes - {""}
