"""The user's path: ``tradewake backtest``, then read the run back with ``runs``, ``decisions``, ``memory``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli_helpers import run_cli, run_cli_here

WINDOW = ("--from", "2025-02-01", "--to", "2025-03-01")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("cli")
    done = run_cli("backtest", *WINDOW, "--agent", "rules", "--quiet", "--out", "runs/first", cwd=cwd, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "report: runs/first/report.html" in done.stdout
    assert "return" in done.stdout and "wakes" in done.stdout
    return cwd


def test_the_report_names_the_run_by_its_id_not_its_staging_directory(workdir: Path) -> None:
    """The report is written before the staged run is moved into place; it must still say ``first``."""
    report = (workdir / "runs/first/report.html").read_text(encoding="utf-8")
    assert 'run <span class="mono">first</span>' in report and ".partial-" not in report


def test_runs_list_and_show_read_the_metrics(workdir: Path) -> None:
    listed = run_cli("runs", "list", "--json", cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["run"] for r in rows] == ["first"] and rows[0]["agent"] == "rules"
    shown = run_cli("runs", "show", "first", "--json", cwd=workdir)
    metrics = json.loads(shown.stdout)
    assert metrics["run"]["candles"] == 672 and metrics["performance"]["bars"] == 672
    assert metrics == json.loads((workdir / "runs/first/metrics.json").read_text())


def test_decisions_shows_tool_calls_and_filters_by_tool(workdir: Path) -> None:
    every = json.loads(run_cli("decisions", "first", "--json", "--all", cwd=workdir).stdout)
    assert every and all(d["wake"]["kind"] for d in every)
    orders = json.loads(run_cli("decisions", "first", "--json", "--tool", "place_order", "--all", cwd=workdir).stdout)
    assert orders, "the rules agent entered at least once in February 2025"
    assert all(any(c["name"] == "place_order" for c in d["tool_calls"]) for d in orders)
    assert len(orders) < len(every)
    text = run_cli("decisions", "first", "--tool", "place_order", "--last", "1", "--details", cwd=workdir).stdout
    assert "place_order(" in text and f"the latest 1 of {len(orders)} decision(s)" in text


def test_vetoed_filter_and_memory_history(workdir: Path) -> None:
    vetoed = json.loads(run_cli("decisions", "first", "--vetoed", "--json", cwd=workdir).stdout)
    assert all(any(c["veto"] for c in d["tool_calls"]) for d in vetoed)
    memory = run_cli("memory", "first", "--json", cwd=workdir)
    assert memory.returncode == 0 and json.loads(memory.stdout) == [], "the rules agent keeps no memory note"


def test_an_unknown_run_is_one_clear_line(workdir: Path) -> None:
    missing = run_cli_here("decisions", "nope", cwd=workdir)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: no run 'nope'") and "first" in missing.stderr


def test_bad_backtest_input_is_refused_before_anything_runs(workdir: Path) -> None:
    wrong = run_cli_here("backtest", "--from", "2025-03-01", "--to", "2025-02-01", cwd=workdir)
    assert wrong.returncode == 2 and "is not before" in wrong.stderr
    alone = run_cli_here("backtest", "--symbol", "BTC/USDT", cwd=workdir)
    assert alone.returncode == 2 and "--symbol and --timeframe go together" in alone.stderr


def test_an_anonymized_run_hides_symbol_dates_and_prices_from_the_agent(workdir: Path) -> None:
    week = ("--from", "2025-02-01", "--to", "2025-02-08")  # what is hidden does not depend on the length
    done = run_cli("backtest", *week, "--anonymize", "--quiet", "--out", "runs/anon", cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((workdir / "runs/anon/metrics.json").read_text())
    facts = metrics["run"]
    assert facts["symbol"] == "ASSET/USDT" and facts["data"] == "anonymized" and facts["anonymized"] is True
    assert facts["first_candle"].startswith("2000-01-")
    decisions = json.loads(run_cli("decisions", "anon", "--json", cwd=workdir).stdout)
    assert decisions, "a week of 4h closes wakes the agent"
    seen = json.dumps(decisions)
    assert "BTC" not in seen and "2025-" not in seen
    assert decisions[0]["symbol"] == "ASSET/USDT"


def test_the_sma_agent_runs_with_the_limits_it_needs(workdir: Path) -> None:
    done = run_cli("backtest", *WINDOW, "--agent", "sma", "--quiet", "--out", "runs/sma", cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((workdir / "runs/sma/metrics.json").read_text())
    assert metrics["agent"]["tool_calls"].get("place_order", 0) > 0
    assert metrics["agent"]["vetoes_by_code"] == {}, "its 95 % size and 50 % stop are allowed, not vetoed"
