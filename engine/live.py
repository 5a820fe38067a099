"""The live loop: the exchange's websockets, the operator's queue and the timers feed ``Engine``.

Three kinds of tasks run side by side (``docs/architecture.md``, "The live loop"):

- **intake**, one task per stream: the kline and trade streams of every symbol, and the account's user-data
  stream (orders, own trades, balance, positions). A dropped socket is dialled again after a capped backoff
  (ccxt does not reconnect by itself), the candles it missed are filled over REST, and a reconnect storm opens
  the exchange breaker (entries stop, a human is told) instead of crashing anything. Intake only records news;
- **the stepper** steps the engine (``Engine.step``: guard, gate, and the agent on a wake): the operator's
  commands first, funding and open interest when due, every closed candle, a price tick every
  ``tick_interval_s``, a timer tick every ``safety_interval_s`` (neither more often than ``floor_wall_s`` of
  wall time: a venue replaying history fast must not multiply the requests). It rewrites the heartbeat file
  whenever market data arrived, so a silent feed (or a stuck process) shows as an ageing heartbeat;
- **the guardian** runs safety alone (``Engine.guard``) on its own cadence: at once when the user-data stream
  reports a change on the account; on every new price while a position or entry is open (at most every
  ``guard_tick_wall_s``), when that price may make safety act (``safety.quiet``: else a pass, which reads the
  position and its orders, would change nothing); and whenever ``safety_interval_s`` passed without one. It takes
  the engine's lock, which a decision in flight holds only during each of its desk calls, so a stop that fills
  during a long agent decision is finalized within one guard interval, not after the decision.

Time is the exchange's (``core.clock.ExchangeClock``): every stream event and a periodic ``GET time`` move it,
so candles close on the exchange's time, never the wall clock's (``docs/venue.md``). Stopping (SIGTERM) lets the
step and the guard pass in progress finish (cancelled after ``Cadence.stop_grace_wall_s``: a request waiting for
the budget's next window must not hold the stop), hands the symbol leases over, saves and returns. Paper mode
hands every trade price to the simulated exchange first (``on_price``). ``engine/wiring.py`` builds the loop;
nothing here knows the run mode.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import ExchangeClock, WallClock
from core.errors import OperationalError, TemporaryError
from core.ids import Symbol
from core.ports import Clock, NewEvent
from core.quiet import EVERY_CANDLE
from core.timeframes import ms_to_datetime
from engine.engine import Engine, StepReport
from engine.events import CommandsPending, DerivativesUpdated, Event, PriceTick, TimerTick
from engine.live_feed import CandleFeed, MarketSource
from engine.live_health import Backoff, Cadence, Pace, ReconnectStorm, RestPause
from engine.live_leases import LeaseRenewal
from engine.live_tasks import done_or_stopped, settle
from engine.live_tasks import first as _first
from engine.live_tasks import raise_failed as _raise_failed
from engine.live_tasks import wall as _wall
from exchange.account_stream import AccountStream, Channel
from market.derivatives import DerivativesPoller
from safety.alerts import AlertKind, make_alert

log = logging.getLogger(__name__)
PriceHook = Callable[[Symbol, Decimal, datetime], None]


@dataclass
class LiveLoop:
    engine: Engine
    feeds: list[CandleFeed]
    source: MarketSource
    clock: ExchangeClock
    cadence: Cadence = field(default_factory=Cadence)
    account: AccountStream | None = None
    """The user-data stream (testnet, mainnet); ``None`` on paper, where fills happen here."""
    heartbeat: Path | None = None
    wall: Clock = field(default_factory=WallClock)
    """Only for the heartbeat file, which an outside watchdog reads against its own wall clock."""
    on_price: PriceHook | None = None
    """Paper mode: the simulated exchange trades at every price the stream reports, before anyone looks."""
    derivatives: DerivativesPoller | None = None
    leases: LeaseRenewal | None = None
    """Several runners: the lease renewal task (``engine.live_leases``); released first thing on stop."""
    stepped: Counter[str] = field(default_factory=Counter)
    """Events stepped and passes made so far, by kind (the runner's log line and the tests read it)."""
    storm: ReconnectStorm = field(default_factory=ReconnectStorm)
    rest_pause: RestPause = field(default_factory=RestPause)
    _prices: dict[Symbol, tuple[Decimal, datetime]] = field(default_factory=dict)
    _ticks: dict[Symbol, Pace] = field(default_factory=dict)
    _timer: Pace | None = None
    _guarded_price_at: datetime | None = None
    _guarded_wall: float | None = None
    _account_news: bool = False
    _storm_detail: str | None = None
    _market_at: datetime | None = None
    _beaten_at: datetime | None = None
    _silence_handled: bool = False
    _synced_wall: float | None = None
    _news: asyncio.Event = field(default_factory=asyncio.Event)
    _guard_news: asyncio.Event = field(default_factory=asyncio.Event)

    # ------------------------------------------------------------------ running

    async def run(self, stop: asyncio.Event, max_candles: int | None = None) -> int:
        """Run until ``stop`` is set (the step in progress finishes) or ``max_candles`` candles were stepped;
        saves state on the way out and returns the candles stepped."""
        closing = asyncio.Event()
        intake = [asyncio.create_task(job) for job in self._intake()]
        guardian = asyncio.create_task(self._guardian(closing), name="guardian")
        tasks: list[asyncio.Task[Any]] = [*intake, guardian]
        tasks += [asyncio.create_task(self.leases.run(closing), name="lease renewal")] if self.leases else []
        try:
            while not stop.is_set() and (max_candles is None or self.stepped["candle_closed"] < max_candles):
                await _first(self._news, stop, timeout=self.cadence.idle_wall_s)
                self._news.clear()
                step = asyncio.create_task(self.round(), name="stepper")
                tasks.append(step)  # on stop it gets the grace below, like the guard pass in progress
                if not await done_or_stopped(step, stop):  # e.g. a request waiting for the budget's next window
                    break
                tasks.remove(step)
                step.result()
                _raise_failed(tasks)
        finally:
            closing.set()
            self._guard_news.set()
            for task in intake:
                task.cancel()
            await settle(tasks, self.cadence.stop_grace_wall_s)  # the pass in progress, unless it hangs
            if self.leases is not None:
                self.leases.release()  # a standby takes over now, not after the ttl
            await self.engine.close()
        _raise_failed(tasks)
        return self.stepped["candle_closed"]

    async def round(self) -> list[StepReport]:
        """One look at everything the stepper owns (see the module docstring)."""
        market: list[Event] = []
        if not self.rest_pause.active(_wall()):  # streamed candles wait in their feed until a ban is over
            await self._sync_time()
            market = [*await self._poll_derivatives(), *await self._collect_candles()]
        await self._handle_storm()
        reports: list[StepReport] = []
        for event in [*market, *self._due_ticks()]:
            reports.extend(await self._step(event))
        now, wall = self.clock.now(), _wall()
        timer = self._timer or Pace(self.cadence.safety_interval_s, self.cadence.floor_wall_s)
        self._timer = timer
        if timer.due(now, wall):
            timer.done(now, wall)
            reports.extend(await self._step(TimerTick(at=now)))
        await self._watch_silence(now)
        self._beat()
        return reports

    def _intake(self) -> list[Coroutine[Any, Any, None]]:
        jobs = [self._watch_candles(feed) for feed in self.feeds]
        jobs += [self._watch_trades(feed.symbol) for feed in self.feeds]
        if self.account is not None:
            jobs += [self._watch_account(channel) for channel in self.account.channels]
        return jobs

    # ------------------------------------------------------------------ intake

    async def _watch_candles(self, feed: CandleFeed) -> None:
        backoff = Backoff()
        while True:
            try:
                view = await self.source.watch_candles(feed.symbol, feed.timeframe)
            except TemporaryError as exc:
                feed.dropped()
                await self._dropped(f"{feed.symbol} candles", exc, backoff)
                continue
            backoff.reset()
            if view.rows:
                self._heard(ms_to_datetime(int(view.rows[-1][0])))
            feed.offer(view)
            self._news.set()

    async def _watch_trades(self, symbol: Symbol) -> None:
        backoff = Backoff()
        while True:
            try:
                trade = await self.source.watch_last_trade(symbol)
            except TemporaryError as exc:
                await self._dropped(f"{symbol} trades", exc, backoff)
                continue
            backoff.reset()
            if trade is None:
                continue
            at, price = ms_to_datetime(trade.at_ms), Decimal(str(trade.price))
            self._heard(at)
            if self.on_price is not None:
                self.on_price(symbol, price, at)
            self._prices[symbol] = (price, at)
            self._news.set()
            self._guard_news.set()

    async def _watch_account(self, channel: Channel) -> None:
        assert self.account is not None
        backoff = Backoff()
        while True:
            try:
                notice = await self.account.next(channel)
            except TemporaryError as exc:
                self._account_news = True  # after the reconnect, REST shows what the stream missed
                await self._dropped(f"user-data {channel}", exc, backoff)
                continue
            except OperationalError as exc:  # refused: REST alone from now on (the guard's cadence)
                await self._account_refused(channel, exc)
                return
            backoff.reset()
            if notice.at_ms is not None:
                self.clock.observe(ms_to_datetime(notice.at_ms))
            self.stepped["account_notice"] += 1
            self._account_news = True
            self._guard_news.set()

    def _heard(self, at: datetime) -> None:
        """A market message stamped ``at`` by the exchange."""
        self.clock.observe(at)
        self._market_at = at if self._market_at is None else max(self._market_at, at)
        self._silence_handled = False

    async def _dropped(self, stream: str, exc: Exception, backoff: Backoff) -> None:
        """A stream broke: journal it, count it towards a storm, wait, and let the caller dial again."""
        now = self.clock.now()
        self.stepped["stream_drop"] += 1
        self.engine.store.append(NewEvent(kind="feed.dropped", at=now, payload={"stream": stream, "error": str(exc)}))
        if self.storm.dropped(asyncio.get_running_loop().time()):
            self._storm_detail = (
                f"reconnect storm: {self.storm.drops_in_window} stream drops within "
                f"{self.storm.window_s:g} s, last {stream}: {exc}"
            )
            self._news.set()
        await asyncio.sleep(backoff.next())

    async def _account_refused(self, channel: Channel, exc: OperationalError) -> None:
        now = self.clock.now()
        self.engine.store.append(
            NewEvent(kind="feed.refused", at=now, payload={"stream": f"user-data {channel}", "error": str(exc)})
        )
        message = f"user-data stream {channel} refused; fills are found over REST only: {exc}"
        async with self.engine.lock:
            await self.engine.safety.alert(make_alert(AlertKind.FEED_STALE, message, now, key=f"user-{channel}"))

    # ------------------------------------------------------------------ the stepper's parts

    async def _sync_time(self) -> None:
        wall = _wall()
        if self._synced_wall is not None and wall - self._synced_wall < self.cadence.time_sync_wall_s:
            return
        self._synced_wall = wall
        try:
            self.clock.observe(ms_to_datetime(await self.source.fetch_time_ms()))
        except (TemporaryError, OperationalError) as exc:
            await self._market_failed("time", exc)

    async def _market_failed(self, what: str, exc: TemporaryError | OperationalError, feed: str = "candles") -> None:
        """A market REST call failed: journal it; refused outright (a ban), pause market REST and open the breaker."""
        self._journal_error(what, str(exc), feed=feed)
        if isinstance(exc, OperationalError):
            self.rest_pause.start(_wall())
            async with self.engine.lock:
                detail = f"market data refused; no market request for {self.rest_pause.pause_s:g} s: {exc}"
                await self.engine.safety.exchange_trouble(detail, self.clock.now())

    async def _handle_storm(self) -> None:
        detail, self._storm_detail = self._storm_detail, None
        if detail is None:
            return
        log.warning("%s", detail)
        async with self.engine.lock:
            await self.engine.safety.exchange_trouble(detail, self.clock.now())

    async def _collect_candles(self) -> list[Event]:
        events: list[Event] = []
        for feed in self.feeds:
            try:
                events.extend(await feed.collect(self.clock.now()))
            except (TemporaryError, OperationalError) as exc:
                await self._market_failed(feed.symbol, exc)
        return events

    def _due_ticks(self) -> list[Event]:
        """The latest price of each symbol, once per ``tick_interval_s`` (the gate's price conditions)."""
        ticks: list[Event] = []
        wall = _wall()
        for symbol, (price, at) in sorted(self._prices.items()):
            pace = self._ticks.setdefault(symbol, Pace(self.cadence.tick_interval_s, self.cadence.floor_wall_s))
            if pace.due(at, wall):
                pace.done(at, wall)
                ticks.append(PriceTick(at=at, symbol=symbol, price=float(price)))
        return ticks

    async def _poll_derivatives(self) -> list[Event]:
        if self.derivatives is None:
            return []
        now = self.clock.now()
        try:
            outcome = await self.derivatives.poll_due(now)
        except OperationalError as exc:
            await self._market_failed("derivatives", exc, feed="derivatives")
            return []
        for symbol, error in outcome.temporary_errors.items():
            self._journal_error(symbol, error, feed="derivatives")
        return [DerivativesUpdated(at=now, reading=reading) for reading in outcome.readings]

    async def _step(self, event: Event) -> list[StepReport]:
        """Step ``event``, after the operator's pending commands if there are any."""
        reports = []
        pending = self.engine.store.pending_commands()
        if pending:
            reports.append(await self._step_one(CommandsPending(at=self.clock.now(), count=len(pending))))
        reports.append(await self._step_one(event))
        return reports

    async def _step_one(self, event: Event) -> StepReport:
        self.stepped[event.type] += 1
        return await self.engine.step(event)

    async def _watch_silence(self, now: datetime) -> None:
        """No market message for ``stream_silence_s``: tell a human and dial the market sockets again (once per
        silence; the heartbeat file, written only on market data, has been ageing since the last message)."""
        if self._market_at is None or self._silence_handled:
            return
        silent_s = (now - self._market_at).total_seconds()
        if silent_s < self.cadence.stream_silence_s:
            return
        self._silence_handled = True
        self.stepped["stream_reset"] += 1
        self.engine.store.append(NewEvent(kind="feed.silent", at=now, payload={"silent_s": round(silent_s, 1)}))
        message = f"market websocket silent for {silent_s:.0f} s (exchange time); dialling it again"
        async with self.engine.lock:
            await self.engine.safety.alert(make_alert(AlertKind.FEED_STALE, message, now, key="stream-silent"))
        for feed in self.feeds:
            feed.dropped()
        try:
            await self.source.reset()
        except TemporaryError as exc:
            self._journal_error("streams", str(exc))

    def _beat(self) -> None:
        """Rewrite the heartbeat file when market data arrived since the last beat (so silence ages it)."""
        if self.heartbeat is None or self._market_at is None or self._market_at == self._beaten_at:
            return
        self._beaten_at = self._market_at
        temporary = self.heartbeat.with_suffix(".tmp")
        temporary.write_text(self.wall.now().isoformat() + "\n", encoding="utf-8")
        temporary.replace(self.heartbeat)

    def _journal_error(self, what: str, error: str, *, feed: str = "candles") -> None:
        log.warning("%s poll for %s failed: %s", feed, what, error)
        payload = {"symbol": what, "error": error, "feed": feed}
        self.engine.store.append(NewEvent(kind="feed.error", at=self.clock.now(), payload=payload))

    # ------------------------------------------------------------------ the guardian

    async def _guardian(self, closing: asyncio.Event) -> None:
        """Safety passes on their own cadence (module docstring); stops after the pass in progress."""
        while not closing.is_set():
            await _first(self._guard_news, closing, timeout=self.cadence.idle_wall_s)
            self._guard_news.clear()
            if closing.is_set():
                return
            account_changed = self._account_news
            events = self._guard_events(self.clock.now())
            if events:
                self.stepped["guard_pass"] += 1
                await self.engine.guard(*events, account_changed=account_changed)

    def _guard_events(self, now: datetime) -> list[PriceTick | TimerTick | CommandsPending]:
        """What a guard pass takes in now, or nothing when none is due."""
        last, wall = self.engine.guarded_at, _wall()
        newest = max((at for _, at in self._prices.values()), default=None)
        portfolio = self.engine.safety.portfolio()
        exposed = bool(portfolio.positions or portfolio.pending_entries)
        fresh_price = newest is not None and (self._guarded_price_at is None or newest > self._guarded_price_at)
        since = None if self._guarded_wall is None else wall - self._guarded_wall
        fallback = since is None or since >= self.cadence.guard_fallback_wall_s  # REST when no news: wall-paced too
        interval = last is None or ((now - last).total_seconds() >= self.cadence.safety_interval_s and fallback)
        tick = exposed and fresh_price and (since is None or since >= self.cadence.guard_tick_wall_s)
        if not (self._account_news or interval) and (not tick or not self._price_may_act(now)):
            if tick:  # looked at: inside every quiet band, a pass would send its requests for nothing
                self._guarded_price_at, self.stepped["guard_quiet"] = newest, self.stepped["guard_quiet"] + 1
            return []
        self._account_news = False
        self._guarded_price_at, self._guarded_wall = newest, wall
        events: list[PriceTick | TimerTick | CommandsPending] = []
        pending = self.engine.store.pending_commands()
        if pending:
            events.append(CommandsPending(at=now, count=len(pending)))
        events.extend(PriceTick(at=at, symbol=s, price=float(p)) for s, (p, at) in sorted(self._prices.items()))
        return events or [TimerTick(at=now)]

    def _price_may_act(self, now: datetime) -> bool:
        """Whether the newest prices or the clock may make a pass act (``safety.quiet``); no request."""
        bands = self.engine.safety.quiet_bands(sorted(self._prices))
        return any(bands.get(s, EVERY_CANDLE).acts_at(p) for s, (p, _) in self._prices.items()) or (
            now >= self.engine.safety.quiet_until())
