"""The golden backtest: the rules agent on bundled real BTC/USDT 1h candles (2025 Q1) through the whole
engine. Every metric is pinned, and a second run is byte-identical. A change to any of these numbers
is a change in behaviour: explain it in the commit that updates ``golden/rules_btc_1h_2025q1.json``
(regenerate with ``TRADEWAKE_UPDATE_GOLDEN=1 pytest tests/backtests/test_golden.py``)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backtests.data import select_data
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from core.settings import load_settings
from store.sqlite_store import SqliteStore
from tools.replay_journal import READ_ONLY_TOOLS

GOLDEN = Path(__file__).parent / "golden" / "rules_btc_1h_2025q1.json"


def golden_run(out: Path) -> BacktestResult:
    data = select_data(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 4, 1, tzinfo=UTC))
    return asyncio.run(run_backtest(BacktestRequest(load_settings(None), data, out)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[BacktestResult, BacktestResult]:
    base = tmp_path_factory.mktemp("golden")
    return golden_run(base / "a"), golden_run(base / "b")


def test_every_metric_matches_the_golden_file(runs: tuple[BacktestResult, BacktestResult]) -> None:
    first, _ = runs
    if os.environ.get("TRADEWAKE_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(first.run.metrics_path.read_bytes())
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    actual = json.loads(first.run.metrics_path.read_text(encoding="utf-8"))
    for section in ("performance", "agent", "run"):
        for key, value in expected[section].items():
            assert actual[section][key] == value, f"{section}.{key}"
    assert actual == expected
    assert actual["performance"]["trades"] > 0, "the reference run must trade"


def test_the_same_inputs_give_a_byte_identical_metrics_file_and_trade_list(
    runs: tuple[BacktestResult, BacktestResult],
) -> None:
    first, second = runs
    assert first.run.metrics_path.read_bytes() == second.run.metrics_path.read_bytes()
    assert (first.run.path / "trades.csv").read_bytes() == (second.run.path / "trades.csv").read_bytes()
    assert (first.run.path / "equity.png").read_bytes() == (second.run.path / "equity.png").read_bytes()


def test_the_run_directory_holds_every_report(runs: tuple[BacktestResult, BacktestResult]) -> None:
    run = runs[0].run
    for name in ("metrics.json", "trades.csv", "bars.csv", "equity.png", "price.png", "report.html", "store.sqlite3"):
        assert (run.path / name).stat().st_size > 0, name
    html = run.report_path.read_text(encoding="utf-8")
    assert "window.LightweightCharts" in html or "LightweightCharts" in html, "the chart library is inlined"
    assert ' src="http' not in html and ' href="http' not in html, "the report loads nothing from the network"


def test_a_backtest_journals_read_only_tool_calls_in_their_decision_only(
    runs: tuple[BacktestResult, BacktestResult],
) -> None:
    """``tools.replay_journal``: no ``tool_call``/``tool_result`` event for a read-only tool (the decision event
    holds each call with its result); every side-effecting call is journaled as it happens, as live."""
    store = SqliteStore(runs[0].run.path / "store.sqlite3", durable=False)
    try:
        events = store.read_journal()
    finally:
        store.close()
    tool_events = [e for e in events if e.kind in ("tool_call", "tool_result")]
    assert not [e for e in tool_events if e.payload["tool"] in READ_ONLY_TOOLS]
    decisions = [e.payload for e in events if e.kind == "decision"]
    read_calls = [c for d in decisions for c in d["tool_calls"] if c["name"] in READ_ONLY_TOOLS]
    assert len(read_calls) >= len(decisions), "every rules decision reads the portfolio: recorded in the decision"
    placed = [c for d in decisions for c in d["tool_calls"] if c["name"] == "place_order" and not c["is_error"]]
    journaled = {(e.kind, e.payload["tool_call_id"]) for e in tool_events if e.payload["tool"] == "place_order"}
    assert placed and all({("tool_call", c["tool_call_id"]), ("tool_result", c["tool_call_id"])} <= journaled
                          for c in placed)
