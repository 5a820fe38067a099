"""``tradewake decide``: one decision on a candle file at a given time, printed as its record."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.factory import agent_backend
from agent.memory import AgentMemory
from agent.router import ResilientBackend
from core.clock import SimClock
from core.paths import check_input_file, check_output_file
from core.settings import load_inert_settings
from engine.static_gate import gate_schedule_check
from tools.context import ListJournal
from tools.snapshots import DEFAULT_DATA, market_snapshot, request_for
from tools.static_desk import StaticDesk

AGENTS = ("rules", "replay", "anthropic", "claude-code")


def decide_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    at: Annotated[str, typer.Option("--at", help="Decision time, ISO 8601 (UTC when no offset is given).")],
    data: Annotated[
        str, typer.Option("--data", help=f"Candle CSV, or a bundled file name (default {DEFAULT_DATA}).")
    ] = DEFAULT_DATA,
    agent: Annotated[str, typer.Option("--agent", help="rules | replay | anthropic | claude-code.")] = "rules",
    symbol: Annotated[str | None, typer.Option("--symbol", help="Default: from the file name.")] = None,
    equity: Annotated[str, typer.Option("--equity", help="Account equity in quote currency.")] = "10000",
    cassette: Annotated[Path | None, typer.Option("--cassette", help="Cassette to replay (--agent replay).")] = None,
    record: Annotated[Path | None, typer.Option("--record", help="Append the decision to this cassette.")] = None,
    journal_out: Annotated[bool, typer.Option("--journal", help="Also print the tool journal.")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
) -> None:
    """Run one agent decision on bundled or given candles at --at and print the decision record (JSON)."""
    if agent not in AGENTS:
        raise typer.BadParameter(f"--agent must be one of {', '.join(AGENTS)}")
    when = parse_time(at)
    if cassette is not None:
        check_input_file(cassette, "--cassette")
    if record is not None:
        check_output_file(record, "--record")
    overrides: dict[str, Any] = {"backend": agent}
    if cassette is not None:
        overrides["cassette"] = cassette
    base = load_inert_settings(config)
    settings = base.model_copy(update={"llm": base.llm.model_copy(update=overrides)})
    request = request_for(market_snapshot(data, when, symbol))
    desk = StaticDesk(
        schedule_check=gate_schedule_check,
        snapshots={request.symbol: request.snapshot}, equity=parse_equity(equity), risk=settings.risk,
        spot=settings.exchange.market_type == "spot",
    )
    journal = ListJournal()
    backend = agent_backend(settings, desk=desk, journal=journal, clock=SimClock(when),
                            memory=AgentMemory(settings.llm.memory_max_chars), record_to=record)
    decision = asyncio.run(backend.decide(request))
    typer.echo(decision.model_dump_json(indent=2))
    if isinstance(backend, ResilientBackend):
        for alert in backend.drain_alerts():
            typer.echo(f"alert: {alert.message}", err=True)
    if journal_out:
        typer.echo(json.dumps([{"kind": k, **p} for k, p in journal.events], indent=2, default=str))


def parse_time(text: str) -> datetime:
    from market.cli import parse_time as parse_cli_time

    return parse_cli_time(text, "--at")


def parse_equity(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"--equity {text!r} is not a number") from exc
    if not value.is_finite() or not 0 < value <= Decimal("1e12"):
        raise typer.BadParameter("--equity must be a positive number up to 1e12")
    return value
