"""README's "Try the live path offline", as a user runs it: ``tradewake venue serve`` in one process and
``tradewake run --mode testnet --venue URL`` in another, through the unmodified ccxt stack; SIGTERM lets the step in
progress finish, saves and exits 0."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.chaos.processes import BotProcess, VenueProcess, wait_for


def journal_kinds(store: Path) -> list[str]:
    if not store.exists():
        return []
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT kind FROM journal ORDER BY seq")]


def startup_phases(store: Path) -> list[str]:
    """The phases of the first start's trace (``run.startup``, ``engine/startup.py``), in order."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        (payload,) = db.execute("SELECT payload FROM journal WHERE kind = 'run.startup' ORDER BY seq").fetchone()
    return [phase["name"] for phase in json.loads(payload)["phases"]]


def test_run_against_the_venue_for_a_few_candles_then_sigterm_saves_and_exits_0(tmp_path: Path) -> None:
    venue = VenueProcess(tmp_path / "venue", market="spot", speed=150).start()
    try:
        bot = BotProcess(tmp_path / "bot", venue, args=("--candles", "2")).start()
        assert bot.process is not None
        assert bot.process.wait(timeout=120) == 0, bot.output()
        out = bot.output()
        assert "tradewake testnet: BTC/USDT 5m, orders on Binance spot testnet (sandbox)" in out
        assert f"127.0.0.1:{venue.port}" in out and "stopped after 2 candles" in out
        kinds = journal_kinds(bot.store_path)
        assert "reconcile.done" in kinds
        phases = startup_phases(bot.store_path)  # protection first: reconciled before the agent is built
        assert phases.index("reconcile and protect") < phases.index("gate, learner, agent") < phases.index("live loop")

        beaten = bot.heartbeat.read_text(encoding="utf-8")
        again = BotProcess(tmp_path / "bot", venue).start()  # the same store, until SIGTERM
        try:
            wait_for(lambda: again.heartbeat.read_text(encoding="utf-8") != beaten, 60, "market data after the restart")
            assert again.terminate() == 0, again.output()
        finally:
            if again.running:
                again.kill()
        assert "state saved" in again.output().rsplit("=== start", 1)[-1]
        assert "Traceback" not in again.output()
    finally:
        assert venue.stop() == 0


def test_a_venue_url_that_is_not_a_url_is_a_user_mistake(tmp_path: Path) -> None:
    from tests.e2e.cli_helpers import run_cli

    result = run_cli("run", "--mode", "testnet", "--venue", "127.0.0.1:8765", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "venue_url" in (result.stdout + result.stderr) and "Traceback" not in result.stderr
