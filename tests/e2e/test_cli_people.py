"""The CLI as a trader reads it (issue 19, part 3), through the real ``tradewake`` in a subprocess: the
backtest summary, ``decisions`` one line each, ``--run`` on the inspecting commands, ``runs list|show|
compare`` rounded for people while ``--json`` keeps every digit."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_helpers import run_cli, run_cli_here

FEBRUARY = ("--from", "2025-02-01", "--to", "2025-02-20")
"""The rules agent holds BTC from 6 February to the 22nd: the run ends holding it."""
LINE = re.compile(r"^#\d+ +(\d{4}-\d\d-\d\d \d\d:\d\d)  (\w+) +(.+?) +(\S+) tok +(\$\S+)$")
"""One decision: ``#seq time wake action tokens tok $cost``."""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs: the rules agent over most of February 2025 (it ends holding a position) and the SMA agent over
    its first half, written with ``--json``. ``store.url`` names a file that does not exist: inspecting
    a run must never need, nor create, the configured store."""
    cwd = tmp_path_factory.mktemp("people")
    feb = run_cli("backtest", *FEBRUARY, "--quiet", "--out", "runs/feb", cwd=cwd, timeout=300)
    assert feb.returncode == 0, feb.stderr
    (cwd / "summary.txt").write_text(feb.stdout)
    sma = run_cli("backtest", "--from", "2025-02-01", "--to", "2025-02-15", "--agent", "sma", "--json",
                  "--out", "runs/sma", cwd=cwd, timeout=300)  # fmt: skip
    assert sma.returncode == 0, sma.stderr
    (cwd / "sma.json").write_text(sma.stdout)
    (cwd / "tradewake.toml").write_text('[store]\nurl = "sqlite:///missing/live.sqlite3"\n')
    return cwd


def metrics(workdir: Path, run: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((workdir / "runs" / run / "metrics.json").read_text())
    return loaded


def decisions_json(workdir: Path, *args: str) -> list[dict[str, Any]]:
    done = run_cli("decisions", "feb", "--json", *args, cwd=workdir)
    assert done.returncode == 0, done.stderr
    loaded: list[dict[str, Any]] = json.loads(done.stdout)
    return loaded


def test_the_summary_shows_buy_and_hold_the_open_position_and_what_to_open_next(workdir: Path) -> None:
    summary = (workdir / "summary.txt").read_text()
    perf = metrics(workdir, "feb")["performance"]
    assert f"buy & hold {perf['buy_and_hold_return_pct']:+.2f}%" in summary
    assert f"return {perf['total_return_pct']:+.2f}%" in summary
    held = metrics(workdir, "feb")["open_positions"]
    assert len(held) == 1, "the rules agent ends 20 February 2025 holding BTC"
    assert "open at the end: 1 " in summary and f"since {held[0]['opened_at'][:10]}" in summary
    assert "{" not in summary, "no dict repr for people"
    tail = summary.splitlines()[-4:]
    assert tail[0] == "next:" and "runs/feb/report.html" in tail[1]
    assert "tradewake dashboard" in tail[2] and "tradewake decisions runs/feb" in tail[3]


def test_backtest_json_is_the_metrics_with_where_the_run_is(workdir: Path) -> None:
    printed = json.loads((workdir / "sma.json").read_text())
    assert printed.pop("run_dir") == "runs/sma" and printed.pop("report") == "runs/sma/report.html"
    assert printed == metrics(workdir, "sma"), "every number at full precision, as in metrics.json"


def test_decisions_shows_the_latest_thirty_one_line_each(workdir: Path) -> None:
    every = decisions_json(workdir, "--all")
    shown = run_cli("decisions", "feb", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[-1] == f"the latest 30 of {len(every):,} decision(s) (--all for every one, --last N for more)"
    rows = [LINE.match(line) for line in lines[:-1]]
    assert len(rows) == 30 and all(rows), lines[:3]
    last = every[-1]
    assert rows[-1] is not None and rows[-1].group(2) == last["wake"]["kind"]
    assert rows[-1].group(1) == datetime.fromisoformat(last["as_of"]).strftime("%Y-%m-%d %H:%M")
    everything = run_cli("decisions", "feb", "--all", cwd=workdir).stdout.splitlines()
    assert len(everything) == len(every) + 1 and everything[-1] == f"{len(every):,} decision(s)"


def test_decisions_entries_and_a_time_window(workdir: Path) -> None:
    entries = decisions_json(workdir, "--entries", "--all")
    assert entries and all(
        any(c["name"] == "place_order" and c["veto"] is None and not c["is_error"] for c in d["tool_calls"])
        for d in entries
    )
    text = run_cli("decisions", "feb", "--entries", cwd=workdir).stdout.splitlines()
    assert len(text) == len(entries) + 1 and all("long" in line for line in text[:-1])
    window = decisions_json(workdir, "--from", "2025-02-10", "--to", "2025-02-11", "--all")
    assert window and all(d["as_of"].startswith("2025-02-10") for d in window)
    assert len(window) == len([d for d in decisions_json(workdir, "--all") if d["as_of"].startswith("2025-02-10")])
    bad = run_cli_here("decisions", "feb", "--from", "someday", cwd=workdir)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--from" in bad.stderr


def test_decisions_details_and_json_keep_everything(workdir: Path) -> None:
    detailed = run_cli("decisions", "feb", "--entries", "--last", "1", "--details", cwd=workdir).stdout
    assert "place_order(" in detailed and "reasoning:" in detailed
    (entry,) = decisions_json(workdir, "--entries", "--last", "1")
    order = next(c for c in entry["tool_calls"] if c["name"] == "place_order")
    assert isinstance(order["arguments"]["size_pct"], float)
    (line, _) = run_cli("decisions", "feb", "--entries", "--last", "1", cwd=workdir).stdout.splitlines()
    assert f"long {order['arguments']['size_pct']:g} % @ market" in line


def test_run_points_learner_journal_and_status_at_a_run_and_creates_no_store(workdir: Path) -> None:
    verified = run_cli("journal", "verify", "--run", "feb", cwd=workdir)
    assert verified.returncode == 0 and verified.stdout.startswith("journal ok: "), verified.stderr
    tail = json.loads(run_cli("journal", "tail", "--run", "runs/feb", "-n", "2", "--json", cwd=workdir).stdout)
    assert len(tail) == 2 and tail[0]["seq"] + 1 == tail[1]["seq"]
    lines = run_cli("journal", "tail", "--run", "feb", "-n", "3", cwd=workdir).stdout.splitlines()
    assert len(lines) == 4 and lines[-1] == "(long payloads cut: --json for the full events)"
    assert all(len(line) < 220 and line.split()[0].isdigit() for line in lines[:3]), "one event, one line"
    status = json.loads(run_cli("status", "--run", "feb", "--json", cwd=workdir).stdout)
    assert status["store"].startswith(str((workdir / "runs/feb/store.sqlite3").resolve()))
    assert [p["id"] for p in status["positions"]] == [metrics(workdir, "feb")["open_positions"][0]["position_id"]]
    learner = json.loads(run_cli("learner", "show", "--run", "feb", "--json", cwd=workdir).stdout)
    assert learner["recorded_positions"] > 0 and learner["scope"] == "global"
    for command in (("journal", "verify"), ("status",), ("learner", "show")):
        live = run_cli_here(*command, cwd=workdir)
        assert live.returncode == 2 and "no store at" in live.stderr, (command, live.stderr)
        unknown = run_cli_here(*command, "--run", "nope", cwd=workdir)
        assert unknown.returncode == 2 and "no run 'nope'" in unknown.stderr and "feb" in unknown.stderr
    assert not (workdir / "missing").exists(), "inspecting created the configured store"


def test_runs_list_rounds_for_people_and_json_keeps_precision(workdir: Path) -> None:
    listed = run_cli("runs", "list", cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["run", "market", "period", "agent", "return", "buy", "&", "hold", "Sharpe", "max",
                              "DD", "trades", "LLM", "cost"]  # fmt: skip
    perf = metrics(workdir, "feb")["performance"]
    feb = next(r for r in rows if r.startswith("feb "))
    assert "2025-02-01 → 2025-02-20" in feb and " rules " in feb
    assert f"{perf['total_return_pct']:+.2f}%" in feb and f"{perf['buy_and_hold_return_pct']:+.2f}%" in feb
    assert f"{perf['sharpe']:.2f}" in feb
    (row,) = [r for r in json.loads(run_cli("runs", "list", "--json", cwd=workdir).stdout) if r["run"] == "feb"]
    assert row["return_pct"] == perf["total_return_pct"] and row["sharpe"] == perf["sharpe"]
    assert row["buy_and_hold_pct"] == perf["buy_and_hold_return_pct"] and row["decided_by"] == "rules"


def test_runs_compare_side_by_side(workdir: Path) -> None:
    compared = run_cli("runs", "compare", "feb", "sma", cwd=workdir)
    assert compared.returncode == 0, compared.stderr
    lines = compared.stdout.splitlines()
    assert lines[0].split() == ["feb", "sma"]
    labels = [line.split("  ")[0].strip() for line in lines[1:]]
    for label in ("market", "from", "to", "agent", "return", "buy & hold", "Sharpe", "max drawdown", "LLM cost"):
        assert label in labels
    hold = next(line for line in lines if line.startswith("buy & hold"))
    feb, sma = metrics(workdir, "feb")["performance"], metrics(workdir, "sma")["performance"]
    assert hold.split()[-2:] == [f"{feb['buy_and_hold_return_pct']:+.2f}%", f"{sma['buy_and_hold_return_pct']:+.2f}%"]
    as_json = json.loads(run_cli("runs", "compare", "feb", "sma", "--json", cwd=workdir).stdout)
    assert as_json == {"feb": metrics(workdir, "feb"), "sma": metrics(workdir, "sma")}
    alone = run_cli("runs", "compare", "feb", cwd=workdir)
    assert alone.returncode == 2 and "two or more runs" in alone.stderr


def test_runs_show_is_rounded_and_lists_the_open_position(workdir: Path) -> None:
    shown = run_cli("runs", "show", "feb", cwd=workdir).stdout
    assert "open at the end: 1 " in shown and "report: runs/feb/report.html" in shown
    table = shown.split("open at the end:")[0]  # the open position's quantity is exact, as ordered
    numbers = re.findall(r"\d+\.\d+", table)
    assert numbers and all(len(n.split(".")[1]) <= 2 for n in numbers), "no number to 10 decimals"
