"""``tradewake holdings ...``: commands go through the real queue of the configured store; reading commands
show what the service stored; user mistakes are one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.clock import SimClock
from core.ports import NewEvent, Store
from core.settings import MAINNET_CONFIRM_ENV, MAINNET_CONFIRM_VALUE
from engine.holdings_cli import app
from holdings.commands import HoldingsCommand as K
from holdings.service import HoldingsService
from tests.e2e.cli_helpers import run_cli
from tests.holdings.world import AT, command, config, market_source, sqlite_store, wallet

runner = CliRunner()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Store]]:
    """A config file naming a SQLite store, and that store opened for the test to look into."""
    db = tmp_path / "holdings.sqlite3"
    config = tmp_path / "tradewake.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{db}"\n')
    store = sqlite_store(db)
    store.append(NewEvent(kind="engine.test", at=AT, payload={}))  # an engine has written here: commands queue
    yield config, store
    store.close()


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--config", str(config)], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def with_proposal(store: Store) -> HoldingsService:
    service = HoldingsService(store, SimClock(AT), market_source(), config())
    store.submit_command(command(K.PROPOSE, "p1", asset="BTC"))
    service.cycle(wallet())
    return service


def test_propose_queues_a_command_with_an_idempotency_key(setup: tuple[Path, Store]) -> None:
    config, store = setup
    code, out, _ = cli(config, "propose", "btc", "--entry", "cost_basis", "--entry-price", "18000", "--key", "k1")
    assert code == 0
    where = f"{config.parent / 'holdings.sqlite3'} (namespace tw)"
    assert out.strip() == f"propose: queued as k1 in {where} (status pending); the engine applies it at its next step"
    (pending,) = store.pending_commands()
    assert (pending.command.kind, pending.command.args) == (
        "holdings.propose",
        {"asset": "BTC", "entry": "cost_basis", "entry_price": "18000", "reason": ""},
    )
    code, out, _ = cli(config, "propose", "btc", "--entry", "cost_basis", "--entry-price", "18000", "--key", "k1")
    assert (code, out.strip()) == (
        0,
        f"propose: already queued as k1 in {where} (status pending); the engine applies it at its next step",
    )
    code, _, err = cli(config, "pause", "btc", "--key", "k1")
    assert (code, err.strip()) == (2, "error: key k1 was already used for a different command; choose another --key")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["propose", "BTC", "--entry-price", "18000"],
            "an entry price is given only with --entry cost_basis or --entry operator",
        ),
        (["propose", "BTC", "--entry", "operator"], "--entry operator needs --entry-price"),
        (["propose", "BTC/USDT"], "asset: String should match pattern"),
        (["override", "BTC"], "override needs at least one of --stop, --take-profit, --max-allocation, --entry-price"),
        (["override", "BTC", "--stop", "abc"], "stop: Input should be a valid decimal"),
        (["override", "BTC", "--stop", "-5"], "stop: Input should be greater than 0"),
        (["approve", "BTC-1", "--confirm", "recommended"], "confirm: String should match pattern"),
        (["approve", "BTC-1", "--confirm", "BTC:recommended"], "no proposal BTC-1 (see: tradewake holdings list)"),
        (["show", "BTC-7"], "no proposal BTC-7 (see: tradewake holdings list)"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(setup: tuple[Path, Store], args: list[str], message: str) -> None:
    config, store = setup
    code, out, err = cli(config, *args)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and message in err
    assert store.pending_commands() == []


def test_approve_checks_the_confirmation_against_the_stored_proposal(setup: tuple[Path, Store]) -> None:
    config, store = setup
    service = with_proposal(store)
    for confirm, message in [
        ("ETH:recommended", "--confirm names ETH but proposal BTC-1 is for BTC"),
        ("BTC:yolo", "proposal BTC-1 offers conservative, recommended, aggressive, not yolo"),
    ]:
        code, _, err = cli(config, "approve", "BTC-1", "--confirm", confirm)
        assert (code, err.strip()) == (2, f"error: {message}")
    code, out, _ = cli(config, "approve", "btc-1", "--confirm", "btc:Recommended", "--key", "a1")
    assert code == 0 and "approve: queued as a1" in out
    service.cycle(wallet())
    code, _, err = cli(config, "approve", "BTC-1", "--confirm", "BTC:conservative")
    assert code == 2
    assert err.startswith("error: proposal BTC-1 was already decided: approved by the operator at 2022-10-20T12:00:00")


def test_list_and_show_print_for_people_and_json_for_programs(setup: tuple[Path, Store]) -> None:
    config, store = setup
    code, out, _ = cli(config, "list")
    assert code == 0 and "every coin is frozen" in out
    with_proposal(store)
    code, out, _ = cli(config, "list")
    assert code == 0
    assert "BTC" in out and "risk_proposed" in out and "BTC-1" in out
    code, out, _ = cli(config, "show", "BTC-1")
    assert code == 0
    assert "proposal BTC-1: 0.5 BTC on BTC/USDT, testnet, risk model holdings-risk/1" in out
    assert "status: EXPIRED (not decided yet)" in out  # the wall clock is long past 2022-10-27
    assert "price 19,208.09, ATR(1d) 653.56 (3.40 %), regime low_vol (p 1.00)" in out
    assert "17,900.96" in out and "21,822.35" in out  # the recommended stop and take-profit, rounded for people
    assert "warning (concentration)" in out
    code, out, _ = cli(config, "show", "BTC-1", "--json")
    shown = json.loads(out)
    assert shown["proposal"]["variants"][1]["stop"] == "17900.96" and shown["decision"] is None
    code, out, _ = cli(config, "list", "--json")
    assert json.loads(out)["holdings"][0]["state"] == "risk_proposed"


def test_every_command_reaches_the_service_through_the_queue(setup: tuple[Path, Store]) -> None:
    """What the CLI queues is exactly what the service applies (no second path)."""
    config, store = setup
    service = with_proposal(store)
    steps = [
        (["approve", "BTC-1", "--confirm", "BTC:conservative"], "managed_active"),
        (["pause", "BTC", "--reason", "news"], "managed_paused"),
        (["resume", "BTC"], "managed_active"),
        (["override", "BTC", "--take-profit", "25000"], "managed_active"),
        (["release", "BTC"], "release_pending"),
    ]
    for args, state in steps:
        assert cli(config, *args)[0] == 0, args
        (plan,) = service.apply_pending(wallet())
        assert plan.result["state"] == state, (args, plan.result)
    terms = service.holding("BTC").terms
    assert terms is not None and terms.take_profit == Decimal(25000)


def test_the_mounted_command_runs_as_the_user_runs_it(tmp_path: Path) -> None:
    """One real ``python -m engine.cli`` run (a start-up costs seconds): mounted, one line, exit 2."""
    (tmp_path / "tradewake.toml").write_text('[store]\nurl = "sqlite:///var/h.sqlite3"\n')
    wrong = run_cli("holdings", "approve", "ETH-1", "--confirm", "ETH:recommended", cwd=tmp_path)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().startswith("error: no store at "), "never an empty store the engine does not read"
    assert "h.sqlite3" in wrong.stderr and not (tmp_path / "var").exists()
    assert "Traceback" not in wrong.stderr


def test_list_says_what_the_run_mode_means_for_holdings(setup: tuple[Path, Store]) -> None:
    """The CLI's config is the engine's: ``engine.wiring.holdings_config`` of the same settings."""
    config, _ = setup
    code, out, _ = cli(config, "list")
    assert code == 0
    assert out.splitlines()[0] == (
        "backtest: variants conservative, recommended, aggressive; proposals live 7 days; "
        "a rejection cools an asset down 24 h"
    )
    config.write_text('mode = "mainnet"\n' + config.read_text())
    result = runner.invoke(app, ["list", "--config", str(config)],
                           env={"COLUMNS": "200", MAINNET_CONFIRM_ENV: MAINNET_CONFIRM_VALUE})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "mainnet: variants conservative, recommended; proposals live 7 days; a rejection cools an asset down "
        "7 days; the synthetic entry at least 5 % above the stop"
    )


def test_a_coin_never_proposed_or_cooling_down_is_a_mistake_at_once(setup: tuple[Path, Store]) -> None:
    config, store = setup
    code, _, err = cli(config, "propose", "usdt")
    assert (code, err.strip()) == (2, "error: USDT is never proposed (the quote currency USDT, or blacklisted)")
    service = with_proposal(store)
    code, out, _ = cli(config, "reject", "BTC-1", "--key", "r1")
    assert code == 0
    assert out.strip().endswith("then no new proposal for 24 h (backtest cool-down)")
    service.clock = SimClock(datetime.now(UTC))  # the rejection is applied now: its cool-down runs from now
    service.apply_pending(wallet())
    code, _, err = cli(config, "propose", "BTC")
    assert code == 2 and err.startswith("error: BTC was rejected recently: no new proposal before ")
    assert store.pending_commands() == []


def test_commands_queue_only_where_an_engine_runs_and_reading_creates_nothing(tmp_path: Path) -> None:
    """As ``tradewake halt``: no store, or a store no engine has written to, is refused (``--force`` queues anyway);
    ``list`` and ``show`` never create a store; a mainnet configuration needs no confirmation to queue."""
    db = tmp_path / "fresh.sqlite3"
    config = tmp_path / "tradewake.toml"
    config.write_text(f'mode = "mainnet"\n[store]\nurl = "sqlite:///{db}"\n')
    for args in (["list"], ["show", "BTC-1"], ["pause", "BTC"], ["propose", "BTC"]):
        code, _, err = cli(config, *args)
        assert (code, err.startswith("error: no store at")) == (2, True), (args, err)
    assert not db.exists()
    code, out, err = cli(config, "pause", "BTC", "--force", "--key", "p1")
    assert code == 0 and f"queued as p1 in {db}" in out, err
    db_store = sqlite_store(db)
    try:
        code, _, err = cli(config, "release", "BTC")
        assert code == 2 and "NOT queued: no engine has written to the store" in err
        assert [r.command.idempotency_key for r in db_store.pending_commands()] == ["p1"]
    finally:
        db_store.close()
    code, _, err = cli(config, "pause", "BTC", "--key", "k" * 200, "--force")
    assert code == 2 and "--key must be 1 to 128 characters" in err
