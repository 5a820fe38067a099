"""Kill -9 chaos: a real ``tradewake run --mode testnet`` process against a real venue process, SIGKILLed at aimed
points and started again, over and over; afterwards the invariants are checked from the venue's own ledger.

Kill points, in turn (each aimed by what the venue or the bot records, never by sleeps alone):

- ``placement``: the venue is told to apply the next order and hold its answer (``timeout_after_accept``); the
  kill lands when the ledger shows the fault, i.e. the order exists and the bot has not heard of it;
- ``fill``: the kill lands when the ledger shows a fill of a stop, take-profit or exit, before the bot finalizes;
- ``decision``: the kill lands when the bot journals a tool call (the agent's decision is in flight);
- ``save``: the bot is started with ``TRADEWAKE_CHAOS_KILL_AT_SAVE=N`` and kills itself inside its N-th store
  transaction, before it commits (``engine/chaos.py``);
- ``random``: after a random delay.

Figures: kills done by point, restarts, duplicate orders (client ids accepted twice) and fills (trade ids seen
twice), seconds each restart left a position without a live stop (from the process start, and from the moment
it had reconciled), closes at the venue against closes recorded and learned by the bot, learner double counts,
and ``tradewake journal verify``.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.chaos.processes import BotProcess, VenueProcess, clean_env

POINTS = ("placement", "fill", "decision", "save", "random")
AIM_S = 5.0
"""How long a kill waits for its point to come before it lands at once instead (counted as ``random``; the point is
aimed at again by the next kill, up to ``AIM_RETRIES`` times). A restart protects in about 2 s (``engine/startup.py``),
so the wait, not the restart, is most of a kill's cost."""
AIM_RETRIES = 2
SAVE_AT = (3, 20)
"""The store transaction a ``save`` kill lands in, drawn from this range (a start makes a dozen in its first seconds)."""
EXIT_TYPES = {"STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT"}
BOT_ENV = {
    # Wake at every 5m close, enter on weak signals, no cool-downs or daily caps: many orders, stops and exits.
    "TRADEWAKE_GATE__CANDLE_CLOSE_TIMEFRAMES": '["5m"]',
    "TRADEWAKE_GATE__COOLDOWN_S": "0",
    "TRADEWAKE_GATE__FEED_STALE_S": "3600",
    "TRADEWAKE_LLM__RULES_MIN_SCORE": "0.05",
    "TRADEWAKE_RISK__COOLDOWN_AFTER_EXIT_S": "0",
    "TRADEWAKE_RISK__MAX_TRADES_PER_DAY": "10000",
    "TRADEWAKE_RISK__MAX_ORDERS_PER_DAY": "10000",
    "TRADEWAKE_RISK__MAX_CONSECUTIVE_LOSSES": "10000",
    "TRADEWAKE_RISK__DAILY_LOSS_LIMIT_PCT": "90",
    "TRADEWAKE_RISK__STOP_MIN_DISTANCE_PCT": "0.1",
    "TRADEWAKE_RISK__STOP_MAX_DISTANCE_PCT": "0.3",  # stops a few candles away: many closes, many re-entries
    "TRADEWAKE_EXCHANGE__REQUEST_TIMEOUT_S": "2",
}


