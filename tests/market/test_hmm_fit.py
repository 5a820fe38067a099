"""The replayed Baum-Welch (``market.hmm_fit.fit_hmm``) gives hmmlearn's fitted values bit for bit.

Every comparison is of the exact bits (``float.hex`` of every float, ``tobytes`` of every array; ``==`` alone would
let ``-0.0`` pass for ``0.0``), against ``fit_hmm_reference`` (hmmlearn's ``GaussianHMM`` fit and score as the regime
model always ran them): every refit window the regime tracker fits on real 1h and 5m slices (all of them on the
full series with ``TRADEWAKE_LONG_TESTS=1``), hypothesis-drawn matrices (tiny, constant columns, ties, extreme
scales, few iterations), and each condition under which the replay hands the fit to hmmlearn.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM
from hmmlearn.utils import log_normalize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from market import hmm_fit, hmm_ops
from market.candles import load_candles
from market.hmm import TOL, RegimeModel, _initial_means
from market.hmm_fit import HmmFit, fit_hmm, fit_hmm_reference, replay_supported
from market.hmm_ops import NotReplayable
from tests.conftest import LONG_TESTS
from tests.market.conftest import SHARED_1H, SHARED_DATA, report_figure
from tests.market.hmm_windows import RefitWindow, series_windows

SHARED_5M = SHARED_DATA / "binance_BTC-USDT_5m.csv.gz"


def _bits(value: Any) -> Any:
    """Every float as its exact bits, recursively (dicts, tuples, lists, arrays)."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, dict):
        return {k: _bits(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return tuple(_bits(v) for v in value)
    return value


def _fit_bits(fit: HmmFit) -> tuple[Any, ...]:
    arrays_and_score = _bits((fit.startprob, fit.transmat, fit.means, fit.variances, fit.log_likelihood))
    return (*arrays_and_score, fit.converged, fit.iterations)


def _standardised(x: np.ndarray) -> np.ndarray:
    center, scale = x.mean(axis=0), x.std(axis=0)
    return (x - center) / np.where(scale > 0, scale, 1.0)


def _outcome(fitter: hmm_fit.Fitter, z: np.ndarray, means: np.ndarray, n_iter: int) -> tuple[Any, ...]:
    """The bits of a fit, or the error it raised (type and message)."""
    try:
        return _fit_bits(fitter(z, means, seed=7, n_iter=n_iter, tol=TOL))
    except ValueError as exc:
        return ("raised", type(exc).__name__, str(exc))


def test_the_replay_runs_on_the_installed_versions() -> None:
    """The equality below is proven for these hmmlearn and scipy versions; on others ``fit_hmm`` is hmmlearn
    itself, and this test says so loudly (re-read their source, rerun the long test, extend the checked lists)."""
    assert replay_supported(), "hmmlearn/scipy are not the versions the replay was checked on: fits run hmmlearn"


# ------------------------------------------------------------ real refit windows


def _assert_windows_equal(windows: list[RefitWindow], tracker_models: dict[datetime, RegimeModel]) -> int:
    """Each window: the tracker's own fit, ``RegimeModel.fit`` (the replay) and the hmmlearn reference agree bit
    for bit, and the replay ran. Returns how many windows ended with a start probability of exactly 0 (a ``-inf``
    in the lattices, which the replay must carry like hmmlearn)."""
    zero_start = 0
    for window in windows:
        ours = RegimeModel.fit(window.rows, fitted_at=window.refit_at)
        theirs = RegimeModel.fit(window.rows, fitted_at=window.refit_at, fitter=fit_hmm_reference)
        assert _bits(ours.to_dict()) == _bits(theirs.to_dict()), f"window at {window.refit_at}"
        assert _bits(tracker_models[window.refit_at].to_dict()) == _bits(ours.to_dict()), "not the tracker's rows"
        z = _standardised(window.rows)
        fit = fit_hmm(z, _initial_means(z), seed=7, n_iter=100, tol=TOL)
        assert fit.fallback is None, f"window at {window.refit_at}: hmmlearn ran ({fit.fallback})"
        zero_start += bool((fit.startprob == 0).any())
    return zero_start


def _tracker_models(candles: pd.DataFrame, timeframe: str) -> tuple[list[RefitWindow], dict[datetime, RegimeModel]]:
    tracker, windows = series_windows(candles, timeframe)
    models = {w.refit_at: tracker.model_at(w.refit_at) for w in windows}
    assert all(m is not None for m in models.values())
    return windows, {at: m for at, m in models.items() if m is not None}


def _since(path: Path, start: str) -> pd.DataFrame:
    candles = load_candles(path)
    return candles[candles.index >= pd.Timestamp(start, tz=UTC)]


@pytest.mark.skipif(not SHARED_1H.exists(), reason="needs ../shared/data")
def test_every_refit_window_of_a_real_1h_slice_fits_as_hmmlearn_does() -> None:
    windows, models = _tracker_models(_since(SHARED_1H, "2025-04-01"), "1h")
    assert len(windows) >= 20
    zero_start = _assert_windows_equal(windows, models)
    assert zero_start >= 1, "the slice should include a fit whose start probability reaches exactly 0"
    report_figure(f"HMM replay == hmmlearn on {len(windows)} refit windows of BTC/USDT 1h since 2025-04")


@pytest.mark.skipif(not SHARED_5M.exists(), reason="needs ../shared/data")
def test_every_refit_window_of_a_real_5m_slice_fits_as_hmmlearn_does() -> None:
    windows, models = _tracker_models(_since(SHARED_5M, "2025-06-15"), "5m")
    assert len(windows) >= 10
    _assert_windows_equal(windows, models)
    report_figure(f"HMM replay == hmmlearn on {len(windows)} refit windows of BTC/USDT 5m since 2025-06-15")


@pytest.mark.skipif(not LONG_TESTS, reason="fits ~590 windows twice (~1 min); set TRADEWAKE_LONG_TESTS=1")
@pytest.mark.parametrize("name,timeframe", [("binance_BTC-USDT_1h.csv", "1h"), ("binance_BTC-USDT_5m.csv.gz", "5m")])
def test_long_every_refit_window_of_the_full_series_fits_as_hmmlearn_does(name: str, timeframe: str) -> None:
    windows, models = _tracker_models(load_candles(SHARED_DATA / name), timeframe)
    zero_start = _assert_windows_equal(windows, models)
    report_figure(f"HMM replay == hmmlearn on all {len(windows)} refit windows of BTC/USDT {timeframe} "
                  f"({zero_start} with a zero start probability)")


# ------------------------------------------------------------ drawn matrices

_SCALES = st.sampled_from([1e-9, 1e-3, 1.0, 1e3, 1e9])


@st.composite
def feature_matrices(draw: st.DrawFn) -> np.ndarray:
    """``(n, 2)`` finite matrices: Gaussian noise at any scale, a few repeated values (ties), a constant column."""
    n = draw(st.integers(2, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "regimes", "ties", "constant", "tiny"]))
    if kind == "tiny":
        values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
        return draw(arrays(np.float64, (draw(st.integers(2, 8)), 2), elements=values))
    x = rng.normal(size=(n, 2)) * np.array([draw(_SCALES), draw(_SCALES)])
    if kind == "regimes":  # two volatility levels, as the regime features have
        x[:, 1] += np.where(rng.random(n) < 0.3, 2.0, 0.0)
    elif kind == "ties":
        x = rng.choice(np.array([-1.0, 0.0, 0.5, 1.0]), size=(n, 2))
    elif kind == "constant":
        x[:, draw(st.integers(0, 1))] = draw(st.floats(-10, 10, allow_nan=False))
    return x


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=feature_matrices(), n_iter=st.sampled_from([1, 2, 3, 100]))
def test_drawn_matrices_fit_as_hmmlearn_does(x: np.ndarray, n_iter: int) -> None:
    z = _standardised(x)
    means = _initial_means(z)
    assert _outcome(fit_hmm, z, means, n_iter) == _outcome(fit_hmm_reference, z, means, n_iter)
    assert _model_outcome(x, n_iter, fit_hmm) == _model_outcome(x, n_iter, fit_hmm_reference)


