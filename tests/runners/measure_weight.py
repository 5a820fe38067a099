"""Request weight a minute on one venue IP: ``N`` full ``tradewake run`` processes (``tests.runners.venue_fleet``),
with positions open, read from the venue's own ``X-MBX-USED-WEIGHT-1M`` (the figures of ``docs/runners.md``).

    python -m tests.runners.measure_weight --runners 1 --minutes 2
    python -m tests.runners.measure_weight --runners 3 --minutes 2

The venue counts weight in fixed wall-clock minutes, like Binance; the sampler asks ``GET /fapi/v1/time``
(weight 1) every ``--every`` seconds and keeps, per minute it saw from start to end, the highest use the venue
reported less its own requests. Measuring starts once a position is open on the venue (the guard passes then
read ``positionRisk`` and the settings of the symbol), after a full minute has begun. Prints one JSON line: the
weight of each minute, its mean per endpoint (the venue's tally), positions open, and how often the runners' market data waited for the budget's next window.
Needs ``redis-server``; a few minutes of wall time; not a test (nothing asserted).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.chaos.processes import wait_for
from tests.redis_server import RedisServer
from tests.runners.venue_fleet import CONFIG, VenueFleet

MINUTE_S = 60.0


def used_weight(venue_url: str) -> int:
    with urllib.request.urlopen(f"{venue_url}/fapi/v1/time", timeout=5) as answer:
        return int(answer.headers["X-MBX-USED-WEIGHT-1M"])


def open_positions(fleet: VenueFleet) -> int:
    return sum(1 for p in fleet.venue.state()["positions"] if Decimal(p["quantity"]) > 0)


def sample_minutes(fleet: VenueFleet, minutes: int, every_s: float) -> list[dict[str, int]]:
    """The weight each whole wall-clock minute used (less the sampler's), and the most positions open in it."""
    found: list[dict[str, int]] = []
    for _ in range(minutes):
        window = int(time.time() // MINUTE_S)
        peak, polls, positions = 0, 0, 0
        while int(time.time() // MINUTE_S) == window:
            peak = max(peak, used_weight(fleet.venue.url))
            polls += 1
            positions = max(positions, open_positions(fleet))
            time.sleep(every_s)
        found.append({"weight": peak - polls, "sampler": polls, "positions": positions})
    return found


def market_data_waits(fleet: VenueFleet) -> int:
    return sum((bot.directory / "bot.out").read_text(errors="replace").count("market data waits")
               for bot in fleet.bots.values())


def safety_passes(fleet: VenueFleet) -> dict[str, int]:
    """Each runner's guard passes over its whole run (its exit line: ``stopped after N candles (P safety passes``)."""
    found = {}
    for runner, bot in fleet.bots.items():
        said = re.findall(r"\((\d+) safety passes", (bot.directory / "bot.out").read_text(errors="replace"))
        if said:
            found[runner] = int(said[-1])
    return found


def measure(runners: int, minutes: int, every_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tw-weight-") as tmp:
        directory = Path(tmp)
        redis = RedisServer(directory / "redis").start()
        fleet = VenueFleet(directory, redis.url, f"acct{uuid.uuid4().hex[:6]}", ttl_s=3.0, safety_interval_s=1.0)
        try:
            began = time.monotonic()
            fleet.venue.start()
            for runner in list(CONFIG)[:runners]:
                fleet.start_bot(runner)
            wait_for(lambda: open_positions(fleet) > 0, 240, "an open position", every_s=0.5)
            time.sleep(MINUTE_S - time.time() % MINUTE_S + 0.05)  # start with a fresh window
            before = fleet.venue.state()["weight_by_endpoint"]
            windows = sample_minutes(fleet, minutes, every_s)
            after = fleet.venue.state()["weight_by_endpoint"]
            waits = market_data_waits(fleet)
        finally:
            fleet.stop()
            redis.stop()
        spent = {k: round((v - before.get(k, 0)) / minutes) for k, v in after.items() if v > before.get(k, 0)}
        by_endpoint = dict(sorted(spent.items(), key=lambda kv: -kv[1]))
        return {"runners": runners, "minutes": windows, "per_minute_by_endpoint": by_endpoint, "market_data_waits": waits,
                "safety_passes": safety_passes(fleet), "run_s": round(time.monotonic() - began, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runners", type=int, choices=(1, 2, 3), default=3)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples (each costs 1 weight)")
    args = parser.parse_args()
    print(json.dumps(measure(args.runners, args.minutes, args.every)))


if __name__ == "__main__":
    main()
