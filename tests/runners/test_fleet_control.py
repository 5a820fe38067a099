"""Issue 21 item 3: ``tradewake halt|resume|sleep [--runner ID] [--symbol S]`` through each addressed runner's own
command queue under one idempotency key (exactly once per runner, a restart does not apply it again), and
``tradewake status`` showing runners, their symbols, lease time left and heartbeat ages. Real CLI processes,
real redis-server, the real SafetyService applying the queue."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from core.clock import SimClock
from core.ids import Symbol
from core.leases import Lease
from core.settings import RiskSettings, RunMode
from exchange.sim import SimBroker, SimConfig, SimExchange, binance_spot_markets
from safety.alerts import AlertDispatcher
from safety.book import SafetyBook
from safety.fleet import NoTarget, Target, fleet_lines, targets
from safety.service import SafetyConfig, SafetyService
from store.leases import RedisLeases
from store.redis_store import RedisStore
from tests.e2e.cli_helpers import run_cli
from tests.redis_server import RedisServer
from tests.safety.simworld import RecordingNotifier

BTC, ETH = Symbol("BTC/USDT"), Symbol("ETH/USDT")
BOOKS = {"r1": "a-r1", "r2": "a-r2", "r3": "a-r3"}
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_targets_all_live_one_runner_or_the_symbols_holder() -> None:
    assert targets(BOOKS, ["r2", "r1", "gone"]) == [Target("r1", "a-r1"), Target("r2", "a-r2")]
    assert targets(BOOKS, [], runner="r3") == [Target("r3", "a-r3")], "a stopped runner applies it at its start"
    held = {BTC: Lease(BTC, "r2", 4, 900, 0), ETH: None}
    assert targets(BOOKS, ["r1"], symbol=BTC, leases=held) == [Target("r2", "a-r2")]
    for kwargs in ({"symbol": ETH, "leases": held}, {"runner": "r9"}, {"runner": "r1", "symbol": BTC}, {}):
        with pytest.raises(NoTarget):
            targets(BOOKS, [], **kwargs)  # type: ignore[arg-type]


def test_fleet_lines_show_heartbeats_lease_time_left_and_the_unheld() -> None:
    held = {BTC: Lease(BTC, "r1", 7, 1500, 0), ETH: None}
    lines = fleet_lines([("r1", (BTC, ETH), 9000)], ["r2"], held, 10_000)
    assert lines == [
        "runner r1: heartbeat 1.0 s ago; BTC/USDT (1.5 s left, token 7), ETH/USDT (lost)",
        "runner r2: no heartbeat (stopped or dead)",
        "held by nobody: ETH/USDT",
    ]


def _env(url: str, account: str) -> dict[str, str]:
    return {"TRADEWAKE_STORE__URL": url, "TRADEWAKE_STORE__NAMESPACE": f"{account}-cli",
            "TRADEWAKE_RUNNER__ID": "cli", "TRADEWAKE_RUNNER__ACCOUNT_NAMESPACE": account}


def _service(url: str, namespace: str) -> SafetyService:
    venue = SimExchange(binance_spot_markets(), SimClock(T0), SimConfig(initial_balances={"USDT": D(1000)}))
    store = RedisStore(url, namespace)
    book = SafetyBook.load(store, D(1000), T0)
    alerts = AlertDispatcher([RecordingNotifier()], store, venue.clock, min_interval_s=0)
    config = SafetyConfig({r.symbol: r for r in binance_spot_markets()}, RiskSettings(), RunMode.TESTNET, "tw")
    return SafetyService.assemble(SimBroker(venue), store, book, alerts, config, D(1000))


async def test_a_halt_for_all_reaches_each_live_runner_once_and_a_restart_does_not_reapply(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    account = f"acct{uuid.uuid4().hex[:6]}"
    books = {r: f"{account}-{r}" for r in ("r1", "r2", "r3")}
    leases = RedisLeases(redis_server.url, account)
    for runner, namespace in books.items():
        leases.register(runner, namespace)
    now_ms = int(time.time() * 1000)
    leases.beat("r1", (BTC,), now_ms, 60_000, 1)
    leases.beat("r2", (ETH,), now_ms, 60_000, 2)  # r3 registered but not alive
    assert leases.acquire(ETH, "r2", 60_000) == 1

    env = _env(redis_server.url, account)
    halted = run_cli("halt", "--reason", "news", "--key", "halt-1", cwd=tmp_path, env=env)
    assert halted.returncode == 0, halted.stderr
    assert "runner r1" in halted.stdout and "runner r2" in halted.stdout and "runner r3" not in halted.stdout
    again = run_cli("halt", "--reason", "news", "--key", "halt-1", cwd=tmp_path, env=env)
    assert again.stdout.count("already queued") == 2, "the same key twice: a duplicate everywhere"
    by_symbol = run_cli("sleep", "--minutes", "5", "--reason", "eth", "--symbol", "ETH/USDT", cwd=tmp_path, env=env)
    assert by_symbol.returncode == 0 and "runner r2" in by_symbol.stdout and "runner r1" not in by_symbol.stdout
    unknown = run_cli("resume", "--runner", "r9", cwd=tmp_path, env=env)
    assert unknown.returncode != 0 and "r9" in unknown.stderr + unknown.stdout and "Traceback" not in unknown.stderr

    for runner in ("r1", "r2"):
        service = _service(redis_server.url, books[runner])
        applied = await service.apply_commands(T0)
        assert [a.kind for a in applied if a.idempotency_key == "halt-1"] == ["halt"]
        assert service.book.board.controls.halted
        assert await service.apply_commands(T0) == [], "applied once"
        restarted = _service(redis_server.url, books[runner])
        assert await restarted.apply_commands(T0) == [] and restarted.book.board.controls.halted, "no re-apply"
    assert RedisStore(redis_server.url, books["r3"]).pending_commands() == []

    status = run_cli("status", cwd=tmp_path, env=env | {"TRADEWAKE_EXCHANGE__SYMBOLS": "BTC/USDT,ETH/USDT"})
    assert status.returncode == 0, status.stderr
    assert "runner r1: heartbeat" in status.stdout and "BTC/USDT (lost)" in status.stdout, status.stdout
    assert "runner r2: heartbeat" in status.stdout and "ETH/USDT (" in status.stdout and "token 1)" in status.stdout
    assert "runner r3: no heartbeat" in status.stdout and "held by nobody: BTC/USDT" in status.stdout
