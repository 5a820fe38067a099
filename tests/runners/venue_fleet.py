"""Three full ``tradewake run`` processes on one venue account and one real redis-server (issue 21 item 1).

The venue (``tradewake venue serve``) replays six USDⓈ-M symbols on one account. Its prices are the bundled real
BTC/USDT 5m candles, replayed under all six names (each symbol keeps Binance's own rules from the bundled
exchangeInfo snapshot): the lease of each symbol is what matters here, and six markets moving together make the
runners' rules agents want to enter on every symbol at the same candle, which is the race the account-wide book
must decide. Each symbol is configured on every runner, so a dead runner's symbols have a standby.

Everything checked is read from the venue's ledger and Redis, never from what a bot believes:

- the account's open notional after every fill (:func:`peak_exposure`), against the cap;
- the fencing token each order was sent under (its client id, ``tw.17-...``), per symbol in ledger order
  (:func:`stale_orders`: an order under a token older than one already seen on its symbol);
- duplicate client ids and trade ids;
- after a SIGKILL, how long until another runner holds each of the victim's symbols (Redis), and whether every open
  position on the venue kept a live stop meanwhile (``tests.chaos.harness.unprotected``).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.ids import fence_token
from core.settings import RunMode
from tests.chaos.alert_inbox import AlertInbox
from tests.chaos.harness import BOT_ENV, unprotected
from tests.chaos.processes import REPO_ROOT, BotProcess, VenueProcess, clean_env, wait_for

SYMBOLS = ("BTC/USDT:USDT", "BCH/USDT:USDT", "LTC/USDT:USDT", "DASH/USDT:USDT", "ZEC/USDT:USDT", "XMR/USDT:USDT")
CONFIG: dict[str, tuple[str, ...]] = dict.fromkeys(("r1", "r2", "r3"), SYMBOLS)
"""Every symbol on every runner: whoever holds it, two stand by, so a SIGKILL and then a SIGSTOP each leave a
standby without restarting anybody (a restarted runner did not always come back in time, docs/runners.md)."""
DATA = REPO_ROOT / "market" / "data" / "binance_BTC-USDT_5m.csv.gz"
POSITION_PCT = EXPOSURE_PCT = 10
"""The rules agent sizes an entry at ``max_position_pct`` x its signal score: each runner's own veto lets it fill
the whole 10 % cap alone, so three runners could take three times the account's cap without the shared book."""
EQUITY = Decimal(10_000)
BLOCKER = "blocker"


def _risk() -> Any:
    from core.settings import RiskSettings

    return RiskSettings(max_position_pct=POSITION_PCT, max_total_exposure_pct=EXPOSURE_PCT,
                        max_trades_per_day=10_000, max_orders_per_day=10_000, daily_loss_limit_pct=90)


def venue_args() -> tuple[str, ...]:
    """The six symbols after the first (``VenueProcess`` passes the first ``--data``)."""
    args: list[str] = ["--symbol", SYMBOLS[0]]
    for symbol in SYMBOLS[1:]:
        args += ["--data", str(DATA), "--symbol", symbol]
    return tuple(args)


