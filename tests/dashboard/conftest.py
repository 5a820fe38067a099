"""Real data for the dashboard's tests, built once per session:

- ``runs``: a runs directory with two real short backtests on bundled BTC/USDT 1h candles: one with the
  anthropic backend (the real SDK against the local Messages server: a vetoed order, an entry with a stop,
  a memory update, reasoning, tokens and dollars; once the script is spent, the breaker hands the wakes to
  the rules backend), one with the rules agent (for comparing runs);
- ``live_store``: a SQLite store written by the real engine over the simulated exchange, with a position
  open (what a live runner leaves in its store);
- ``dashboard``: the real app served by uvicorn on a free loopback port;
- ``browser_context``: Debian's chromium driven by Playwright, a fresh profile per test module.

Screenshots go to ``tests/artifacts/dashboard/`` (ignored by git); their paths are printed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from backtests.data import select_data
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from benchmarks.llmsim import MessagesServer, text, tool_use
from core.clock import SimClock
from core.settings import Settings, load_settings
from engine.events import CommandsPending
from tests.agent.conftest import llm_settings
from tests.engine.helpers import EngineWorld, build_world, entry

T = TypeVar("T")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
TOKEN = "dashboard-test-token-0123456789"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
START, END = datetime(2025, 1, 18, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
LLM_RUN, RULES_RUN = "20250118-anthropic-BTC-USDT-1h", "20250118-rules-BTC-USDT-1h"


def llm_script(price: float) -> tuple[Any, ...]:
    """The model's turns: look, try too big (vetoed), enter with a stop, remember, schedule; then quiet wakes."""
    stop = round(price * 0.95, 2)
    order = {"side": "long", "order_type": "market", "stop_loss_price": stop, "signals": ["trend_follow", "momentum"],
             "confidence": 0.7, "thesis": "higher highs on the 4h with rising volume"}  # fmt: skip
    schedule = ("schedule_next_check", {"seconds": 4 * 3600, "wake_conditions": []})
    return (
        tool_use(("get_market_snapshot", {}), text="Let me look at the tape first."),
        tool_use(("place_order", {**order, "size_pct": 60.0}), text="Trend is up; going in size."),
        tool_use(("place_order", {**order, "size_pct": 10.0}), text="Vetoed as too large: 10 % with a 5 % stop."),
        tool_use(("update_memory", {"text": f"Long BTC from ~{price:.0f}, stop {stop:.0f}. Exit if the 4h trend breaks."}),
                 schedule, text="Entered long; noted the plan."),
        tool_use(("get_portfolio", {})),
        tool_use(schedule, text="Position working; nothing to change."),
        text("Holding."),
    )


@dataclass(frozen=True)
class Runs:
    path: Path
    llm: BacktestResult
    rules: BacktestResult
    settings: Settings


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("runs")
    data = select_data(start=START, end=END)
    server = MessagesServer().start()
    try:
        server.script(*llm_script(float(data.candles["close"].iloc[0])))
        settings = load_settings(None)
        llm = settings.model_copy(update={"llm": llm_settings(server, breaker_failures=2, breaker_probe_after_s=10**6)})
        llm_result = off_loop(lambda: asyncio.run(run_backtest(BacktestRequest(llm, data, base / LLM_RUN))))
    finally:
        server.stop()
    rules_result = off_loop(lambda: asyncio.run(run_backtest(BacktestRequest(settings, data, base / RULES_RUN))))
    return Runs(base, llm_result, rules_result, settings)


@dataclass
class Live:
    path: Path
    world: EngineWorld
    clock: SimClock
    """The dashboard's clock: the engine's simulated time (the store's "now")."""
    next_candle: int = 45

    def settings(self) -> Settings:
        return load_settings(None, store={"url": f"sqlite:///{self.path}"})

    def step(self, candles: int = 1) -> None:
        """The engine takes its next step(s), as a live runner would: queued commands first, as their own
        ``CommandsPending`` event (``engine.live.LiveLoop._step``), then the candles."""
        off_loop(lambda: asyncio.run(self._apply_commands_then_run(candles)))
        self.next_candle += candles
        self.clock.advance_to(self.world.parts.clock.now())

    async def _apply_commands_then_run(self, candles: int) -> None:
        await _apply_pending(self.world)
        await self.world.run(self.next_candle, self.next_candle + candles)


async def _apply_pending(world: EngineWorld) -> None:
    pending = world.store.pending_commands()
    if pending:
        await world.engine.step(CommandsPending(at=world.parts.clock.now(), count=len(pending)))


def off_loop(work: Callable[[], T]) -> T:
    """Run ``work`` in a thread of its own: Playwright's sync API keeps an event loop running in the test's
    thread, and the engine's ``asyncio.run`` needs a thread without one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def _live_world(path: Path) -> EngineWorld:
    world = build_world(path, {})
    assert world.agent is not None
    world.agent.script[30] = [entry(stop=round(world.candles[30].close * 0.97, 2))]
    asyncio.run(world.run(0, 45))
    return world


@pytest.fixture
def live_store(tmp_path: Path) -> Iterator[Live]:
    path = tmp_path / "live.sqlite3"
    world = off_loop(lambda: _live_world(path))
    assert world.engine.safety.positions(), "the live store must hold an open position"
    live = Live(path.resolve(), world, SimClock(world.parts.clock.now()))
    try:
        yield live
    finally:
        world.store.close()


class Served:
    """The real app under the dashboard's own uvicorn server, on a free loopback port, in a thread."""

    def __init__(self, config: Any) -> None:
        from dashboard.server import StoppableServer

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = StoppableServer.for_app(config, host="127.0.0.1", port=self.port)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.thread.start()
        if not self.server.listening.wait(timeout=60):
            raise RuntimeError("uvicorn did not start listening within 60 s")
        return self

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the dashboard did not stop"
        self.socket.close()


def serve(runs: Runs, live: Live | None, **overrides: Any) -> Served:
    from dashboard.app import DashboardConfig
    from dashboard.auth import Token

    settings = live.settings() if live else load_settings(None, store={"url": "sqlite:////nonexistent/tw.sqlite3"})
    config = DashboardConfig(settings=settings, runs_dir=runs.path, token=Token(TOKEN, from_env=True),
                             poll_s=0.2, clock=live.clock if live else SimClock(END), **overrides)  # fmt: skip
    return Served(config).start()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Module-scoped on purpose: Playwright's sync API keeps an event loop running in this thread while it is
    open, which would break every later test that calls ``asyncio.run``; it closes with the browser module."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is needed: make chromium (apt-get install -y chromium)"
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1300, "height": 1000},
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A fresh tab; fails the test on any JavaScript error on the page."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    tab.close()
    browser_context.clear_cookies()
    assert not errors, errors


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path
