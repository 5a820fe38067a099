"""The run's files and report: trades.csv with the open position, bars.csv, numbers for people, the chart data
and a report that is one self-contained file; on the real runs of the session fixture where data matter."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from backtests.report import fmt
from backtests.report.chart import _Axis, chart_data
from backtests.report.files import Bars, read_bars_csv, read_trades_csv
from backtests.report.journal import StopChange
from backtests.report.view import load_run_view, monthly_rows
from core.settings import LearnerSettings
from tests.dashboard.conftest import Runs

T0 = datetime(2025, 1, 18, tzinfo=UTC)


def test_numbers_are_rounded_for_people() -> None:
    assert fmt.money(Decimal("10032.4743785909")) == "10,032.47"
    assert fmt.signed_pct(0.3247437859) == "+0.32%"
    assert fmt.price(93314.89) == "93,314.89" and fmt.price(0.35123456) == "0.351235" and fmt.price(2.5) == "2.5000"
    assert fmt.qty("0.021430") == "0.02143"
    assert fmt.usd(0.0042) == "$0.0042" and fmt.usd(1.234) == "$1.23"
    assert fmt.tokens(19_600) == "19.6k" and fmt.tokens(950) == "950"
    assert fmt.duration(3 * 86400 + 4 * 3600 + 59) == "3 d 4 h" and fmt.duration(5400) == "1 h 30 min"
    assert fmt.when("2025-01-08T14:00:00+00:00") == "2025-01-08 14:00"
    assert fmt.num(None) == fmt.MISSING and fmt.tone(-1) == "neg"


def test_monthly_grid_compounds_each_year() -> None:
    rows = monthly_rows({"2024-12": 10.0, "2025-01": 10.0, "2025-02": -10.0})
    assert [r.year for r in rows] == [2024, 2025]
    assert rows[1].months[:3] == (10.0, -10.0, None)
    assert rows[1].total == pytest.approx(-1.0)


def test_chart_snaps_markers_to_bars_and_draws_stops_only_while_open() -> None:
    times = tuple(T0 + timedelta(hours=h) for h in range(6))
    bars = Bars(times, (100.0, 101, 102, 103, 104, 105), (1000.0, 1001, 999, 1002, 1003, 1004))
    stops = [StopChange(times[1], "p1", Decimal(95)), StopChange(times[3], "p1", Decimal(98)),
             StopChange(times[4], "p1", None)]  # fmt: skip
    data = chart_data(bars, [], stops, [])
    assert [p.get("value") for p in data["stops"]] == [None, 95.0, 95.0, 98.0, None, None]
    assert data["buy_hold"][-1]["value"] == pytest.approx(1050.0)
    assert data["drawdown"][2]["value"] == pytest.approx((999 / 1001 - 1) * 100)
    axis = _Axis(times)
    assert axis.snap(times[2] + timedelta(minutes=30)) == int(times[2].timestamp())


def test_trades_csv_lists_the_open_position_flagged_and_marked(runs: Runs) -> None:
    rows = read_trades_csv(runs.rules.run.path / "trades.csv")
    metrics = runs.rules.metrics
    open_rows = [r for r in rows if r.is_open]
    assert len(open_rows) == metrics["performance"]["open_positions"] == len(metrics["open_positions"])
    closed = [r for r in rows if not r.is_open]
    assert len(closed) == metrics["performance"]["trades"]
    for row, marked in zip(open_rows, metrics["open_positions"], strict=True):
        assert row.exit_price is None and row.closed_at is None
        assert row.mark_price == Decimal(marked["mark_price"]) and row.net_pnl == Decimal(marked["unrealized_pnl"])
    bars = read_bars_csv(runs.rules.run.path / "bars.csv")
    assert len(bars.times) == metrics["performance"]["bars"]
    assert bars.equity[-1] == pytest.approx(metrics["performance"]["final_equity"])


def test_a_run_with_a_position_open_at_the_end_shows_it(runs: Runs) -> None:
    with_open = [r for r in (runs.llm, runs.rules) if r.metrics["open_positions"]]
    assert with_open, "one of the fixture runs ends with a position open (pick another window if not)"
    run = with_open[0].run
    view = load_run_view(run, namespace=runs.settings.store.namespace, learner=LearnerSettings())
    assert len(view.open_positions) == len(with_open[0].metrics["open_positions"])
    html = run.report_path.read_text(encoding="utf-8")
    section = html[html.index('id="open-positions"') : html.index('id="trades"')]
    assert 'class="open"' in section and fmt.price(view.open_positions[0].mark_price) in section


def test_the_llm_run_view_has_reasoning_vetoes_memory_tokens_and_cost(runs: Runs) -> None:
    view = load_run_view(runs.llm.run, namespace=runs.settings.store.namespace, learner=LearnerSettings())
    llm = [d for d in view.decisions if d.backend == "anthropic"]
    assert llm and all(d.tokens > 0 and d.cost_usd > 0 for d in llm)
    assert any("look at the tape" in d.reasoning for d in llm)
    assert [v.code for v in view.vetoes] == list(runs.llm.agent.vetoes_by_code)
    assert view.memory and "Long BTC" in view.memory[-1]["text"]
    assert view.learner[0].scope == "global"
    assert any(d.kind == "trade" and "capped by safety" in d.action for d in view.decisions)


def test_the_report_is_one_self_contained_file(runs: Runs) -> None:
    html = runs.llm.run.report_path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "nothing is loaded from the network"
    assert "<link" not in html and "TradingView Lightweight Charts" in html
    data = html[html.index('<script id="run-data" type="application/json">') :]
    chart = json.loads(data[data.index(">") + 1 : data.index("</script>")])
    assert chart["markers"] and len(chart["price"]) == runs.llm.performance.bars
    assert len(html) < 3_000_000, f"report of a week is {len(html):,} bytes"


def test_a_report_for_a_run_from_before_bars_csv_still_renders(runs: Runs, tmp_path: Path) -> None:
    import shutil

    from backtests.report.render import write_report
    from backtests.rundir import RunDir

    copy = RunDir(tmp_path / "old")
    shutil.copytree(runs.rules.run.path, copy.path)
    (copy.path / "bars.csv").unlink()
    write_report(copy, namespace=runs.settings.store.namespace, learner=LearnerSettings())
    html = copy.report_path.read_text(encoding="utf-8")
    assert "before per-bar data" in html and '<script id="run-data" type="application/json">' not in html


def test_a_long_run_s_report_lists_every_acting_decision_and_only_the_latest_quiet_ones(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backtests.report import render

    view = load_run_view(runs.rules.run, namespace=runs.settings.store.namespace, learner=LearnerSettings())
    quiet = [d for d in view.decisions if d.kind == "quiet" and d.memory_update is None]
    assert len(quiet) > 3 and view.acted, "the fixture run has both kinds"
    monkeypatch.setattr(render, "QUIET_LINES", 3)
    shown, left_out = render.report_decisions(view)
    assert [d.seq for d in shown] == sorted(d.seq for d in shown), "still in time order"
    assert {d.seq for d in view.acted} <= {d.seq for d in shown}
    assert [d.seq for d in shown if d in quiet] == [d.seq for d in quiet[-3:]]
    assert left_out == len(quiet) - 3 == len(view.decisions) - len(shown)
    assert f"The {left_out:,} oldest quiet wakes are not listed" in render.render_report(view)


def test_the_run_s_report_from_its_bars_in_memory_is_the_one_rendered_from_its_files(runs: Runs,
                                                                                     tmp_path: Path) -> None:
    """A run hands its report the bars it just wrote (``write_bars_csv`` returns them as ``read_bars_csv`` reads
    the file back) instead of reading 300,000 rows back: the same report, byte for byte."""
    import shutil

    from backtests.report.files import write_bars_csv
    from backtests.report.render import write_report
    from backtests.rundir import RunDir

    copy = RunDir(tmp_path / runs.rules.run.path.name)  # the run's name is in its report
    shutil.copytree(runs.rules.run.path, copy.path)
    read = read_bars_csv(copy.path / "bars.csv")
    written = write_bars_csv(tmp_path / "bars.csv", read.times, read.closes, read.equity)
    assert written == read and (tmp_path / "bars.csv").read_bytes() == (copy.path / "bars.csv").read_bytes()
    write_report(copy, namespace=runs.settings.store.namespace, learner=LearnerSettings())
    assert copy.report_path.read_bytes() == runs.rules.run.report_path.read_bytes()
