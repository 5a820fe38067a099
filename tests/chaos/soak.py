"""The soak: one ``tradewake run --mode testnet`` process against one venue process with faults on, for a wall-clock
while (an hour by default) on sped-up real candles; then SIGTERM, and the venue's ledger and the bot's store must
agree. ``make soak`` runs it (niced); ``python -m tests.chaos.soak --help`` for the knobs.

Faults on the wire all along: 5xx before and after the order is applied, timeouts after the order is applied,
429s, delayed fills, dropped websockets (market and user data), silent market streams, one 418 ban. Alerts go to a
webhook served here, so "a human is alerted" is something this run can count.

Agreement at the end (each a line of the report; any disagreement exits 1):

- one ``order`` record per client id and one ``fill`` per trade id at the venue (no duplicates);
- the venue's open positions are the bot's open positions (symbol, side, quantity), each with a live stop;
- the round trips the venue saw (position back to flat) are the closes the bot recorded, each learned once;
- ``tradewake journal verify`` is clean.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.chaos.alert_inbox import AlertInbox
from tests.chaos.harness import BOT_ENV, journal_verify, round_trips, settle, store_closes, unprotected
from tests.chaos.processes import BotProcess, VenueProcess

ORDER_PATHS = ["POST /fapi/v1/order", "POST /fapi/v1/algoOrder", "POST /api/v3/order"]


def soak_faults(seed: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "rules": [
            {"kind": "server_error", "rate": 0.01},
            {"kind": "server_error_after", "rate": 0.03, "paths": ORDER_PATHS},
            {"kind": "timeout_after_accept", "rate": 0.03, "paths": ORDER_PATHS, "hold_s": 6},
            {"kind": "rate_limit", "rate": 0.005, "retry_after_s": 2},
            {"kind": "ban", "after": 2000, "times": 1, "retry_after_s": 5},
            {"kind": "delay_fill", "rate": 0.2},
            {"kind": "ws_drop", "rate": 0.01, "streams": "market"},
            {"kind": "ws_drop", "rate": 0.01, "streams": "user"},
            {"kind": "ws_silence", "rate": 0.002, "silence_s": 25},
        ],
    }


@dataclass
class SoakReport:
    minutes: float
    venue_info: dict[str, Any] = field(default_factory=dict)
    faults_fired: dict[str, int] = field(default_factory=dict)
    orders: int = 0
    duplicate_orders: int = 0
    fills: int = 0
    duplicate_fills: int = 0
    venue_closes: int = 0
    bot_closes: int = 0
    learned: int = 0
    learner_double_counts: int = 0
    venue_open: list[str] = field(default_factory=list)
    bot_open: list[str] = field(default_factory=list)
    unprotected_at_end: int = 0
    journal_clean: bool = False
    journal_events: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    exit_code: int | None = None
    heartbeat_max_age_s: float = 0.0

    def disagreements(self) -> list[str]:
        found = []
        if self.duplicate_orders or self.duplicate_fills:
            found.append(f"duplicates: {self.duplicate_orders} orders, {self.duplicate_fills} fills")
        if sorted(self.venue_open) != sorted(self.bot_open):
            found.append(f"open positions: venue {self.venue_open}, bot {self.bot_open}")
        if self.venue_closes != self.bot_closes or self.bot_closes != self.learned or self.learner_double_counts:
            found.append(
                f"closes: venue {self.venue_closes}, bot {self.bot_closes}, learned {self.learned} "
                f"({self.learner_double_counts} double counts)"
            )
        if self.unprotected_at_end:
            found.append(f"{self.unprotected_at_end} positions without a live stop at the end")
        if not self.journal_clean:
            found.append("journal verify failed")
        if self.exit_code != 0:
            found.append(f"the bot exited {self.exit_code} on SIGTERM")
        return found

    def text(self) -> str:
        alerts = ", ".join(f"{kind} {n}" for kind, n in sorted(self.alerts.items())) or "none"
        faults = ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults_fired.items())) or "none"
        lines = [
            f"soak: {self.minutes:.1f} min wall clock, venue time {self.venue_info.get('now', '?')} ({self.venue_info.get('candles_played', '?')} candles played)",
            f"  faults fired: {faults}",
            f"  venue ledger: {self.orders} orders ({self.duplicate_orders} duplicate client ids), "
            f"{self.fills} fills ({self.duplicate_fills} duplicate trade ids)",
            f"  closes: venue {self.venue_closes}, recorded by the bot {self.bot_closes}, learned {self.learned}, "
            f"learner double counts {self.learner_double_counts}",
            f"  open at the end: venue {self.venue_open or 'none'}, bot {self.bot_open or 'none'}; "
            f"without a live stop {self.unprotected_at_end}",
            f"  alerts to the webhook: {alerts}; heartbeat oldest age seen {self.heartbeat_max_age_s:.1f} s",
            f"  journal verify: {'clean' if self.journal_clean else 'FAILED'} ({self.journal_events} events); "
            f"SIGTERM exit {self.exit_code}",
        ]
        found = self.disagreements()
        lines.append(
            "  AGREE: the venue's ledger and the bot's store agree" if not found else "  DISAGREE: " + "; ".join(found)
        )
        return "\n".join(lines)


def open_positions_at_venue(state: dict[str, Any]) -> list[str]:
    return [
        f"{p['symbol']} {p['side']} {Decimal(p['quantity']).normalize()}"
        for p in state["positions"]
        if Decimal(p["quantity"]) > 0
    ]


def open_positions_of_bot(store_path: Path) -> list[str]:
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT value FROM docs WHERE key LIKE '%safety/pos/%' AND value IS NOT NULL").fetchall()
    opened = []
    for (value,) in rows:
        position = json.loads(value)["position"]
        opened.append(f"{position['symbol']} {position['side']} {Decimal(position['quantity']).normalize()}")
    return opened


def soak(directory: Path, *, minutes: float, speed: float, seed: int, echo: bool = True) -> SoakReport:
    inbox = AlertInbox()
    venue = VenueProcess(directory / "venue", speed=speed, seed=seed, warmup=2000, faults=soak_faults(seed))
    env = {
        **BOT_ENV,
        "TRADEWAKE_GATE__FEED_STALE_S": "600",  # exchange seconds: 5 s of wall time at speed 120
        "TRADEWAKE_ALERTS__WEBHOOK_URL": inbox.url_for("alerts"),
        "TRADEWAKE_ALERTS__MIN_INTERVAL_S": "0",
    }
    bot = BotProcess(directory / "bot", venue, env=env)
    report = SoakReport(minutes=minutes)
    started = time.monotonic()
    try:
        venue.start()
        bot.start()
        while time.monotonic() - started < minutes * 60:
            if not bot.running:
                raise SystemExit(f"the bot stopped during the soak:\n{bot.output()[-3000:]}")
            if bot.heartbeat.exists():
                report.heartbeat_max_age_s = max(
                    report.heartbeat_max_age_s, time.time() - bot.heartbeat.stat().st_mtime
                )
            if echo and int(time.monotonic() - started) % 300 < 5:
                print(
                    f"  {(time.monotonic() - started) / 60:.0f} min: {len(venue.ledger(0))} ledger records, "
                    f"{len(inbox.alerts)} alerts",
                    flush=True,
                )
            time.sleep(5)
        venue.post("/_venue/faults", {"seed": seed, "rules": []})  # a clean last word: the bot's goodbye is not a fault
        settle(venue, 10.0)
        report.exit_code = bot.terminate(timeout_s=120)
        report.minutes = (time.monotonic() - started) / 60
        _compare(report, venue, bot)
    finally:
        if bot.running:
            bot.kill()
        venue.stop()
        inbox.close()
    report.alerts = Counter(str(a.get("kind")) for a in inbox.alerts)
    return report


def _compare(report: SoakReport, venue: VenueProcess, bot: BotProcess) -> None:
    records = venue.ledger(0)
    info = venue.get("/_venue/info")
    report.venue_info = info
    report.faults_fired = dict((info.get("faults") or {}).get("fired", {}))
    orders = [r["client_order_id"] for r in records if r["kind"] == "order"]
    fills = [r for r in records if r["kind"] == "fill"]
    report.orders, report.duplicate_orders = len(orders), len(orders) - len(set(orders))
    report.fills, report.duplicate_fills = len(fills), len(fills) - len({r["trade_id"] for r in fills})
    report.venue_closes = round_trips(records)
    state = venue.state()
    report.venue_open = open_positions_at_venue(state)
    report.unprotected_at_end = len(unprotected(state))
    report.bot_open = open_positions_of_bot(bot.store_path)
    closed, learned, ledger_docs = store_closes(bot.store_path)
    report.bot_closes, report.learned = len(closed), len(set(learned))
    report.learner_double_counts = ledger_docs - len(set(learned)) + len(set(learned) - set(closed))
    report.journal_clean, report.journal_events = journal_verify(bot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m tests.chaos.soak")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock length of the run (default 60)")
    parser.add_argument(
        "--speed", type=float, default=120.0, help="venue replay speed: 120 plays one 5m candle every 2.5 s (default)"
    )
    parser.add_argument("--seed", type=int, default=7, help="the venue's fault and fill seed")
    parser.add_argument("--dir", type=Path, default=None, help="where the venue and the bot keep their files")
    args = parser.parse_args(argv)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="tradewake-soak-"))
    print(f"soak in {directory}: {args.minutes} min at speed {args.speed}", flush=True)
    report = soak(directory, minutes=args.minutes, speed=args.speed, seed=args.seed)
    print(report.text(), flush=True)
    return 1 if report.disagreements() else 0


if __name__ == "__main__":
    sys.exit(main())
