"""``VenueMarket``: the venue's state and the one way it moves: replay steps and orders.

It owns the replay, the simulated exchange (on a ``SimClock`` that follows the replay: the venue's
now is the time of the last step played), the Binance book over it and the ledger. Everything
observable leaves through a ``Publisher`` (the websocket hub): public klines and trades at each
step, user-data events after every change; every change is also recorded in the ledger.

Market orders fill at once at the last replayed price (the simulated exchange runs in
``NEXT_PRICE`` mode and the venue feeds it that price right after the order), unless a
``delay_fill`` fault holds them until the next step. USDⓈ-M funding settles at 00:00, 08:00 and
16:00 (venue time) at a constant rate (default 0.01 %: Binance's rate when the premium is zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from core.clock import SimClock
from core.ids import Symbol
from core.money import MarketRules
from core.ports import Clock
from core.timeframes import datetime_to_ms, ms_to_datetime
from exchange.sim import FixedBpsSlippage, MarketFill, SimConfig, SimExchange
from exchange.symbols import exchange_id
from venue import stream_shapes as ws
from venue.book import Activity, FundingEvent, OrderEvent, VenueBook
from venue.errors import BinanceError, MarketKind
from venue.klines import interval_ms, klines
from venue.ledger import Ledger
from venue.orders import OrderRequest, OrderView
from venue.replay import END_PHASE, Replay, Series, Step

FUNDING_INTERVAL_MS = 8 * 3_600_000
Json = dict[str, Any]


class Publisher(Protocol):
    def streams(self) -> set[str]: ...

    def market(self, stream: str, payload: Json) -> None: ...

    def user(self, payload: Json) -> None: ...


@dataclass(frozen=True)
class MarketSettings:
    market: MarketKind
    timeframe_ms: int
    balances: Mapping[str, Decimal]
    leverage: int = 1
    slippage_bps: Decimal = Decimal(0)
    funding_rate: Decimal = Decimal("0.0001")
    start_ms: int | None = None
    warmup: int = 2000


class VenueMarket:
    def __init__(
        self,
        series: Sequence[Series],
        rules: Sequence[MarketRules],
        settings: MarketSettings,
        *,
        wall: Clock,
        publisher: Publisher,
        ledger: Ledger,
    ) -> None:
        self.settings = settings
        self.market = settings.market
        self.replay = Replay(series, settings.timeframe_ms, start_ms=settings.start_ms, warmup=settings.warmup)
        self.started_ms = self.replay.now_ms
        self.clock = SimClock(ms_to_datetime(self.replay.now_ms))
        config = SimConfig(
            market_type=settings.market,
            initial_balances=dict(settings.balances),
            market_fill=MarketFill.NEXT_PRICE,
            slippage=FixedBpsSlippage(settings.slippage_bps),
            default_leverage=settings.leverage,
        )
        self.sim = SimExchange(rules, self.clock, config)
        self.book = VenueBook(self.sim, settings.market)
        self.wall = wall
        self.publisher = publisher
        self.ledger = ledger
        for symbol in self.replay.symbols:
            self.sim.on_price(self.replay.last_price(symbol), self.clock.now(), symbol=symbol)
        self.step()

    # ------------------------------------------------------------------ time

    @property
    def now_ms(self) -> int:
        return self.replay.now_ms

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def wall_ms(self) -> int:
        return datetime_to_ms(self.wall.now())

    # ------------------------------------------------------------------ replay

    def step(self) -> bool:
        """Play the next replay step of every symbol due; False when the data is played out."""
        before = self.replay.now_ms
        steps = self.replay.advance()
        if not steps:
            return False
        self.clock.advance_to(ms_to_datetime(self.replay.now_ms))
        streams = self.publisher.streams()
        for step in steps:
            self._play(step, streams)
        self._settle_funding(before, self.replay.now_ms)
        self.flush()
        return True

    def _play(self, step: Step, streams: set[str]) -> None:
        series = self.replay.series(step.symbol)
        market_id = exchange_id(step.symbol)
        prefix = market_id.lower()
        intervals = [s.removeprefix(f"{prefix}@kline_") for s in streams if s.startswith(f"{prefix}@kline_")]
        if step.closed_index is not None:
            self._publish_closed(series, step, intervals)
        if step.bar is not None:
            self.sim.on_bar(step.symbol, step.bar, self.clock.now())
        if step.trade is not None:
            ident = ws.trade_id(step.index, step.phase)
            futures = self.market == "future"
            self.publisher.market(f"{prefix}@trade", ws.trade_event(market_id, step.trade, ident, step.at_ms,
                                                                     futures=futures))
            self.publisher.market(f"{prefix}@aggTrade", ws.agg_trade_event(market_id, step.trade, ident,
                                                                            step.at_ms, futures=futures))
        if step.phase != END_PHASE:
            for interval in intervals:
                self._publish_kline(series, interval, step.at_ms, closed=False)

    def _publish_closed(self, series: Series, step: Step, intervals: list[str]) -> None:
        assert step.closed_index is not None
        closed_open = int(series.open_ms[step.closed_index])
        for interval in intervals:
            length = interval_ms(interval, self.replay.timeframe_ms)
            if length is None:
                continue
            bucket = closed_open - closed_open % length
            next_open = None if step.phase == END_PHASE else int(series.open_ms[step.index])
            if next_open is None or next_open - next_open % length != bucket:
                self._publish_kline(series, interval, step.at_ms, closed=True, start_ms=bucket)

    def _publish_kline(
        self, series: Series, interval: str, at_ms: int, *, closed: bool, start_ms: int | None = None
    ) -> None:
        length = interval_ms(interval, self.replay.timeframe_ms)
        if length is None:
            return
        rows = klines(self.replay, series, length, start_ms=start_ms, end_ms=None, limit=1)
        if not rows or rows[0].closed != closed:
            return
        first = int(series.open_ms.searchsorted(rows[0].open_ms))
        payload = ws.kline_event(exchange_id(series.symbol), interval, rows[0], decimals=series.price_decimals,
                                 event_ms=at_ms, first_index=first)
        self.publisher.market(f"{exchange_id(series.symbol).lower()}@kline_{interval}", payload)

    def _settle_funding(self, before_ms: int, now_ms: int) -> None:
        if self.market != "future" or self.settings.funding_rate == 0:
            return
        if now_ms // FUNDING_INTERVAL_MS == before_ms // FUNDING_INTERVAL_MS:
            return
        for symbol in self.replay.symbols:
            self.sim.apply_funding(self.settings.funding_rate, self.clock.now(), symbol=symbol)

    # ------------------------------------------------------------------ orders

    def place(self, request: OrderRequest, *, delay_fill: bool = False) -> OrderView:
        """Accept an order (or raise its ``BinanceError``); a non-conditional order meets the last price now."""
        view = self.book.place(request)
        intent = request.intent
        if not intent.type.is_conditional and not delay_fill:
            last = self.sim.last_price(intent.symbol)
            if last is not None:
                self.sim.on_price(last, self.clock.now(), symbol=intent.symbol)
            view = self.book.view(self.sim.order_by_id(view.sim_id))
        self.flush()
        return view

    def cancel(self, params: Mapping[str, str], *, algo: bool) -> OrderView:
        view = self.book.cancel(params, algo=algo)
        self.flush()
        return view

    def set_leverage(self, symbol: Symbol, leverage: int) -> None:
        self.sim.set_leverage(symbol, leverage)
        self.ledger.record("leverage", at_ms=self.now_ms, wall_ms=self.wall_ms(), symbol=symbol, leverage=leverage)
        self.publisher.user(ws.account_config_update(exchange_id(symbol), leverage, self.now_ms))

    def rejected(self, params: Mapping[str, str], error: BinanceError, *, algo: bool) -> None:
        cid = params.get("clientAlgoId" if algo else "newClientOrderId")
        self.ledger.record(
            "rejected", at_ms=self.now_ms, wall_ms=self.wall_ms(), client_order_id=cid, symbol=params.get("symbol"),
            side=params.get("side"), type=params.get("type"), code=error.code, msg=error.msg,
        )

    def fault(self, kind: str, target: str, **detail: Any) -> None:
        self.ledger.record("fault", at_ms=self.now_ms, wall_ms=self.wall_ms(), fault=kind, target=target, **detail)

    # ------------------------------------------------------------------ activity out

    def flush(self) -> None:
        """Publish and record everything that happened on the simulated exchange since the last flush."""
        activity = self.book.drain()
        if not activity:
            return
        event_ms = self.now_ms
        touched: set[Symbol] = set()
        reason = "ORDER"
        for item in activity:
            self._record(item)
            if isinstance(item, FundingEvent):
                touched.add(item.symbol)
                reason = "FUNDING_FEE"
                continue
            if self.market == "spot" or item.fill is not None:
                touched.add(item.view.intent.symbol)
            if self.market == "spot":  # spot streams no event of its own for a stop's trigger (the ledger has it)
                payloads = [] if item.execution == "TRIGGERED" else [ws.execution_report(item, event_ms)]
            else:
                payloads = ws.futures_events(item, event_ms)
            for payload in payloads:
                self.publisher.user(payload)
        if touched:  # spot: every change of locked funds; USDⓈ-M: fills and funding only, as on Binance
            self.publisher.user(self._account_update(touched, reason))

    def _account_update(self, symbols: set[Symbol], reason: str) -> Json:
        if self.market == "spot":
            assets = sorted({a for s in symbols for a in (self.sim.markets()[s].base, self.sim.markets()[s].quote)})
            return ws.outbound_account_position(self.sim.balances(), assets, self.now_ms)
        held = {p.symbol: p for p in self.sim.positions()}
        rows = [(exchange_id(s), held.get(s)) for s in sorted(symbols)]
        return ws.account_update(reason, self.sim.config.quote_asset, self.sim.wallet(), rows, at_ms=self.now_ms,
                                 event_ms=self.now_ms)

    def _record(self, item: Activity) -> None:
        wall = self.wall_ms()
        if isinstance(item, FundingEvent):
            self.ledger.record("funding", at_ms=datetime_to_ms(item.at), wall_ms=wall, symbol=item.symbol,
                               rate=str(item.rate), payment=str(item.payment))
            return
        self.ledger.record(_LEDGER_KIND[item.execution], at_ms=datetime_to_ms(item.at), wall_ms=wall,
                           **_order_fields(item))


_LEDGER_KIND = {"NEW": "order", "TRIGGERED": "triggered", "TRADE": "fill", "CANCELED": "canceled",
                "EXPIRED": "expired"}


def _order_fields(event: OrderEvent) -> dict[str, Any]:
    view = event.view
    intent = view.intent
    fields: dict[str, Any] = {
        "client_order_id": intent.client_order_id,
        "order_id": view.algo_id if view.is_algo else view.order_id,
        "algo": view.is_algo,
        "symbol": intent.symbol,
        "side": intent.side.upper(),
        "type": view.binance_type,
        "quantity": str(intent.quantity),
        "status": view.algo_status if view.is_algo else view.binance_status,
        "filled": str(view.filled),
    }
    if event.execution == "NEW":
        fields.update(price=_text(intent.price), stop_price=_text(intent.stop_price), reduce_only=intent.reduce_only,
                      post_only=intent.post_only)
    if view.is_algo and view.triggered:
        fields["child_order_id"] = view.child_id
    if event.fill is not None:
        fill = event.fill
        fields.update(trade_id=int(fill.trade_id), price=str(fill.price), fill_quantity=str(fill.quantity),
                      fee=str(fill.fee), fee_asset=fill.fee_asset, liquidity=fill.liquidity.value,
                      realized_pnl=str(event.realized_pnl))
    return fields


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
