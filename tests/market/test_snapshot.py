"""MarketSnapshot built from real 5m candles: contents, labels, prompt budget, JSON form, digest."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from core.canonical import canonical_json, sha256_hex
from core.ids import Symbol
from core.signals import Signal
from market.builder import LivePrice, Market, NoDataError, SnapshotBuilder
from market.features import FeatureConfig, indicator_frame
from market.prompt import estimate_tokens, estimate_tokens_chars4
from market.regime import RegimeSchedule, tracker_from_candles
from market.resample import resample_candles
from market.snapshot import MarketSnapshot
from tests.market.conftest import report_figure

SYMBOL = Symbol("BTC/USDT")
AT = datetime(2023, 3, 25, 14, 37, 12, tzinfo=UTC)
SCHEDULE = RegimeSchedule(
    timeframe="15m", window=timedelta(days=3), refit_every=timedelta(days=1), min_train_bars=200
)


@pytest.fixture(scope="module")
def builder() -> SnapshotBuilder:
    from tests.market.conftest import BTC_5M, cached_candles

    candles = cached_candles(BTC_5M)
    return SnapshotBuilder(SYMBOL, candles, "5m", regime=tracker_from_candles(SYMBOL, candles, "5m", SCHEDULE))


@pytest.fixture(scope="module")
def snapshot(builder: SnapshotBuilder) -> MarketSnapshot:
    return builder.build(AT)


def test_last_price_is_the_last_closed_candle(snapshot: MarketSnapshot, btc_5m: pd.DataFrame) -> None:
    last = btc_5m.loc[datetime(2023, 3, 25, 14, 30, tzinfo=UTC)]  # 14:30-14:35 closed; 14:35 is forming at 14:37
    assert snapshot.last_price.source == "closed_candle"
    assert snapshot.last_price.price == last["close"]
    assert snapshot.last_price.at == datetime(2023, 3, 25, 14, 35, tzinfo=UTC)
    assert snapshot.data_age_s == 132
    base = snapshot.timeframe("5m")
    assert base is not None and base.forming is None
    assert base.last_closed.open_at == datetime(2023, 3, 25, 14, 30, tzinfo=UTC)


def test_live_price_is_labelled_forming(builder: SnapshotBuilder) -> None:
    live = builder.build(AT, live_price=LivePrice(27_500.5, AT - timedelta(seconds=3)))
    assert live.last_price.source == "forming" and live.last_price.price == 27_500.5
    assert "still-forming 5m candle (not closed)" in live.to_prompt()
    stale = builder.build(AT, live_price=LivePrice(1.0, datetime(2023, 3, 25, 14, 0, tzinfo=UTC)))
    assert stale.last_price.source == "closed_candle"  # older than the last close: the close wins
    with pytest.raises(ValueError, match="after as_of"):
        builder.build(AT, live_price=LivePrice(1.0, AT + timedelta(seconds=1)))


def test_timeframe_summaries_read_the_right_rows(snapshot: MarketSnapshot, btc_5m: pd.DataFrame) -> None:
    assert [s.timeframe for s in snapshot.timeframes] == ["5m", "1h", "4h", "1d"]
    hourly = resample_candles(btc_5m, "5m", "1h")
    features = indicator_frame(hourly[["open", "high", "low", "close", "volume"]], FeatureConfig())
    h1 = snapshot.timeframe("1h")
    assert h1 is not None
    assert h1.last_closed.open_at == datetime(2023, 3, 25, 13, tzinfo=UTC)  # 13:00-14:00 is the last closed hour
    row = hourly.loc[h1.last_closed.open_at]
    assert (h1.last_closed.open, h1.last_closed.close) == (row["open"], row["close"])
    assert h1.indicators.rsi == pytest.approx(features.loc[h1.last_closed.open_at, "rsi"], rel=1e-7)
    assert h1.zscores.volume_z == pytest.approx(features.loc[h1.last_closed.open_at, "volume_z"], rel=1e-7)
    assert h1.forming is not None
    assert h1.forming.open_at == datetime(2023, 3, 25, 14, tzinfo=UTC)
    assert h1.forming.last == snapshot.last_price.price
    assert h1.forming.elapsed_pct == pytest.approx(100 * 37.2 / 60, abs=0.05)
    d1 = snapshot.timeframe("1d")
    assert d1 is not None and d1.last_closed.open_at == datetime(2023, 3, 24, tzinfo=UTC)


def test_regime_is_included(snapshot: MarketSnapshot) -> None:
    assert snapshot.regime is not None
    assert snapshot.regime.label in ("low_vol", "high_vol")
    assert snapshot.regime.bar_closed_at == datetime(2023, 3, 25, 14, 30, tzinfo=UTC)


def test_outage_and_staleness_are_warned(builder: SnapshotBuilder) -> None:
    during = builder.build(datetime(2023, 3, 24, 13, 30, tzinfo=UTC))
    assert any("stale data" in w for w in during.warnings)
    assert during.last_price.at == datetime(2023, 3, 24, 12, 40, tzinfo=UTC)
    after = builder.build(datetime(2023, 3, 24, 14, 1, tzinfo=UTC))
    assert any("1h last bar has 8/12 base candles" in w for w in after.warnings)
    beyond = builder.build(datetime(2023, 4, 2, tzinfo=UTC))
    assert beyond.data_age_s > 4 * 86400 and any("stale" in w for w in beyond.warnings)


def test_before_the_first_close_there_is_no_snapshot(builder: SnapshotBuilder) -> None:
    with pytest.raises(NoDataError):
        builder.build(datetime(2023, 3, 18, 0, 4, 59, tzinfo=UTC))
    first = builder.build(datetime(2023, 3, 18, 0, 5, tzinfo=UTC))
    assert [s.timeframe for s in first.timeframes] == ["5m"]
    assert any("no closed candle yet for 1h,4h,1d" in w for w in first.warnings)


def test_json_form_round_trips_and_digest_is_canonical(snapshot: MarketSnapshot) -> None:
    data = snapshot.model_dump(mode="json")
    text = json.dumps(data)
    assert "NaN" not in text
    again = MarketSnapshot.model_validate(json.loads(text))
    assert again == snapshot
    assert again.digest() == snapshot.digest() == sha256_hex(canonical_json(data))


def test_snapshot_is_frozen(snapshot: MarketSnapshot) -> None:
    with pytest.raises(ValidationError):
        snapshot.symbol = Symbol("ETH/USDT")  # type: ignore[misc]


def test_a_snapshot_is_market_data_only_with_path_swings_and_every_signal(snapshot: MarketSnapshot) -> None:
    assert not {"position", "portfolio", "learner_weights", "recent_decisions", "memory"} & set(MarketSnapshot.model_fields)
    assert set(snapshot.signals) == set(Signal), "every signal of the closed enum, with its value"
    assert snapshot.signals[Signal.FUNDING] is None, "spot candles: no derivatives, no funding value"
    assert snapshot.signals[Signal.VOLATILITY_SQUEEZE] is None, "a week of 5m data: no 100-day volatility rank yet"
    hourly = snapshot.timeframe("1h")
    assert hourly is not None and len(hourly.recent_closes) == 12 and hourly.recent_closes[-1] == hourly.last_closed.close
    assert hourly.swing_highs and hourly.swing_lows
    for point in (*hourly.swing_highs, *hourly.swing_lows):
        assert point.at + timedelta(hours=3) <= snapshot.as_of, "a pivot needs two closed bars after it"
    text = snapshot.to_prompt()
    assert "position:" not in text and "portfolio:" not in text, "the account is rendered by the agent package"
    assert "price path (last closes, oldest first):" in text and "\n1h: " in text
    assert "swings (pivot highs/lows" in text and "volatility_squeeze" in text and "funding -" in text


def test_the_squeeze_has_a_strength_once_the_volatility_rank_exists() -> None:
    from tools.snapshots import market_snapshot

    values = [market_snapshot("binance_BTC-USDT_1h.csv.gz", datetime(2025, m, 1, 12, tzinfo=UTC)).signals
              for m in range(1, 13)]
    squeezes = [v[Signal.VOLATILITY_SQUEEZE] for v in values]
    assert all(q is not None and 0 <= q <= 1 for q in squeezes), squeezes


def test_swings_are_pivots_of_closed_bars(builder: SnapshotBuilder, btc_5m: pd.DataFrame) -> None:
    snap = builder.build(AT)
    four = snap.timeframe("4h")
    assert four is not None
    bars = resample_candles(btc_5m.loc[: AT - timedelta(hours=4)], "5m", "4h")
    for point in four.swing_highs:
        i = bars.index.get_loc(point.at)
        window = bars["high"].iloc[i - 2 : i + 3]
        assert point.price == window.max() and (window == point.price).sum() == 1


def test_prompt_is_stable_and_within_budget(snapshot: MarketSnapshot) -> None:
    text = snapshot.to_prompt()
    assert text == snapshot.to_prompt()
    assert "forming (NOT closed, will change)" in text
    report_figure(
        f"snapshot prompt (5m/1h/4h/1d + regime, empty context): {len(text)} chars, "
        f"~{estimate_tokens(text)} tokens by chars/3 (budget estimator), ~{estimate_tokens_chars4(text)} by chars/4"
    )
    assert estimate_tokens(text) <= 1500


def test_a_tight_budget_drops_swings_then_path(snapshot: MarketSnapshot) -> None:
    full = snapshot.to_prompt()
    tight = snapshot.to_prompt(max_tokens=estimate_tokens(full) - 50)
    assert "swings (" in full and "swings (" not in tight and "signals (" in tight
    assert estimate_tokens(tight) <= estimate_tokens(full) - 50


def test_derivatives_appear_with_their_own_time() -> None:
    from market.derivatives import DerivativesHistory, DerivativesReading
    from tests.market.conftest import BTC_5M, cached_candles

    perp = Symbol("BTC/USDT:USDT")
    history = DerivativesHistory(perp, [
        DerivativesReading(symbol=perp, at=AT - timedelta(minutes=9), funding_rate=0.0001, open_interest=80_000.0),
        DerivativesReading(symbol=perp, at=AT - timedelta(minutes=4), funding_rate=0.00012, open_interest=81_000.0,
                           long_short_ratio=1.8734, next_funding_at=datetime(2023, 3, 25, 16, tzinfo=UTC)),
        DerivativesReading(symbol=perp, at=AT + timedelta(minutes=1), funding_rate=0.0009),  # future: unseen
    ])
    snap = SnapshotBuilder(SYMBOL, cached_candles(BTC_5M), "5m", derivatives=history).build(AT)
    assert snap.derivatives is not None and snap.derivatives.funding_rate == 0.00012
    assert snap.derivatives.open_interest_change_pct == pytest.approx(1.25)
    line = next(x for x in snap.to_prompt().splitlines() if x.startswith("derivatives"))
    assert line == (
        "derivatives BTC/USDT:USDT at 03-25 14:33Z: funding +0.0120% next 03-25 16:00Z, "
        "open interest 81000 (+1.25%), long/short accounts 1.87"
    )


def test_market_routes_by_symbol(builder: SnapshotBuilder) -> None:
    market = Market({SYMBOL: builder})
    assert market.snapshot(SYMBOL, AT) == builder.build(AT)
    with pytest.raises(Exception, match="no market data for ETH/USDT"):
        market.snapshot(Symbol("ETH/USDT"), AT)


def test_build_time_per_call_is_reported(builder: SnapshotBuilder, btc_5m: pd.DataFrame) -> None:
    times = btc_5m.index[300:].to_pydatetime()
    picks = [times[i] + timedelta(seconds=17) for i in np.linspace(0, len(times) - 1, 200).astype(int)]
    builder.build(picks[0])
    started = time.perf_counter()
    for at in picks:
        builder.build(at)
    per_call_ms = (time.perf_counter() - started) * 1000 / len(picks)
    report_figure(f"SnapshotBuilder.build on {len(btc_5m)} 5m candles: {per_call_ms:.2f} ms per call (200 calls)")


def test_the_document_is_the_snapshots_json_whatever_the_order_of_the_moments_asked(btc_5m: pd.DataFrame) -> None:
    """``build_document`` dumps once and the builder keeps swing points and path closes between snapshots: walked
    forward (as a backtest asks), the document is the snapshot's own ``model_dump`` (same keys, same order, same
    digest), and the same moments asked in a shuffled order by a second builder give the same documents."""
    def fresh() -> SnapshotBuilder:
        tracker = tracker_from_candles(SYMBOL, btc_5m, "5m", SCHEDULE)
        return SnapshotBuilder(SYMBOL, btc_5m, "5m", regime=tracker)

    first = pd.Timestamp(btc_5m.index[1000]).to_pydatetime()
    moments = [first + timedelta(minutes=5 * k, seconds=37 * (k % 3)) for k in range(0, 600, 3)]
    walked, shuffled = fresh(), fresh()
    documents = {}
    for at in moments:
        snap, document = walked.build_document(at)
        dumped = snap.model_dump(mode="json")
        assert document == dumped and list(document) == list(dumped)
        assert sha256_hex(canonical_json(document)) == snap.digest()
        documents[at] = document
    order = np.random.default_rng(7).permutation(len(moments))
    for k in order:
        at = moments[int(k)]
        assert shuffled.build(at).model_dump(mode="json") == documents[at], at
    assert any(document["regime"] is not None for document in documents.values())
