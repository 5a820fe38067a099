"""2-state HMM regime: accuracy on a series with known states, real BTC data, filtering without look-ahead."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from market.bundled import BTC_1H, bundled_path
from market.candles import frame_from_arrays, load_candles
from market.hmm import HIGH_VOL, LOW_VOL, RegimeModel
from market.regime import RegimeSchedule, RegimeTracker, regime_features, tracker_from_candles
from tests.conftest import LONG_TESTS
from tests.market.conftest import report_figure

Synthetic = tuple[np.ndarray, np.ndarray, RegimeModel, float]


def two_regime_series(n: int = 6000, seed: int = 11) -> tuple[pd.Series, np.ndarray]:
    """Log returns N(0, 0.3 %) in state 0 and N(0, 1.2 %) in state 1; the state persists with p=0.995."""
    rng = np.random.default_rng(seed)
    switches = rng.random(n) > 0.995
    states = np.cumsum(switches) % 2
    returns = rng.normal(0.0, np.where(states == 1, 0.012, 0.003))
    return pd.Series(100.0 * np.exp(np.cumsum(returns))), states


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    close, states = two_regime_series()
    features = regime_features(close, rv_window=24)
    usable = np.isfinite(features).all(axis=1)
    RegimeModel.fit(features[usable][:500], seed=7)  # warm the imports so the timing below is the fit
    started = time.perf_counter()
    model = RegimeModel.fit(features[usable][:3000], seed=7)
    return features, states, model, time.perf_counter() - started


def test_synthetic_regimes_are_recovered_by_the_filter(synthetic: Synthetic) -> None:
    features, states, model, fit_s = synthetic
    probs = model.filtered_probabilities(features)
    usable = np.isfinite(features).all(axis=1)
    predicted = (probs[:, 1] > 0.5).astype(int)  # column 1 is high_vol by construction
    accuracy = float((predicted[usable] == states[usable]).mean())
    out_of_sample = float((predicted[usable][3000:] == states[usable][3000:]).mean())
    report_figure(
        f"HMM synthetic two-regime series: filtered accuracy {accuracy:.3f} (out of sample {out_of_sample:.3f}) "
        f"over {int(usable.sum())} bars, {int(np.abs(np.diff(states)).sum())} regime switches; "
        f"fit on 3,000 bars {fit_s * 1000:.0f} ms ({model.params.iterations} EM iterations)"
    )
    assert accuracy > 0.9
    assert out_of_sample > 0.9
    low, high = model.vol_means
    assert low < high
    assert np.exp(low) == pytest.approx(0.003, rel=0.35) and np.exp(high) == pytest.approx(0.012, rel=0.35)


def test_filtered_probabilities_never_change_when_data_is_appended(
    synthetic: Synthetic,
) -> None:
    features, _, model, _ = synthetic
    full = model.filtered_probabilities(features)
    for n in (25, 700, 3001, 4500):
        np.testing.assert_array_equal(model.filtered_probabilities(features[:n]), full[:n])
    np.testing.assert_allclose(full.sum(axis=1), 1.0, rtol=1e-12)


def test_forward_filter_matches_hmmlearn_at_the_last_row(synthetic: Synthetic) -> None:
    """At the final observation the smoothed posterior equals the filtered one: an independent check
    of our recursion against hmmlearn's forward-backward (used here only, never in live paths)."""
    from hmmlearn.hmm import GaussianHMM

    features, _, model, _ = synthetic
    p = model.params
    hmm = GaussianHMM(n_components=2, covariance_type="diag")
    hmm.startprob_ = model.stationary()
    hmm.transmat_ = np.asarray(p.transmat)
    hmm.means_ = np.asarray(p.means)
    hmm.covars_ = np.asarray(p.variances)
    rows = features[np.isfinite(features).all(axis=1)]
    z = (rows - np.asarray(p.feature_mean)) / np.asarray(p.feature_std)
    for n in (50, 400, 2500):
        ours = model.filtered_probabilities(rows[:n])[-1]
        theirs = hmm.predict_proba(z[:n])[-1]
        np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_fits_are_seeded_and_persist_exactly(synthetic: Synthetic) -> None:
    features, _, model, _ = synthetic
    rows = features[np.isfinite(features).all(axis=1)][:3000]
    assert RegimeModel.fit(rows, seed=7).to_dict() == model.to_dict()
    stored = json.loads(json.dumps(model.to_dict()))
    again = RegimeModel.from_dict(stored)
    np.testing.assert_array_equal(again.filtered_probabilities(features), model.filtered_probabilities(features))


