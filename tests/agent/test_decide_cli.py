"""``tradewake decide`` end to end: the real CLI in a subprocess, on bundled real candles."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.rules import FLAT_CHECK_S, IN_POSITION_CHECK_S
from benchmarks.llmsim import MessagesServer, tool_use
from core.settings import load_settings
from core.types import PositionSide
from engine.decide import one_decision
from engine.decide_cli import parse_time
from tests.agent.conftest import llm_settings
from tests.e2e.cli_helpers import run_cli
from tools.results import PortfolioResult
from tools.snapshots import snapshot_builder

DATA = "binance_BTC-USDT_1h.csv.gz"  # bundled with the market package (real Binance candles)
AT = "2025-06-01T12:00:00Z"
ORDER = {"side": "long", "size_pct": 5, "order_type": "market", "stop_loss_price": 102_000,
         "signals": ["trend_follow", "momentum"], "confidence": 0.55, "thesis": "4h uptrend with momentum"}


def test_rules_decision_prints_the_record(tmp_path: Path) -> None:
    done = run_cli("decide", "--data", DATA, "--at", AT, "--agent", "rules", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["backend"] == "rules" and record["next_check_seconds"] in (IN_POSITION_CHECK_S, FLAT_CHECK_S)
    assert record["as_of"] == "2025-06-01T12:00:00Z"
    assert record["snapshot_digest"] and record["tool_calls"][0]["name"] == "get_portfolio"


def test_anthropic_decision_recorded_then_replayed_identically(server: MessagesServer, tmp_path: Path) -> None:
    server.script(tool_use(("get_portfolio", {})),
                  tool_use(("place_order", ORDER), ("schedule_next_check", {"seconds": 14400, "wake_conditions": []}),
                           text="Uptrend; small long."))
    cassette = tmp_path / "decide.jsonl"
    env = {"TRADEWAKE_LLM__API_KEY": "sk-ant-test-0000000000000000", "TRADEWAKE_LLM__BASE_URL": server.base_url,
           "TRADEWAKE_LLM__MAX_RETRIES": "0"}
    live = run_cli("decide", "--data", DATA, "--at", AT, "--agent", "anthropic", "--record", str(cassette),
                   cwd=tmp_path, env=env)
    assert live.returncode == 0, live.stderr
    record = json.loads(live.stdout)
    assert record["backend"] == "anthropic" and record["fallback_reason"] is None
    assert [c["name"] for c in record["tool_calls"]] == ["get_portfolio", "place_order", "schedule_next_check"]
    assert record["tool_calls"][1]["result"]["execution"]["status"] == "filled"
    usage = record["usage"]
    assert usage["cache_creation_input_tokens"] + usage["cache_read_input_tokens"] > 0, "the prefix is cached"
    assert "sk-ant-test" not in live.stdout + cassette.read_text()
    replayed = run_cli("decide", "--data", DATA, "--at", AT, "--agent", "replay", "--cassette", str(cassette),
                       cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout


def test_user_mistakes_exit_2(tmp_path: Path) -> None:
    done = run_cli("decide", "--data", DATA, "--at", "yesterday", cwd=tmp_path)
    assert done.returncode == 2 and "ISO 8601" in done.stderr


async def test_decide_runs_the_real_engine_over_the_simulated_exchange(server: MessagesServer) -> None:
    """In process: the order goes through the veto and the guard of a real engine (the position has its
    protective stop when the model looks again), the tool journal comes from the engine's store."""
    server.script(tool_use(("place_order", ORDER)),
                  tool_use(("get_portfolio", {}), ("schedule_next_check", {"seconds": 3600, "wake_conditions": []})))
    base = load_settings(None)
    settings = base.model_copy(update={"llm": llm_settings(server)})
    outcome = await one_decision(settings, snapshot_builder(DATA), parse_time(AT), Decimal(10_000), None)
    calls = outcome.decision.tool_calls
    assert [c.name for c in calls] == ["place_order", "get_portfolio", "schedule_next_check"]
    [position] = PortfolioResult.model_validate(calls[1].result).portfolio.positions
    assert position.side is PositionSide.LONG and position.stop_price == Decimal(102_000)
    assert position.quantity * position.entry_price == pytest.approx(Decimal(500), rel=Decimal("0.01"))
    assert [e["kind"] for e in outcome.tool_journal] == ["tool_call", "tool_result"] * 3
    assert outcome.alerts == [] and outcome.decision.wake.kind.value == "operator"


async def test_the_engine_closes_the_sdk_clients_connections_when_the_run_ends(
    server: MessagesServer, tmp_path: Path
) -> None:
    """The SDK keeps its connection alive between calls; the engine's close closes it, through the cassette
    recorder and the router (an open pool outlived every run, and a live run's restart leaked one each time)."""
    server.script(tool_use(("schedule_next_check", {"seconds": 3600, "wake_conditions": []}), text="Flat."))
    settings = load_settings(None).model_copy(update={"llm": llm_settings(server)})
    outcome = await one_decision(settings, snapshot_builder(DATA), parse_time(AT), Decimal(10_000),
                                 tmp_path / "decide.jsonl")
    assert outcome.decision.backend == "anthropic" and server.connections_opened == 1
    assert server.wait_connections_closed(timeout=10), f"{server.connections_open} connection(s) left open"
