"""``tradewake decide``: one decision on a candle file at a given time, printed as its record.

It runs the real engine over the simulated parts (``engine.decide``): the engine sees the last price before
``--at`` when it was the last price (the close of the last candle closed by then, at its close time), then
the clock moves on to ``--at`` and one step with an operator wake decides, staleness limit included (an
entry at a ``--at`` more than ``risk.stale_data_s`` after the last close is refused as stale data). Alerts
are printed on stderr (never sent), the tool journal with ``--journal``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from market.bundled import BTC_1H as DEFAULT_DATA  # tools.snapshots' default too; light, unlike that module

AGENTS = ("rules", "replay", "anthropic", "claude-code")

def decide_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    at: Annotated[str, typer.Option("--at", help=(
        "Decision time, ISO 8601 (UTC when no offset is given). The price is the last close before it: an "
        "entry more than risk.stale_data_s (default 600 s) after that close is refused as stale data."))],
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
    """Run one agent decision on bundled or given candles at --at, through the engine over the simulated
    exchange, and print the decision record (JSON)."""
    if agent not in AGENTS:
        raise typer.BadParameter(f"--agent must be one of {', '.join(AGENTS)}")
    when, cash = parse_time(at), parse_equity(equity)
    from core.paths import check_input_file, check_output_file

    if cassette is not None:
        check_input_file(cassette, "--cassette")
    if record is not None:
        check_output_file(record, "--record")
    overrides: dict[str, Any] = {"backend": agent}
    if cassette is not None:
        overrides["cassette"] = cassette
    # The engine, the agent stack and pandas load here, not when the CLI starts.
    from core.settings import AlertSettings, load_inert_settings
    from engine.decide import one_decision
    from tools.snapshots import snapshot_builder

    base = load_inert_settings(config)
    settings = base.model_copy(update={"llm": base.llm.model_copy(update=overrides), "alerts": AlertSettings()})
    outcome = asyncio.run(one_decision(settings, snapshot_builder(data, symbol), when, cash, record))
    typer.echo(outcome.decision.model_dump_json(indent=2))
    for message in outcome.alerts:
        typer.echo(f"alert: {message}", err=True)
    if journal_out:
        typer.echo(json.dumps(outcome.tool_journal, indent=2, default=str))


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