@dataclass
class Figures:
    kills: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    failed_starts: int = 0
    """Starts that ended before the bot was ready (a kill aimed at a save during the start, or a refusal)."""
    unprotected_from_start_s: list[float] = field(default_factory=list)
    """Per restart that found a position without a live stop: seconds from the process start until protected."""
    unprotected_from_ready_s: list[float] = field(default_factory=list)
    """The same, from the moment the restarted bot had reconciled with the venue."""
    orders: int = 0
    duplicate_orders: int = 0
    fills: int = 0
    duplicate_fills: int = 0
    venue_closes: int = 0
    bot_closes: int = 0
    learned: int = 0
    learner_double_counts: int = 0
    journal_verified: bool = False
    journal_events: int = 0
    open_at_end_unprotected: int = 0
    unprotected_cpu_s: list[float] = field(default_factory=list)
    """The same restarts: CPU seconds the bot had used by then (what the wall time is on an idle machine)."""
    killed_before_protected: int = 0
    """Starts that found a position without a stop and were killed again before they placed one."""
    crashes: list[str] = field(default_factory=list)
    """Starts that ended on their own (not the save hook's SIGKILL), with the end of their output."""
    ready_s: list[float] = field(default_factory=list)
    """Per start: seconds from the process start until it had reconciled with the venue (imports included)."""
    seconds: float = 0.0
    """Wall seconds of the whole chaos run."""

    def summary(self, label: str) -> str:
        def stats(values: list[float]) -> str:
            if not values:
                return "none unprotected"
            return f"n={len(values)} p50 {statistics.median(values):.2f} s, max {max(values):.2f} s"

        kills = ", ".join(f"{point} {self.kills[point]}" for point in POINTS if self.kills[point])
        return "\n".join(
            [
                f"{label}: {sum(self.kills.values())} kills ({kills}), {self.restarts} restarts "
                f"({self.failed_starts} ended before ready, {len(self.crashes)} crashes)",
                f"  venue ledger: {self.orders} orders, {self.duplicate_orders} duplicate client ids; "
                f"{self.fills} fills, {self.duplicate_fills} duplicate trade ids",
                f"  unprotected after restart: from process start {stats(self.unprotected_from_start_s)}; "
                f"from reconciled {stats(self.unprotected_from_ready_s)}; bot CPU seconds by then "
                f"{stats(self.unprotected_cpu_s)}; killed again before protecting "
                f"{self.killed_before_protected}; unprotected at the end {self.open_at_end_unprotected}",
                f"  closes: venue {self.venue_closes}, recorded by the bot {self.bot_closes}, learned {self.learned}, "
                f"learner double counts {self.learner_double_counts}",
                f"  journal verify: {'clean' if self.journal_verified else 'FAILED'} ({self.journal_events} events)",
                f"  start to reconciled: {stats(self.ready_s).replace('none unprotected', 'none')}; "
                f"whole run {self.seconds:.0f} s",
            ]
        )