def test_labels_do_not_depend_on_the_seed(synthetic: Synthetic) -> None:
    features, _, model, _ = synthetic
    rows = features[np.isfinite(features).all(axis=1)]
    base = model.filtered_probabilities(rows)[:, 1] > 0.5
    for seed in (1, 2, 3):
        other = RegimeModel.fit(rows[:3000], seed=seed)
        assert other.vol_means[0] < other.vol_means[1]
        agree = float(((other.filtered_probabilities(rows)[:, 1] > 0.5) == base).mean())
        assert agree > 0.97


# ---------------------------------------------------------------- real BTC data


@pytest.fixture(scope="module")
def btc_hourly() -> pd.DataFrame:
    return load_candles(bundled_path(BTC_1H))


def test_real_btc_regime_is_high_vol_in_the_october_2025_crash(btc_hourly: pd.DataFrame) -> None:
    tracker = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    started = time.perf_counter()
    crash = tracker.at(datetime(2025, 10, 10, 22, 0, tzinfo=UTC))
    fit_ms = (time.perf_counter() - started) * 1000
    quiet = tracker.at(datetime(2025, 7, 20, 12, 0, tzinfo=UTC))
    assert crash is not None and quiet is not None
    report_figure(
        f"HMM real BTC/USDT 1h, 90-day window ({crash.train_bars} bars): fit + filter {fit_ms:.0f} ms; "
        f"2025-10-10 22:00 {crash.label} p_high={crash.probabilities[HIGH_VOL]:.3f}; "
        f"2025-07-20 12:00 {quiet.label} p_low={quiet.probabilities[LOW_VOL]:.3f}"
    )
    assert crash.label == HIGH_VOL and crash.probabilities[HIGH_VOL] > 0.9
    assert quiet.label == LOW_VOL and quiet.probabilities[LOW_VOL] > 0.9
    assert crash.fitted_at == datetime(2025, 10, 9, tzinfo=UTC)  # weekly, epoch-aligned refits
    assert crash.bar_closed_at == datetime(2025, 10, 10, 22, 0, tzinfo=UTC)
    assert sum(crash.probabilities.values()) == pytest.approx(1.0)


def test_labels_stay_ordered_by_volatility_across_refits(btc_hourly: pd.DataFrame) -> None:
    tracker = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    for day in ("2023-06-01", "2024-03-14", "2025-01-09"):
        model = tracker.model_at(tracker.schedule.refit_time(datetime.fromisoformat(day).replace(tzinfo=UTC)))
        assert model is not None
        low, high = model.vol_means
        assert low < high


def test_tracker_answer_does_not_depend_on_later_candles(btc_hourly: pd.DataFrame) -> None:
    full = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    for at in (datetime(2024, 8, 5, 7, 30, tzinfo=UTC), datetime(2025, 3, 6, 23, 59, tzinfo=UTC)):
        cut = btc_hourly[btc_hourly.index + timedelta(hours=1) <= at]
        assert RegimeTracker("BTC/USDT", cut).at(at) == full.at(at)  # type: ignore[arg-type]


def test_every_moment_of_a_reference_bar_reads_what_a_fresh_lookup_reads(btc_hourly: pd.DataFrame) -> None:
    """The tracker answers a moment inside the same reference bar and refit period from its last reading (a 5m
    run asks 12 times an hour); across bar and refit boundaries, and for every moment, the answer is what a lookup
    without that memory gives."""
    tracker = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    start = tracker.schedule.refit_time(datetime(2024, 8, 5, tzinfo=UTC)) - timedelta(hours=3)
    readings = []
    for k in range(12 * 24 * 9):  # nine days of 5m moments: a refit boundary inside
        at = start + timedelta(minutes=5 * k)
        remembered = tracker.at(at)
        tracker._by_row = tracker._last = None
        assert tracker.at(at) == remembered, at
        readings.append(remembered)
    assert len({(r.bar_closed_at, r.fitted_at) for r in readings if r is not None}) > 24 * 8


