"""An LLM backtest or live run never falls back to the rules silently, and is anonymized unless told not to."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.cli_helpers import run_cli

WEEK = ("--from", "2025-02-01", "--to", "2025-02-08", "--warmup", "48")
NO_KEY = {"ANTHROPIC_API_KEY": ""}


def test_without_a_key_an_llm_backtest_or_run_refuses_in_one_line(tmp_path: Path) -> None:
    for agent in ("anthropic", "claude-code"):
        done = run_cli("backtest", *WEEK, "--agent", agent, "--quiet", cwd=tmp_path, env=NO_KEY)
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert f"the {agent} backend has no key" in line and "--allow-fallback" in line
    assert not (tmp_path / "runs").exists(), "nothing ran, nothing was written"
    live = run_cli("run", "--mode", "paper", "--candles", "1", cwd=tmp_path,
                   env={**NO_KEY, "TRADEWAKE_LLM__BACKEND": "anthropic"})
    assert live.returncode == 2 and "--allow-fallback" in live.stderr and len(live.stderr.strip().splitlines()) == 1


def test_allowed_fallback_is_counted_and_an_llm_run_is_anonymized_by_default(tmp_path: Path) -> None:
    done = run_cli("backtest", *WEEK, "--agent", "anthropic", "--allow-fallback", "--quiet", "--out", "runs/fb",
                   cwd=tmp_path, env=NO_KEY)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "runs/fb/metrics.json").read_text())
    decisions = metrics["agent"]["decisions"]
    assert decisions > 0 and metrics["agent"]["decided_by"] == {"rules": decisions}
    assert metrics["agent"]["fallback_decisions"] == {"no_llm_configured": decisions}
    assert f"decided by: rules {decisions} (fallback: no_llm_configured {decisions})" in done.stdout
    assert metrics["run"]["anonymized"] is True and metrics["run"]["symbol"] == "ASSET/USDT"
    assert metrics["run"]["look_ahead_warning"] is None and "WARNING" not in done.stdout
    listed = json.loads(run_cli("runs", "list", "--json", cwd=tmp_path).stdout)
    who = "rules fallback (configured anthropic claude-sonnet-4-6)"  # every decision was the fallback's
    assert listed[0]["agent"] == "anthropic" and listed[0]["decided_by"] == who
    table = run_cli("runs", "list", cwd=tmp_path, env={"COLUMNS": "200"}).stdout
    assert who in table


def test_opting_out_of_anonymization_is_said_out_loud(tmp_path: Path) -> None:
    done = run_cli("backtest", *WEEK, "--agent", "anthropic", "--allow-fallback", "--no-anonymize", "--quiet",
                   "--out", "runs/real", cwd=tmp_path, env=NO_KEY)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "runs/real/metrics.json").read_text())
    assert metrics["run"]["anonymized"] is False and metrics["run"]["symbol"] == "BTC/USDT"
    assert "may recognise the period" in metrics["run"]["look_ahead_warning"]
    assert "WARNING: not anonymized (--no-anonymize)" in done.stdout