@dataclass
class Chaos:
    directory: Path
    seed: int = 1
    market: str = "future"
    speed: float = 300.0
    warmup: int = 2000
    bot_env: dict[str, str] = field(default_factory=dict)
    figures: Figures = field(default_factory=Figures)
    venue: VenueProcess = field(init=False)
    bot: BotProcess = field(init=False)
    rng: random.Random = field(init=False)
    _ledger_seq: int = 0
    _journal_seq: int = 0
    _exit_cids: set[str] = field(default_factory=set)
    _retries: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.venue = VenueProcess(
            self.directory / "venue", market=self.market, speed=self.speed, seed=self.seed, warmup=self.warmup
        )
        self.bot = BotProcess(self.directory / "bot", self.venue, env={**BOT_ENV, **self.bot_env})

    # ------------------------------------------------------------------ the run

    def run(self, kills: int) -> Figures:
        began = time.monotonic()
        self.venue.start()
        try:
            queue: list[str] = []
            for index in range(kills):
                point = queue.pop(0) if queue else POINTS[index % len(POINTS)]
                if self._cycle(point) != point and point != "random" and self._retries[point] < AIM_RETRIES:
                    self._retries[point] += 1
                    queue.append(point)  # the point did not come in time: the next kill aims at it again
            self._start(save_at=None)
            self._await_ready(self.bot.starts, 120)
            time.sleep(3)  # a few candles after the last restart
            settle(self.venue)
            assert self.bot.terminate() == 0, self.bot.output()[-3000:]
            self._check()
        finally:
            if self.bot.running:
                self.bot.kill()
            self.venue.stop()
        self.figures.seconds = time.monotonic() - began
        return self.figures

    def _cycle(self, point: str) -> str:
        """One start and one kill aimed at ``point``; returns the point the kill landed at."""
        save_at = self.rng.randint(*SAVE_AT) if point == "save" else None
        start = self._start(save_at)
        watcher = threading.Thread(target=self._watch_protection, args=(start,), daemon=True)
        watcher.start()
        if not self._await_ready(start, 120):
            self.figures.failed_starts += 1
            self.figures.kills["save" if point == "save" else "random"] += 1
            if self.bot.running:
                self.bot.kill()
            watcher.join(timeout=5)
            return "save" if point == "save" else "random"
        killed = self._aim(point)
        self.figures.kills[killed] += 1
        watcher.join(timeout=40)
        return killed

    def _start(self, save_at: int | None) -> int:
        self.bot.env.pop("TRADEWAKE_CHAOS_KILL_AT_SAVE", None)
        if save_at is not None:
            self.bot.env["TRADEWAKE_CHAOS_KILL_AT_SAVE"] = str(save_at)
        self._journal_seq = self._last_journal_seq()
        self._ledger_seq = self._last_ledger_seq()
        self.bot.start()
        self.figures.restarts += 1
        self._started_at = time.monotonic()
        self._ready_at: float | None = None
        return self.bot.starts

    def _await_ready(self, start: int, timeout_s: float) -> bool:
        """Until the bot (started as ``start``) has reconciled; False when it died first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._journal_since(self._journal_seq, "reconcile.done"):
                self._ready_at = time.monotonic()
                self.figures.ready_s.append(self._ready_at - self._started_at)
                return True
            if not self.bot.running:
                self._note_exit()
                return False
            time.sleep(0.05)
        raise AssertionError(f"start {start} not ready after {timeout_s} s:\n{self.bot.output()[-3000:]}")

    def _note_exit(self) -> None:
        """The bot ended by itself: only the save hook's SIGKILL is expected; anything else is a crash."""
        assert self.bot.process is not None
        if self.bot.process.returncode != -9:
            self.figures.crashes.append(
                f"start {self.bot.starts} exited {self.bot.process.returncode}: {self.bot.output()[-1500:]}"
            )

    # ------------------------------------------------------------------ aiming

    def _aim(self, point: str) -> str:
        """Kill at ``point`` (or at random when the point does not come within a while); returns the point hit."""
        if point == "save":
            assert self.bot.process is not None
            try:
                self.bot.process.wait(timeout=AIM_S)
            except subprocess.TimeoutExpired:
                pass  # the N-th save did not come in time
            else:
                self._note_exit()
                return "save"
            self.bot.kill()  # it has waited already: land now (counted as random; the next kill aims again)
            return "random"
        if point == "placement":
            self.venue.post(
                "/_venue/faults/add",
                {
                    "rules": [
                        {
                            "kind": "timeout_after_accept",
                            "times": 1,
                            "hold_s": 6,
                            "paths": ["POST /fapi/v1/order", "POST /fapi/v1/algoOrder", "POST /api/v3/order"],
                        }
                    ]
                },
            )
            hit = self._wait(
                lambda: self._ledger_has("fault", lambda r: r.get("fault") == "timeout_after_accept"), AIM_S
            )
        elif point == "fill":
            hit = self._wait(lambda: self._ledger_has("fill", lambda r: r["client_order_id"] in self._exit_cids), AIM_S)
        elif point == "decision":
            hit = self._wait(lambda: bool(self._journal_since(self._journal_seq, "tool_call")), AIM_S)
        else:
            time.sleep(self.rng.uniform(0.2, 3.0))
            hit = False
        if self.bot.running:
            self.bot.kill()
        return point if hit or point == "random" else "random"

    def _wait(self, condition: Any, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.bot.running:
                return False
            if condition():
                return True
            time.sleep(0.01)
        return False

    def _ledger_has(self, kind: str, test: Any) -> bool:
        for record in self.venue.ledger(self._ledger_seq):
            self._ledger_seq = max(self._ledger_seq, int(record["seq"]))
            if record["kind"] == "order" and (record.get("reduce_only") or record.get("type") in EXIT_TYPES):
                self._exit_cids.add(record["client_order_id"])
            if record["kind"] == kind and test(record):
                return True
        return False

    # ------------------------------------------------------------------ protection

    def _watch_protection(self, start: int) -> None:
        """From this start on: how long did a position stay without a live stop (``Figures``)? A start killed
        before it protected counts in ``killed_before_protected`` (the next start measures again)."""
        started = self._started_at
        first_unprotected: bool | None = None
        while self.bot.starts == start and time.monotonic() - started < 60:
            bare = unprotected(self.venue.state())
            if first_unprotected is None:
                first_unprotected = bool(bare)
            if not bare:
                if first_unprotected:
                    now = time.monotonic()
                    self.figures.unprotected_cpu_s.append(cpu_seconds(self.bot))
                    self.figures.unprotected_from_start_s.append(now - started)
                    ready = self._ready_at or now
                    self.figures.unprotected_from_ready_s.append(max(0.0, now - ready))
                return
            if not self.bot.running:
                self.figures.killed_before_protected += 1
                return
            time.sleep(0.05)
        self.figures.unprotected_from_start_s.append(time.monotonic() - started)  # never protected: fails the target

    # ------------------------------------------------------------------ the invariants

    def _check(self) -> None:
        records = self.venue.ledger(0)
        orders = [r["client_order_id"] for r in records if r["kind"] == "order"]
        fills = [r for r in records if r["kind"] == "fill"]
        f = self.figures
        f.orders, f.duplicate_orders = len(orders), len(orders) - len(set(orders))
        f.fills, f.duplicate_fills = len(fills), len(fills) - len({r["trade_id"] for r in fills})
        f.venue_closes = round_trips(records)
        f.open_at_end_unprotected = len(unprotected(self.venue.state()))
        closed, learned, ledger_docs = store_closes(self.bot.store_path)
        f.bot_closes, f.learned = len(closed), len(set(learned))
        f.learner_double_counts = ledger_docs - len(set(learned)) + len(set(learned) - set(closed))
        f.journal_verified, f.journal_events = journal_verify(self.bot)

    # ------------------------------------------------------------------ the bot's journal

    def _journal_since(self, seq: int, kind: str) -> list[int]:
        if not self.bot.store_path.exists():
            return []
        try:
            with sqlite3.connect(f"file:{self.bot.store_path}?mode=ro", uri=True, timeout=1) as db:
                return [row[0] for row in db.execute("SELECT seq FROM journal WHERE seq > ? AND kind = ?", (seq, kind))]
        except sqlite3.OperationalError:
            return []

    def _last_journal_seq(self) -> int:
        if not self.bot.store_path.exists():
            return 0
        with sqlite3.connect(f"file:{self.bot.store_path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT MAX(seq) FROM journal").fetchone()
        return int(row[0] or 0)

    def _last_ledger_seq(self) -> int:
        records = self.venue.ledger(self._ledger_seq)
        for record in records:
            if record["kind"] == "order" and (record.get("reduce_only") or record.get("type") in EXIT_TYPES):
                self._exit_cids.add(record["client_order_id"])
        return max([self._ledger_seq, *(int(r["seq"]) for r in records)])


def unprotected(state: dict[str, Any]) -> list[str]:
    """Open positions without a live stop for their whole quantity on the other side."""
    stops = [
        o
        for o in [*state["open_orders"], *state["open_algo_orders"]]
        if o["type"] in {"STOP_MARKET", "STOP", "STOP_LOSS", "STOP_LOSS_LIMIT"}
    ]
    bare = []
    for position in state["positions"]:
        quantity = Decimal(position["quantity"])
        if quantity <= 0:
            continue
        closing = "SELL" if position["side"] == "long" else "BUY"
        covered = sum(
            (Decimal(o["quantity"]) for o in stops if o["side"] == closing and o["symbol"] == position["symbol"]),
            Decimal(0),
        )
        if covered < quantity:
            bare.append(position["symbol"])
    return bare


def round_trips(records: list[dict[str, Any]]) -> int:
    """How often the account's position went back to flat (futures: signed fills per symbol)."""
    held: dict[str, Decimal] = {}
    sides = {r["client_order_id"]: (r["symbol"], r["side"]) for r in records if r["kind"] == "order"}
    trips = 0
    for record in records:
        if record["kind"] != "fill" or record["client_order_id"] not in sides:
            continue
        symbol, side = sides[record["client_order_id"]]
        signed = Decimal(record["fill_quantity"]) * (1 if side == "BUY" else -1)
        before = held.get(symbol, Decimal(0))
        held[symbol] = before + signed
        if before != 0 and held[symbol] == 0:
            trips += 1
    return trips


def store_closes(store_path: Path) -> tuple[list[str], list[str], int]:
    """The bot's closed positions, the positions its learner's ledger holds, and how many ledger entries in all."""
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
        keys = [row[0] for row in db.execute("SELECT key FROM docs")]
        state_row = db.execute("SELECT value FROM docs WHERE key LIKE '%learner/state'").fetchone()
    closed = [k.split("safety/closed/", 1)[1] for k in keys if "safety/closed/" in k]
    ledger = [k.split("learner/ledger/", 1)[1] for k in keys if "learner/ledger/" in k]
    in_state = int(json.loads(state_row[0]).get("ledger_size", 0)) if state_row and state_row[0] else 0
    return closed, ledger, max(len(ledger), in_state)


def journal_verify(bot: BotProcess) -> tuple[bool, int]:
    """``tradewake journal verify --json`` over the bot's store: (clean, events checked)."""
    verify = subprocess.run(
        [sys.executable, "-m", "engine.cli", "journal", "verify", "--json"],
        cwd=bot.directory,
        env=clean_env(TRADEWAKE_STORE__URL=f"sqlite:///{bot.store_path}"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(verify.stdout) if verify.stdout.strip().startswith("{") else {}
    return verify.returncode == 0 and bool(report.get("ok")), int(report.get("events_checked", 0))


def cpu_seconds(bot: BotProcess) -> float:
    """User + system CPU seconds the bot process has used so far (Linux ``/proc``; 0 when it is gone)."""
    if bot.process is None:
        return 0.0
    try:
        fields = Path(f"/proc/{bot.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(venue: VenueProcess, seconds: float = 5.0) -> None:
    """Stop the venue's replay and give the bot a moment: what the venue did from here on, the bot has had the
    chance to hear of (a stop that fills while the bot shuts down is the next start's to finalize, not a miss)."""
    venue.post("/_venue/speed", {"speed": 0})
    time.sleep(seconds)