@dataclass
class VenueFleet:
    directory: Path
    redis_url: str
    account: str
    ttl_s: float = 2.0
    safety_interval_s: float = 1.0
    speed: float = 20.0
    alerts: AlertInbox | None = None
    venue: VenueProcess = field(init=False)
    bots: dict[str, BotProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.venue = VenueProcess(self.directory / "venue", data=str(DATA), market="future", speed=self.speed,
                                  warmup=400, extra=venue_args())

    def start(self) -> VenueFleet:
        self.venue.start()
        for runner in CONFIG:
            self.start_bot(runner)
        return self

    def start_bot(self, runner: str) -> BotProcess:
        env = {
            **BOT_ENV,
            "TRADEWAKE_EXCHANGE__SYMBOLS": json.dumps(list(CONFIG[runner])),
            "TRADEWAKE_STORE__URL": self.redis_url,
            "TRADEWAKE_STORE__NAMESPACE": f"{self.account}-{runner}",
            "TRADEWAKE_RUNNER__ID": runner,
            "TRADEWAKE_RUNNER__ACCOUNT_NAMESPACE": self.account,
            "TRADEWAKE_RUNNER__LEASE_TTL_S": str(self.ttl_s),
            "TRADEWAKE_RISK__MAX_POSITION_PCT": str(POSITION_PCT),
            "TRADEWAKE_RISK__MAX_TOTAL_EXPOSURE_PCT": str(EXPOSURE_PCT),
            "TRADEWAKE_ALERTS__MIN_INTERVAL_S": "0",
        }
        if self.alerts is not None:
            env["TRADEWAKE_ALERTS__WEBHOOK_URL"] = self.alerts.url_for(runner)
        bot = self.bots.get(runner) or BotProcess(self.directory / runner, self.venue, env=env,
                                                  args=("--safety-interval", str(self.safety_interval_s)))
        self.bots[runner] = bot
        return bot.start()

    def signal(self, runner: str, sig: signal.Signals) -> None:
        process = self.bots[runner].process
        assert process is not None
        process.send_signal(sig)

    def stop(self) -> dict[str, int | str]:
        """SIGCONT and SIGTERM every bot still running (SIGKILL when it has not stopped 20 s later), then the
        venue; each bot's exit code ("killed": it did not stop on SIGTERM)."""
        codes: dict[str, int | str] = {}
        for runner, bot in self.bots.items():
            if bot.running:
                self.signal(runner, signal.SIGCONT)
                assert bot.process is not None
                bot.process.send_signal(signal.SIGTERM)
        for runner, bot in self.bots.items():
            if bot.process is None or runner in codes:
                continue
            try:
                codes[runner] = bot.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                bot.kill()
                codes[runner] = "killed"
        self.venue.stop()
        return codes

    # ------------------------------------------------------------------ Redis: who holds what

    def holders(self) -> dict[str, str]:
        from core.ids import Symbol
        from store.leases import RedisLeases

        leases = RedisLeases(self.redis_url, self.account)
        try:
            found = leases.read([Symbol(s) for s in SYMBOLS], int(time.time() * 1000))
        finally:
            leases.close()
        return {s: (lease.owner if lease else "") for s, lease in found.items()}

    def renewal_lateness(self, seconds: float) -> float:
        """How late the runners' lease renewals were (seconds past the renewal period, a third of the ttl), at worst,
        sampling every lease's remaining ttl on Redis for ``seconds``: the event loops' lag under the current load."""
        from core.ids import Symbol
        from store.leases import RedisLeases

        leases = RedisLeases(self.redis_url, self.account)
        since_renewal_ms = 0
        try:
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                found = leases.read([Symbol(s) for s in SYMBOLS], 0)
                for lease in found.values():
                    if lease is not None:
                        since_renewal_ms = max(since_renewal_ms, int(self.ttl_s * 1000) - lease.ttl_ms)
                time.sleep(0.02)
        finally:
            leases.close()
        return max(0.0, since_renewal_ms / 1000 - self.ttl_s / 3)

    def wait_beating(self, runner: str, timeout_s: float) -> float:
        """Until ``runner``'s current process has a live heartbeat in Redis (it runs its lease rounds)."""
        from store.leases import RedisLeases

        process = self.bots[runner].process
        assert process is not None

        def beating() -> bool:
            leases = RedisLeases(self.redis_url, self.account)
            try:
                live, _ = leases.heartbeats()
            finally:
                leases.close()
            return any(beat.runner == runner and beat.pid == process.pid for beat in live)

        return wait_for(beating, timeout_s, f"{runner} (pid {process.pid}) beating", every_s=0.2)

    def wait_held(self, symbols: Iterable[str], timeout_s: float, *, not_by: str = "") -> float:
        wanted = list(symbols)

        def held() -> bool:
            owners = self.holders()
            return all(owners[s] and owners[s] != not_by for s in wanted)

        return wait_for(held, timeout_s, f"{wanted} held by a runner other than {not_by or 'nobody'}", every_s=0.02)

    def block_the_account(self, notional: Decimal) -> None:
        """Hold ``notional`` of the account's exposure in the shared book under a reservation of no runner here (as
        if a fourth runner's position used it): every entry that does not fit the rest must be refused."""
        from safety.shared_book import caps_for, micro
        from store.shared_book import RedisSharedBook

        caps = caps_for(_risk(), RunMode.TESTNET, EQUITY)
        book = RedisSharedBook(self.redis_url, self.account)
        try:
            answer = book.reserve(BLOCKER, "r0", micro(notional, up=True), exposure_cap=caps.exposure_cap,
                                  day="20000101", orders_per_day=caps.orders_per_day,
                                  trades_per_day=caps.trades_per_day, daily_loss_limit=caps.daily_loss_limit)
            assert answer.ok, answer
        finally:
            book.close()

    def unblock_the_account(self) -> None:
        from store.shared_book import RedisSharedBook

        book = RedisSharedBook(self.redis_url, self.account)
        try:
            assert book.release(BLOCKER)
        finally:
            book.close()

    def journal(self, runner: str, kind: str) -> list[dict[str, Any]]:
        """One runner's journal events of ``kind`` (its book is on Redis)."""
        from store.redis_store import RedisStore

        store = RedisStore(self.redis_url, f"{self.account}-{runner}")
        try:
            return [dict(e.payload) for e in store.read_journal() if e.kind == kind]
        finally:
            store.close()

    def bare_positions(self) -> list[str]:
        return unprotected(self.venue.state())


# ---------------------------------------------------------------------- the venue's ledger


def entry_orders(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders that opened a position (client id role ``e``)."""
    return [r for r in records if r["kind"] == "order" and str(r["client_order_id"]).rsplit("-", 1)[-1][:1] == "e"]


def peak_exposure(records: list[dict[str, Any]]) -> Decimal:
    """The largest open notional of the account (sum over symbols of |position| x its last fill price) after
    any fill, in ledger order."""
    sides = {r["client_order_id"]: r["side"] for r in records if r["kind"] == "order"}
    held: dict[str, Decimal] = {}
    price: dict[str, Decimal] = {}
    peak = Decimal(0)
    for record in records:
        if record["kind"] != "fill" or record["client_order_id"] not in sides:
            continue
        signed = Decimal(record["fill_quantity"]) * (1 if sides[record["client_order_id"]] == "BUY" else -1)
        symbol = record["symbol"]
        held[symbol] = held.get(symbol, Decimal(0)) + signed
        price[symbol] = Decimal(record["price"])
        peak = max(peak, sum((abs(q) * price[s] for s, q in held.items()), Decimal(0)))
    return peak


def stale_orders(records: list[dict[str, Any]], prefix: str = "tw") -> list[dict[str, Any]]:
    """Orders sent under a fencing token older than one the venue had already seen an order of on the same
    symbol: what fencing must prevent (an order accepted before a takeover that lands later would show here too:
    it never did in these runs)."""
    newest: dict[str, int] = {}
    stale = []
    for record in records:
        if record["kind"] != "order":
            continue
        token = fence_token(str(record["client_order_id"]), prefix)
        if token is None:
            continue
        symbol = record["symbol"]
        if token < newest.get(symbol, 0):
            stale.append(record)
        newest[symbol] = max(newest.get(symbol, 0), token)
    return stale


def duplicates(records: list[dict[str, Any]]) -> tuple[int, int]:
    """(client ids accepted twice, trade ids seen twice)."""
    orders = [r["client_order_id"] for r in records if r["kind"] == "order"]
    trades = [r["trade_id"] for r in records if r["kind"] == "fill"]
    return len(orders) - len(set(orders)), len(trades) - len(set(trades))


def tokens_by_symbol(records: list[dict[str, Any]]) -> Mapping[str, set[int]]:
    found: dict[str, set[int]] = {}
    for record in records:
        token = fence_token(str(record.get("client_order_id") or ""), "tw") if record["kind"] == "order" else None
        if token is not None:
            found.setdefault(record["symbol"], set()).add(token)
    return found


def env_for_cli(redis_url: str, account: str, runner: str) -> dict[str, str]:
    """The environment of an operator command (``tradewake halt --runner ...``) on the fleet's Redis."""
    return clean_env(TRADEWAKE_STORE__URL=redis_url, TRADEWAKE_STORE__NAMESPACE=f"{account}-{runner}",
                     TRADEWAKE_RUNNER__ID=runner, TRADEWAKE_RUNNER__ACCOUNT_NAMESPACE=account)