def test_too_little_history_means_no_regime(btc_hourly: pd.DataFrame) -> None:
    tracker = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    assert tracker.at(datetime(2023, 1, 10, tzinfo=UTC)) is None  # data starts 2023-01-01: < 500 bars
    assert tracker.at(datetime(2022, 1, 1, tzinfo=UTC)) is None


def test_imported_models_are_used_instead_of_refitting(btc_hourly: pd.DataFrame) -> None:
    at = datetime(2024, 11, 6, 3, 0, tzinfo=UTC)
    source = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    reading = source.at(at)
    exported = json.loads(json.dumps(source.export_models()))
    # A restarted engine that only has the last two days of candles cannot fit, but reuses the stored fit.
    short = btc_hourly[(btc_hourly.index > at - timedelta(days=40)) & (btc_hourly.index < at)]
    restarted = RegimeTracker("BTC/USDT", short)  # type: ignore[arg-type]
    restarted.import_models(exported)
    again = restarted.at(at)
    assert again is not None and reading is not None
    assert again.fitted_at == reading.fitted_at and again.label == reading.label


def test_tracker_from_finer_candles_resamples() -> None:
    close, _ = two_regime_series(n=3000)
    times = np.arange(len(close), dtype="int64") * 300_000 + 1_700_000_100_000 // 300_000 * 300_000
    c = close.to_numpy()
    frame = frame_from_arrays(times, np.column_stack([c, c * 1.001, c * 0.999, c, np.ones_like(c)]))
    schedule = RegimeSchedule(
        timeframe="15m", window=timedelta(days=8), refit_every=timedelta(days=1), min_train_bars=200
    )
    tracker = tracker_from_candles("X/USDT", frame, "5m", schedule)  # type: ignore[arg-type]
    reading = tracker.at(frame.index[-1].to_pydatetime())
    assert reading is not None and reading.timeframe == "15m"


@pytest.mark.skipif(not LONG_TESTS, reason="walks 8 years of weekly refits; set TRADEWAKE_LONG_TESTS=1")
def test_long_weekly_refits_over_the_full_btc_history() -> None:
    from tests.market.conftest import SHARED_1H

    frame = load_candles(SHARED_1H)
    tracker = RegimeTracker("BTC/USDT", frame)  # type: ignore[arg-type]
    started = time.perf_counter()
    at = datetime(2018, 1, 1, tzinfo=UTC)
    labels = []
    while at < datetime(2025, 10, 1, tzinfo=UTC):
        reading = tracker.at(at)
        assert reading is not None
        labels.append(reading.label)
        at += timedelta(days=7)
    elapsed = time.perf_counter() - started
    share = labels.count(HIGH_VOL) / len(labels)
    report_figure(f"HMM long: {len(labels)} weekly refits in {elapsed:.1f} s, high_vol share {share:.2f}")


def test_has_reading_tells_a_reading_from_none_without_fitting(btc_hourly: pd.DataFrame) -> None:
    """``has_reading`` (a backtest's on-demand regime drops the older deferred readings when the newest has a
    label) is ``at(...) is not None`` at every moment, from before the first possible fit on, and fits nothing."""
    tracker = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    moments = [datetime(2022, 12, 31, tzinfo=UTC) + timedelta(hours=7 * k) for k in range(0, 300)]
    told = [tracker.has_reading(at) for at in moments]
    assert tracker._models == {}, "has_reading fitted a model"
    assert told == [tracker.at(at) is not None for at in moments]
    assert False in told and True in told
    at = datetime(2024, 11, 6, 3, 0, tzinfo=UTC)
    source = RegimeTracker("BTC/USDT", btc_hourly)  # type: ignore[arg-type]
    source.at(at)
    short = btc_hourly[(btc_hourly.index > at - timedelta(days=4)) & (btc_hourly.index < at)]
    restarted = RegimeTracker("BTC/USDT", short)  # type: ignore[arg-type]
    assert not restarted.has_reading(at)  # four days: no fit of its own
    restarted.import_models(json.loads(json.dumps(source.export_models())))
    assert restarted.has_reading(at) and restarted.at(at) is not None  # the stored fit
