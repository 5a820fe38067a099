"""Real processes: ``tradewake venue serve`` and ``tradewake run --mode testnet --venue URL``, as a user starts them.

The venue is its own process (its ledger outlives every bot it serves), the bot is killed and started again as
often as a test likes. Both run the installed CLI module with the repository on the path and a clean
``TRADEWAKE_*`` environment; each writes its output to a file under the test's directory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "chaoskey0123456789abcdef0123456789abcdef0123456789abcdef012345"
API_SECRET = "chaossecret0123456789abcdef0123456789abcdef0123456789abcdef0123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWAKE_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra)
    return env


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, *, every_s: float = 0.02) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)
    return time.monotonic() - started


@dataclass
class VenueProcess:
    """``tradewake venue serve`` on a free port with a ledger file and faults."""

    directory: Path
    data: str = "binance_BTC-USDT_5m.csv.gz"
    market: str = "future"
    speed: float = 60.0
    warmup: int = 400
    faults: dict[str, Any] | None = None
    seed: int = 7
    extra: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ledger_path(self) -> Path:
        return self.directory / "venue-ledger.jsonl"

    def start(self) -> VenueProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            "venue",
            "serve",
            "--data",
            self.data,
            "--market",
            self.market,
            "--speed",
            str(self.speed),
            "--port",
            str(self.port),
            "--warmup",
            str(self.warmup),
            "--ledger",
            str(self.ledger_path),
            "--seed",
            str(self.seed),
            *self.extra,
        ]
        if self.faults is not None:
            path = self.directory / "faults.json"
            path.write_text(json.dumps(self.faults), encoding="utf-8")
            args += ["--faults", str(path)]
        env = clean_env(TRADEWAKE_VENUE_API_KEY=API_KEY, TRADEWAKE_VENUE_API_SECRET=API_SECRET)
        with (self.directory / "venue.out").open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", *args],
                cwd=self.directory,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_for(self._answers, 60, "the venue to answer")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the venue exited: {(self.directory / 'venue.out').read_text()[-2000:]}")
        try:
            self.get("/_venue/info")
        except OSError:
            return False
        return True

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return json.loads(answer.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def ledger(self, since: int = 0) -> list[dict[str, Any]]:
        """The venue's own account of what happened (``GET /_venue/ledger``)."""
        return list(self.get(f"/_venue/ledger?since={since}")["records"])

    def state(self) -> dict[str, Any]:
        return dict(self.get("/_venue/state"))

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@dataclass
class BotProcess:
    """``tradewake run --mode testnet --venue URL`` over one store, restarted as often as a test likes."""

    directory: Path
    venue: VenueProcess
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def store_path(self) -> Path:
        return self.directory / "bot.sqlite3"

    @property
    def heartbeat(self) -> Path:
        return self.directory / "heartbeat"

    def start(self) -> BotProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        market = self.venue.market
        defaults = {
            "TRADEWAKE_EXCHANGE__API_KEY": API_KEY,
            "TRADEWAKE_EXCHANGE__API_SECRET": API_SECRET,
            "TRADEWAKE_EXCHANGE__MARKET_TYPE": market,
            "TRADEWAKE_EXCHANGE__SYMBOLS": '["BTC/USDT:USDT"]' if market == "future" else '["BTC/USDT"]',
            "TRADEWAKE_STORE__URL": f"sqlite:///{self.store_path}",
        }
        env = clean_env(**{**defaults, **self.env})  # ``env`` may override a default (several runners: Redis)
        args = ["run", "--mode", "testnet", "--venue", self.venue.url, "--heartbeat", str(self.heartbeat), *self.args]
        self.starts += 1
        with (self.directory / "bot.out").open("ab") as out:
            out.write(f"\n=== start {self.starts} ===\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", *args],
                cwd=self.directory,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no step finishes, nothing is saved that was not saved already."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout_s: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def output(self) -> str:
        return (self.directory / "bot.out").read_text(encoding="utf-8", errors="replace")