def _model_outcome(x: np.ndarray, n_iter: int, fitter: hmm_fit.Fitter) -> Any:
    try:
        return _bits(RegimeModel.fit(x, n_iter=n_iter, fitter=fitter).to_dict())
    except ValueError as exc:  # hmmlearn rejects a degenerate fit (two rows, a state never left)
        return ("raised", str(exc))


def test_the_replay_itself_fits_ordinary_and_small_matrices() -> None:
    """The fallback is for edge cases only: the replay runs on tiny matrices, ties, and up to the iteration cap."""
    rng = np.random.default_rng(5)
    rng.normal(size=(2, 2))  # the two-row matrix of the next test
    iterations = set()
    for n in (3, 4, 7, 50, 300):
        for x in (rng.normal(size=(n, 2)), rng.choice(np.array([0.0, 1.0]), size=(n, 2))):
            z = _standardised(x)
            fit = fit_hmm(z, _initial_means(z), seed=7, n_iter=100, tol=TOL)
            assert fit.fallback is None, (n, fit.fallback)
            assert _fit_bits(fit) == _fit_bits(fit_hmm_reference(z, _initial_means(z), seed=7, n_iter=100, tol=TOL))
            iterations.add(fit.iterations)
            capped = fit_hmm(z, _initial_means(z), seed=7, n_iter=3, tol=TOL)
            assert capped.fallback is None and capped.iterations == 3 and capped.converged  # hmmlearn's monitor
    assert min(iterations) < 10 < max(iterations)


