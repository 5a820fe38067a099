"""What a person reads after a backtest and in ``runs list|compare`` (pure, over a run's metrics)."""

from __future__ import annotations

import json
from pathlib import Path

from backtests.report.compare import decided_by, excess_pct
from backtests.summary import next_steps, open_position_lines, summary_json, summary_lines

GOLDEN = Path(__file__).parent / "golden" / "rules_btc_1h_2025q1.json"


def test_the_agent_that_decided_names_the_fallback_when_it_took_over() -> None:
    facts = {"agent": "anthropic", "model": "claude-sonnet-4-6"}
    assert decided_by(facts, {"decisions": 10, "fallback_decisions": {}}) == "anthropic claude-sonnet-4-6"
    some = {"decisions": 10, "fallback_decisions": {"budget": 2, "llm_error": 1}}
    assert decided_by(facts, some) == "anthropic claude-sonnet-4-6 + 3 rules fallbacks"
    every = {"decisions": 4, "fallback_decisions": {"no_key": 4}}
    assert decided_by(facts, every) == "rules fallback (configured anthropic claude-sonnet-4-6)"
    assert decided_by({"agent": "rules", "model": None}, {"decisions": 0}) == "rules"


def test_excess_return_is_in_percentage_points() -> None:
    assert excess_pct({"total_return_pct": 0.5, "buy_and_hold_return_pct": -12.5}) == 13.0
    assert excess_pct({"total_return_pct": 0.5}) is None


def test_the_summary_of_the_golden_run_reads_for_people() -> None:
    metrics = json.loads(GOLDEN.read_text())
    lines = summary_lines(metrics, Path("runs/q1"), Path("runs/q1/report.html"))
    assert lines[0] == "BTC/USDT 1h  2025-01-01 → 2025-04-01  2,160 candles  agent rules"
    perf = metrics["performance"]  # the figures as the golden run has them, rounded for people
    assert lines[1].startswith(
        f"return {perf['total_return_pct']:+.2f}%  buy & hold -12.55%  CAGR {perf['cagr_pct']:+.2f}%  "
        f"Sharpe {perf['sharpe']:.2f}  Sortino {perf['sortino']:.2f}  "
    )
    assert lines[1].endswith(f"max drawdown {perf['max_drawdown_pct']:.2f}% (longest 69 d 4 h)")
    assert "open at the end: none" in lines and "{" not in "\n".join(lines), "no dict repr for people"
    assert any(line.startswith("vetoes ") and "breaker openings 0" in line for line in lines)
    assert lines[-4:-3] == ["next:"] and "tradewake decisions runs/q1" in lines[-1]
    assert summary_json(metrics, Path("runs/q1"), Path("runs/q1/report.html"))["run_dir"] == "runs/q1"


def test_an_open_position_is_marked_to_market_and_a_path_with_a_space_is_quoted() -> None:
    held = {"symbol": "BTC/USDT", "side": "long", "quantity": "0.01544", "entry_price": "84021.86",
            "mark_price": "84349.94", "unrealized_pnl": "3.7655", "unrealized_pct": 0.2869,
            "stop_price": "77956.69", "opened_at": "2025-02-28T16:00:00Z"}  # fmt: skip
    assert open_position_lines([held])[1] == (
        "  BTC/USDT long 0.01544 @ 84,021.86 -> 84,349.94  +3.77 (+0.29%)  stop 77,956.69  since 2025-02-28 16:00"
    )
    assert "tradewake decisions 'my runs/a'" in next_steps(Path("my runs/a"), Path("my runs/a/report.html"))[-1]
