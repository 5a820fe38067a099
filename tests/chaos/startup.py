"""Where a restart's time goes: ``python -m tests.chaos.startup [--starts N] [--life S] [--market future|spot]``.

Starts a real venue and starts the real bot against it N times over one store (each start SIGKILLed once it has
journaled its start-up trace, ``run.startup``, see ``engine/startup.py``, or ``--life`` seconds later: a bot that
runs a while leaves its request weight in the wall minute, as the chaos run's do) and prints the median wall and CPU
seconds of every phase, the median seconds from the process start to the end of each (the table in
``docs/performance.md``, "Restart: protected first") and each start's seconds to reconciled.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.chaos.harness import BOT_ENV
from tests.chaos.processes import BotProcess, VenueProcess, wait_for


def startup_trace(store_path: Path, after_seq: int) -> dict[str, Any] | None:
    """The last ``run.startup`` payload journaled after ``after_seq`` (``None``: not yet)."""
    if not store_path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=1) as db:
            row = db.execute(
                "SELECT payload FROM journal WHERE seq > ? AND kind = 'run.startup' ORDER BY seq DESC LIMIT 1",
                (after_seq,),
            ).fetchone()
    except sqlite3.OperationalError:
        return None
    return json.loads(row[0]) if row else None


def last_seq(store_path: Path) -> int:
    if not store_path.exists():
        return 0
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5) as db:
        return int(db.execute("SELECT MAX(seq) FROM journal").fetchone()[0] or 0)


def measure(directory: Path, starts: int, market: str, life_s: float = 0.0) -> list[list[dict[str, Any]]]:
    venue = VenueProcess(directory / "venue", market=market, speed=300, warmup=2000).start()
    bot = BotProcess(directory / "bot", venue, env=dict(BOT_ENV))
    traces: list[list[dict[str, Any]]] = []
    try:
        for _ in range(starts):
            seq = last_seq(bot.store_path)
            bot.start()
            found: dict[str, Any] = {}

            def traced(seq: int = seq, found: dict[str, Any] = found) -> bool:
                if not bot.running:
                    raise AssertionError(bot.output()[-3000:])
                found.update(startup_trace(bot.store_path, seq) or {})
                return bool(found)

            wait_for(traced, 120, "the start-up trace", every_s=0.1)
            time.sleep(life_s)
            bot.kill()
            traces.append(list(found["phases"]))
            time.sleep(0.5)
    finally:
        if bot.running:
            bot.kill()
        venue.stop()
    return traces


def table(traces: list[list[dict[str, Any]]]) -> str:
    names = [p["name"] for p in traces[-1]]
    lines = ["| phase | wall s | CPU s | done at s (from process start) |", "|---|---:|---:|---:|"]
    for name in names:
        rows = [p for trace in traces for p in trace if p["name"] == name]
        wall, cpu, at = (statistics.median(float(r[k]) for r in rows) for k in ("wall_s", "cpu_s", "at_s"))
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {at:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--life", type=float, default=0.0, help="seconds each start runs after its trace")
    parser.add_argument("--market", choices=("future", "spot"), default="future")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tradewake-startup-") as tmp:
        traces = measure(Path(tmp), args.starts, args.market, args.life)
    print(f"median of {len(traces)} starts ({args.market}, each running {args.life:g} s after its trace):")
    print(table(traces))
    reconciled = [next((float(p["at_s"]) for p in t if p["name"].startswith("reconcile")), 0.0) for t in traces]
    print("reconciled at, per start (s from the process start): " + ", ".join(f"{r:.2f}" for r in reconciled))
    return 0


if __name__ == "__main__":
    sys.exit(main())