def test_a_transition_never_observed_falls_back_to_hmmlearns_error() -> None:
    """Two rows: one state is never left, its transition row sums to 0 and stays 0; ``score`` rejects the model.
    The replay detects it (the check ``score`` makes) and hmmlearn raises its own error."""
    z = _standardised(np.random.default_rng(5).normal(size=(2, 2)))
    means = _initial_means(z)
    with pytest.raises(NotReplayable, match="do not sum to 1"):
        hmm_fit._replay(z, means, seed=7, n_iter=100, tol=TOL)
    outcome = _outcome(fit_hmm, z, means, 100)
    assert outcome[0] == "raised" and "transmat_ rows must sum to 1" in outcome[2]
    assert outcome == _outcome(fit_hmm_reference, z, means, 100)


# ------------------------------------------------------------ the pieces against their originals


@st.composite
def log_lattices(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 40))
    values = st.one_of(
        st.floats(-800, 800, allow_nan=False),
        st.sampled_from([0.0, -0.0, 1.0, -745.2, -1e-300, 5e-324]),
        st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False),
    )
    a = draw(arrays(np.float64, (n, 2), elements=values))
    if draw(st.booleans()):  # ties: every k-th row has the same value in both columns
        step = draw(st.integers(1, 3))
        a[::step, 1] = a[::step, 0]
    if draw(st.booleans()):  # a state ruled out at some rows (log 0)
        a[draw(st.integers(0, n - 1)), draw(st.integers(0, 1))] = -math.inf
    return a


@settings(max_examples=300, deadline=None)
@given(a=log_lattices())
def test_log_normalize_rows_is_scipys_logsumexp_normalisation(a: np.ndarray) -> None:
    theirs = a.copy()
    log_normalize(theirs, axis=1)
    ours = a.copy()
    try:
        hmm_ops.log_normalize_rows(ours)
    except NotReplayable:
        return  # refused: hmmlearn fits the window (proven by the fallback tests)
    assert _bits(ours) == _bits(theirs)


def test_log_normalize_rows_refuses_what_it_does_not_replay() -> None:
    for row in ([-math.inf, -math.inf], [math.nan, 0.0], [0.0, math.nan], [0.0, math.inf], [math.inf, -math.inf]):
        with pytest.raises(NotReplayable):
            hmm_ops.log_normalize_rows(np.array([[0.0, 1.0], row]))


def test_log_normalize_rows_takes_a_tie_and_a_ruled_out_state() -> None:
    a = np.array([[-3.5, -3.5], [-math.inf, -2.0], [0.25, -math.inf], [-1.0, -2.0]])
    theirs = a.copy()
    log_normalize(theirs, axis=1)
    hmm_ops.log_normalize_rows(a)
    assert _bits(a) == _bits(theirs)


@settings(max_examples=200, deadline=None)
@given(
    start=arrays(np.float64, 2, elements=st.floats(0, 1)),
    trans=arrays(np.float64, (2, 2), elements=st.floats(0, 1)),
    normalised=st.booleans(),
)
def test_check_distributions_refuses_what_hmmlearns_check_rejects(
    start: np.ndarray, trans: np.ndarray, normalised: bool
) -> None:
    if normalised and start.sum() > 0 and (trans.sum(axis=1) > 0).all():
        start, trans = start / start.sum(), trans / trans.sum(axis=1, keepdims=True)
    hmm = GaussianHMM(n_components=2)
    hmm.startprob_, hmm.transmat_, hmm.means_ = start, trans, np.zeros((2, 2))
    try:
        hmm._check()
        hmmlearn_accepts = True
    except ValueError:
        hmmlearn_accepts = False
    try:
        hmm_ops.check_distributions(start, trans)
        ours_accepts = True
    except NotReplayable:
        ours_accepts = False
    assert ours_accepts == hmmlearn_accepts


_PROB = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 5e-324]))
_STAT = st.one_of(st.floats(0, 1e4), st.sampled_from([0.0, 1e-300]))
_SIGNED = st.one_of(st.floats(-1e4, 1e4, allow_nan=False), st.sampled_from([0.0, -0.0]))


