"""The venue's admin endpoints, its pacing in wall time, its ledger file, and ``tradewake venue serve``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.cli import main
from tests.e2e.cli_helpers import REPO_ROOT
from tests.venue.ccxt_client import API_KEY, API_SECRET, client
from tests.venue.conftest import KLINES_1M
from venue import Venue


async def admin(venue: Venue, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.request(method, f"{venue.url}/_venue/{path}", json=body) as reply:
        return reply.status, await reply.json()


async def test_advance_by_steps_candles_or_until_a_time(spot_venue: Venue) -> None:
    start = spot_venue.market.now_ms
    status, moved = await admin(spot_venue, "POST", "advance", {"steps": 3})
    assert status == 200 and moved["steps"] == 3 and moved["now_ms"] == start + 45_000
    _, moved = await admin(spot_venue, "POST", "advance", {"candles": 2})
    assert moved["now_ms"] == start + 45_000 + 120_000
    _, moved = await admin(spot_venue, "POST", "advance", {"until": "2018-04-28T03:40:00Z"})
    assert moved["now"] == "2018-04-28T03:40:00Z"
    for bad in ({}, {"until": "2018-04-28T03:00:00Z"}, {"steps": "many"}):
        status, answer = await admin(spot_venue, "POST", "advance", bad)
        assert status == 400 and answer["error"]


async def test_the_pacer_plays_at_the_chosen_speed_and_stops_at_zero(spot_venue: Venue) -> None:
    start = spot_venue.market.now_ms
    await admin(spot_venue, "POST", "speed", {"speed": 1200})  # one 1m candle per 50 ms
    await asyncio.sleep(0.5)
    _, paused = await admin(spot_venue, "POST", "speed", {"speed": 0})
    played_ms = spot_venue.market.now_ms - start
    assert paused["speed"] == 0 and 120_000 <= played_ms <= 600_000 + 15_000
    await asyncio.sleep(0.2)
    assert spot_venue.market.now_ms - start == played_ms
    status, _ = await admin(spot_venue, "POST", "speed", {"speed": -1})
    assert status == 400


async def test_info_state_and_ledger(spot_venue: Venue, tmp_path: Path) -> None:
    _, info = await admin(spot_venue, "GET", "info")
    assert info["market"] == "spot" and info["symbols"] == ["BTC/USDT"] and info["api_key"] == API_KEY
    assert info["urls"]["ws"]["ws-api.spot"] == f"{spot_venue.ws_url}/ws-api/v3"
    assert API_SECRET not in json.dumps(info)
    exchange = client("spot", spot_venue.url)
    try:
        await exchange.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "tw-a"})
        await exchange.create_order("BTC/USDT", "limit", "sell", 0.00999, 9500, params={"newClientOrderId": "tw-b"})
    finally:
        await exchange.close()
    _, state = await admin(spot_venue, "GET", "state")
    assert state["balances"]["BTC"] == {"free": "0", "locked": "0.00999"}  # the buy's fee was taken in BTC
    assert [o["client_order_id"] for o in state["open_orders"]] == ["tw-b"]
    _, ledger = await admin(spot_venue, "GET", "ledger?since=1")
    assert [(r["seq"], r["kind"], r["client_order_id"]) for r in ledger["records"]] == [
        (2, "fill", "tw-a"), (3, "order", "tw-b")]
    _, fills = await admin(spot_venue, "GET", "ledger?kind=fill")
    assert [r["trade_id"] for r in fills["records"]] == [1]
    written = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert written == spot_venue.ledger.records


async def test_drop_and_silence_on_demand(spot_venue: Venue) -> None:
    status, dropped = await admin(spot_venue, "POST", "ws/drop", {"streams": "all"})
    assert status == 200 and dropped == {"dropped": 0}
    status, _ = await admin(spot_venue, "POST", "ws/drop", {"streams": "some"})
    assert status == 400
    _, silenced = await admin(spot_venue, "POST", "ws/silence", {"seconds": 2})
    assert silenced["silenced_until_ms"] >= spot_venue.market.wall_ms() + 1_000
    assert [f["fault"] for f in spot_venue.ledger.since(0, "fault")] == ["ws_drop", "ws_silence"]


# ---------------------------------------------------------------- the command line


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
        raise SystemExit(0)
    return int(exited.value.code or 0)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--data", "no-such-file.csv"], "data file not found"),
        (["--data", str(KLINES_1M), "--market", "margin"], "spot or future"),
        (["--data", str(KLINES_1M)], "cannot tell the symbol"),
        (["--data", str(KLINES_1M), "--symbol", "NOPE/USDT"], "no market rules for NOPE/USDT"),
        (["--data", str(KLINES_1M), "--symbol", "BTC/USDT", "--balance", "USDT"], "ASSET=AMOUNT"),
        (["--data", str(KLINES_1M), "--symbol", "BTC/USDT", "--fault", "meteor=0.1"], "KIND"),
        (["--data", str(KLINES_1M), "--symbol", "BTC/USDT", "--from", "soon"], "--from"),
        (["--data", str(KLINES_1M), "--symbol", "BTC/USDT", "--from", "1990-01-01"], "no history"),
        (["--data", str(KLINES_1M), "--symbol", "BTC/USDT", "--start", "soon"], "--start"),
        (["--data", str(KLINES_1M), "--symbol", "BTC/USDT", "--from", "2025-01-01", "--start", "2025-01-01"],
         "--start is the old spelling of --from"),
    ],
)
def test_a_user_mistake_is_one_line_and_exit_2(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["venue", "serve", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_the_start_is_spelled_from_like_a_backtest(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["venue", "serve", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--from" in shown and "--start" not in shown, "--start stays a hidden alias"


def test_a_port_in_use_is_an_operational_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = run(["venue", "serve", "--data", str(KLINES_1M), "--symbol", "BTC/USDT", "--warmup", "100",
                    "--port", str(port)])
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_prints_where_and_how_to_connect_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWAKE_")}
    env.update(PYTHONPATH=str(REPO_ROOT), TRADEWAKE_VENUE_API_KEY=API_KEY, TRADEWAKE_VENUE_API_SECRET=API_SECRET)
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "venue", "serve", "--data", str(KLINES_1M), "--symbol", "BTC/USDT",
         "--market", "future", "--port", "0", "--speed", "0", "--warmup", "100", "--ledger", str(tmp_path / "l.jsonl")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        url = next(line.split()[3] for line in lines if line.startswith("REST + websockets:"))
        assert lines[0].startswith("Binance USDT-M futures venue: BTC/USDT:USDT 1m from 2018-04-28T03:32:00Z, paused")
        assert any(API_KEY in line for line in lines) and not any(API_SECRET in line for line in lines)
        info = asyncio.run(_get(f"{url}/_venue/info"))
        assert info["market"] == "future" and info["now"] == "2018-04-28T03:32:00Z"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopped at venue time 2018-04-28T03:32:00Z: 0 orders, 0 fills, 0 faults" in out


async def _get(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as reply:
        return await reply.json()
