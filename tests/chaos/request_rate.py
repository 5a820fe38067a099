"""REST requests per second a live bot sends while it holds a position: ``python -m tests.chaos.request_rate``.

Starts a real venue (USDT-M futures, the 5m BTC file at 300x) and the real bot with the chaos tests' eager
settings, waits until the venue shows an open position, then counts the venue's REST requests (``/_venue/info``'s
``requests``; the admin endpoints are not counted) over windows of ``--window`` seconds during which the position
stayed open, and prints their median and the number of windows (``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.harness import BOT_ENV
from tests.chaos.processes import BotProcess, VenueProcess, wait_for


def rates(directory: Path, windows: int, window_s: float, budget_s: float) -> list[float]:
    venue = VenueProcess(directory / "venue", market="future", speed=300, warmup=2000).start()
    bot = BotProcess(directory / "bot", venue, env=dict(BOT_ENV)).start()
    measured: list[float] = []
    deadline = time.monotonic() + budget_s
    try:
        while len(measured) < windows and time.monotonic() < deadline:
            wait_for(lambda: bool(open_positions(venue)) or time.monotonic() > deadline, budget_s, "a position")
            before, began = int(venue.get("/_venue/info")["requests"]), time.monotonic()
            held = True
            while time.monotonic() - began < window_s:
                time.sleep(0.2)
                held = held and bool(open_positions(venue))
            if held:
                measured.append((int(venue.get("/_venue/info")["requests"]) - before) / (time.monotonic() - began))
    finally:
        if bot.running:
            bot.terminate()
        venue.stop()
    return measured


def open_positions(venue: VenueProcess) -> list[dict[str, str]]:
    return [p for p in venue.state()["positions"] if float(p["quantity"]) > 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window", type=float, default=5.0, help="seconds per window")
    parser.add_argument("--budget", type=float, default=240.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tradewake-rate-") as tmp:
        found = rates(Path(tmp), args.windows, args.window, args.budget)
    if not found:
        print("no window with a position open throughout")
        return 1
    print(f"REST requests/s with a position open: median {statistics.median(found):.2f} over {len(found)} windows "
          f"of {args.window:.0f} s (each: {', '.join(f'{r:.2f}' for r in found)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