@settings(max_examples=300, deadline=None)
@given(
    startprob=arrays(np.float64, 2, elements=_PROB),
    transmat=arrays(np.float64, (2, 2), elements=_PROB),
    start=arrays(np.float64, 2, elements=_STAT),
    trans=arrays(np.float64, (2, 2), elements=_STAT),
    post=arrays(np.float64, 2, elements=_STAT),
    obs=arrays(np.float64, (2, 2), elements=_SIGNED),
    obs_squared=arrays(np.float64, (2, 2), elements=_STAT),
)
def test_m_step_is_hmmlearns(
    startprob: np.ndarray,
    transmat: np.ndarray,
    start: np.ndarray,
    trans: np.ndarray,
    post: np.ndarray,
    obs: np.ndarray,
    obs_squared: np.ndarray,
) -> None:
    """The scalar M-step against ``GaussianHMM._do_mstep`` itself, on any statistics (zeros, denormals, a zero
    start or transition that must stay zero); where it refuses, hmmlearn divides by zero."""
    hmm = GaussianHMM(n_components=2, covariance_type="diag")
    hmm.startprob_, hmm.transmat_ = startprob.copy(), transmat.copy()
    hmm.means_, hmm.n_features = np.zeros((2, 2)), 2
    stats = {"nobs": 1, "start": start, "trans": trans, "post": post, "obs": obs, "obs**2": obs_squared}
    with np.errstate(all="ignore"):
        hmm._do_mstep(stats)
    params = hmm_ops.Params(startprob, transmat, np.zeros((2, 2)), np.ones((2, 2)))
    try:
        ours = hmm_ops.m_step(hmm_ops.Stats(start, trans, post, obs, obs_squared), params)
    except NotReplayable:
        assert not (np.isfinite(hmm.startprob_).all() and np.isfinite(hmm.means_).all())
        return
    assert _bits(tuple(ours)) == _bits((hmm.startprob_, hmm.transmat_, hmm.means_, hmm._covars_))


# ------------------------------------------------------------ each fallback, detected


def _rows(n: int = 300) -> np.ndarray:
    return _standardised(np.random.default_rng(11).normal(size=(n, 2)))


def test_unchecked_versions_fall_back_to_hmmlearn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hmm_fit, "replay_supported", lambda: False)
    z = _rows()
    fit = fit_hmm(z, _initial_means(z), seed=7, n_iter=100, tol=TOL)
    assert fit.fallback is not None and "not checked" in fit.fallback
    assert _fit_bits(fit) == _fit_bits(fit_hmm_reference(z, _initial_means(z), seed=7, n_iter=100, tol=TOL))


def test_one_row_falls_back_to_hmmlearn_with_its_outcome() -> None:
    z = np.zeros((1, 2))
    means = np.array([[-0.5, -0.5], [0.5, 0.5]])
    with pytest.warns(RuntimeWarning):  # hmmlearn's np.cov of one row
        assert _outcome(fit_hmm, z, means, 100) == _outcome(fit_hmm_reference, z, means, 100)
    assert hmm_fit._unsupported(z) == "fewer than two rows"


def test_rows_in_another_layout_fall_back_to_hmmlearn() -> None:
    z = np.asfortranarray(_rows())
    fit = fit_hmm(z, _initial_means(z), seed=7, n_iter=100, tol=TOL)
    assert fit.fallback is not None and "C-contiguous" in fit.fallback


def test_a_lattice_row_with_no_possible_state_falls_back_to_hmmlearn() -> None:
    """Means so far away that every state's density underflows to ``log 0`` on some row: scipy's logsumexp then
    takes its infinite branch, which the replay does not copy; hmmlearn fits the case, whatever it gives."""
    z = _rows()
    means = np.array([[1e200, 1e200], [-1e200, -1e200]])
    with np.errstate(all="ignore"):
        with pytest.raises(NotReplayable, match="not finite"):
            hmm_fit._replay(z, means, seed=7, n_iter=5, tol=TOL)
        assert _outcome(fit_hmm, z, means, 5) == _outcome(fit_hmm_reference, z, means, 5)


def test_the_dirichlet_start_is_hmmlearns() -> None:
    """The seeded start and transition probabilities are drawn once per seed and never written to."""
    z = _rows(50)
    hmm = GaussianHMM(n_components=2, covariance_type="diag", random_state=3, init_params="stc")
    hmm.means_ = _initial_means(z)
    hmm._init(z)
    startprob, transmat = hmm_fit._dirichlet_start(3)
    assert _bits(startprob) == _bits(hmm.startprob_) and _bits(transmat) == _bits(hmm.transmat_)
    assert not startprob.flags.writeable and not transmat.flags.writeable
