"""Several markets in one backtest: merged by time through one engine and one account, so the account's limits
act across them; each market's statistics beside the portfolio's; the report renders; the skipping path and the
per-candle oracle agree; the CLI takes ``--data`` (or ``--symbol``) more than once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import pytest

from backtests.cli import _agent_choice
from backtests.data import BacktestData, select_data
from backtests.report.view import load_run_view
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from backtests.scripted import sma_settings
from core.settings import Settings, load_settings
from core.types import ClosedTrade
from tests.backtests.test_fast_path import journal
from tests.conftest import SHARED_DATA
from tests.dashboard.test_actions import get
from tests.e2e.cli_helpers import run_cli, run_cli_here

START, END = datetime(2022, 6, 1, tzinfo=UTC), datetime(2022, 8, 1, tzinfo=UTC)
BTC_1H, ETH_1H = SHARED_DATA / "binance_BTC-USDT_1h.csv", SHARED_DATA / "binance_ETH-USDT_1h.csv"


def markets() -> tuple[BacktestData, BacktestData]:
    return (select_data(data=BTC_1H, start=START, end=END), select_data(data=ETH_1H, start=START, end=END))


def portfolio(
    out: Path, settings: Settings | None = None, *, exact: bool = False, agent: str = "rules"
) -> BacktestResult:
    btc, eth = markets()
    base = settings or load_settings(None)
    choice = _agent_choice(agent, [btc, eth], None)
    if agent == "sma":
        base = sma_settings(base, btc.timeframe)
    request = BacktestRequest(base, btc, out, choice, exact=exact, more=(eth,))
    return asyncio.run(run_backtest(request))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> BacktestResult:
    return portfolio(tmp_path_factory.mktemp("portfolio") / "run")


def test_both_markets_trade_through_one_account_and_their_statistics_add_up(run: BacktestResult) -> None:
    metrics = run.metrics
    assert metrics["run"]["symbols"] == ["BTC/USDT", "ETH/USDT"] and metrics["run"]["symbol"] == "BTC/USDT+ETH/USDT"
    per_market = metrics["markets"]
    assert all(per_market[s]["trades"] > 0 for s in ("BTC/USDT", "ETH/USDT")), "both markets traded"
    assert sum(m["trades"] for m in per_market.values()) == metrics["performance"]["trades"]
    assert sum(Decimal(m["net_pnl"]) for m in per_market.values()) == sum(t.net_pnl for t in run.trades)
    assert sum(Decimal(m["fees"]) for m in per_market.values()) == Decimal(metrics["performance"]["fees"])
    assert metrics["run"]["candles"] == 2 * 1464 and metrics["agent"]["steps"] == 2 * 1464
    assert metrics["performance"]["bars"] == 1464, "one bar per hour: the portfolio's equity after both markets"
    held = [max(m["exposure_pct"] for m in per_market.values()), metrics["performance"]["exposure_pct"]]
    assert held[0] <= held[1] <= sum(m["exposure_pct"] for m in per_market.values())


def test_the_portfolio_buy_and_hold_is_the_equal_weight_basket(run: BacktestResult) -> None:
    markets_ = run.metrics["markets"]
    basket = sum(1 + m["buy_and_hold_return_pct"] / 100 for m in markets_.values()) / 2
    assert run.metrics["performance"]["buy_and_hold_return_pct"] == pytest.approx((basket - 1) * 100, abs=1e-8)
    bars = (run.run.path / "bars.csv").read_text().splitlines()
    assert bars[1].split(",")[1] == "100.0", "the basket starts at 100"


def test_the_report_of_a_portfolio_renders(run: BacktestResult) -> None:
    view = load_run_view(run.run, namespace="tw", learner=load_settings(None).learner)
    assert view.chart is not None and all("value" not in p for p in view.chart["stops"]), "no one market's stops"
    texts = {m["text"].split()[0] for m in view.chart["markers"] if m["shape"] != "circle"}
    assert {"BTC", "ETH"} <= texts, "each marker names its market"
    html = run.run.report_path.read_text(encoding="utf-8")
    assert "BTC/USDT+ETH/USDT" in html and "equal-weight basket" in html
    assert (run.run.path / "price.png").stat().st_size > 0


def test_the_dashboard_lists_and_shows_a_portfolio_run(run: BacktestResult) -> None:
    """The real app under uvicorn over the run's directory: the runs list and the run's page."""
    from dashboard.app import DashboardConfig
    from dashboard.auth import Token
    from tests.dashboard.conftest import TOKEN, Served

    settings = load_settings(None, store={"url": "sqlite:////nonexistent/tw.sqlite3"})
    config = DashboardConfig(settings=settings, runs_dir=run.run.path.parent, token=Token(TOKEN, from_env=True))
    served = Served(config).start()
    try:
        pages = {path: get(served.url + path) for path in ("/runs", "/runs/run", "/runs/run/report.html")}
    finally:
        served.stop()
    assert all(status == 200 for status, _ in pages.values()), {p: s for p, (s, _) in pages.items()}
    assert "BTC/USDT+ETH/USDT 1h" in pages["/runs"][1]
    assert "BTC/USDT+ETH/USDT" in pages["/runs/run"][1] and "ETH/USDT" in pages["/runs/run/report.html"][1]


def test_skipping_and_the_per_candle_oracle_agree_on_a_portfolio(tmp_path: Path, run: BacktestResult) -> None:
    exact = portfolio(tmp_path / "exact", exact=True)
    for name in ("metrics.json", "trades.csv", "bars.csv"):
        assert (run.run.path / name).read_bytes() == (exact.run.path / name).read_bytes(), name
    assert journal(run) == journal(exact)


def test_the_exposure_cap_acts_across_markets(tmp_path: Path) -> None:
    """The SMA agent enters 95 % of equity, the cap of total exposure: with one market held, the other market's
    cross is refused (``exposure_cap``), which a one-market run never sees; the two are never held at once."""
    result = portfolio(tmp_path / "sma", agent="sma")
    per_market = result.metrics["markets"]
    assert per_market["BTC/USDT"]["trades"] > 0 and per_market["ETH/USDT"]["trades"] > 0, "each on its own averages"
    assert result.agent.vetoes_by_code.get("exposure_cap", 0) > 0

    def overlaps(trades: list[ClosedTrade]) -> int:
        """Pairs of trades in different markets that were open at the same time."""
        return sum(1 for a, b in combinations(trades, 2)
                   if a.symbol != b.symbol and a.opened_at < b.closed_at and b.opened_at < a.closed_at)  # fmt: skip

    assert overlaps(result.trades) == 0


def test_the_cli_takes_several_markets_and_refuses_what_cannot_run(tmp_path: Path) -> None:
    window = ("--from", "2022-07-01", "--to", "2022-07-15", "--quiet")
    done = run_cli("backtest", "--data", str(BTC_1H), "--data", str(ETH_1H), *window, "--out", "runs/two", cwd=tmp_path,
                   timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("BTC/USDT+ETH/USDT 1h")
    assert json.loads((tmp_path / "runs/two/metrics.json").read_text())["run"]["symbols"] == ["BTC/USDT", "ETH/USDT"]
    mismatch = run_cli_here("backtest", "--data", str(BTC_1H), "--data", str(ETH_1H), "--symbol", "BTC/USDT", *window,
                       cwd=tmp_path)  # fmt: skip
    assert mismatch.returncode == 2 and "one --symbol per --data" in mismatch.stderr
    disguised = run_cli_here("backtest", "--data", str(BTC_1H), "--data", str(ETH_1H), "--anonymize", *window, cwd=tmp_path)
    assert disguised.returncode == 2 and "--anonymize" in disguised.stderr
    mixed = run_cli_here("backtest", "--data", str(BTC_1H), "--data", str(SHARED_DATA / "binance_ETH-USDT_15m.csv.gz"),
                    "--from", "2023-07-01", "--to", "2023-08-01", "--quiet", cwd=tmp_path)  # fmt: skip
    assert mixed.returncode == 2 and "share a timeframe" in mixed.stderr
    accounts = run_cli_here("backtest", "--data", str(BTC_1H), "--data", str(SHARED_DATA / "binance_ADA-BTC_1h.csv"),
                       "--from", "2020-04-20", "--to", "2020-04-25", "--warmup", "10", "--quiet", cwd=tmp_path)  # fmt: skip
    assert accounts.returncode == 2 and "one account" in accounts.stderr and "BTC spot, USDT spot" in accounts.stderr
    twice = run_cli_here("backtest", "--data", str(BTC_1H), "--data", str(BTC_1H), *window, cwd=tmp_path)
    assert twice.returncode == 2 and "given twice" in twice.stderr
