"""Baum-Welch for the regime model (2 states, diagonal covariances): hmmlearn's fit, without its overhead.

:func:`fit_hmm` returns **the same floats** as hmmlearn's ``GaussianHMM(n_components=2,
covariance_type="diag", init_params="stc", implementation="log").fit(z)`` followed by ``score(z)``
(:func:`fit_hmm_reference`, which runs exactly that): it performs the same floating-point operations, in the
same order, and calls hmmlearn's own compiled forward, backward and xi passes (``hmmlearn._hmmc``) on arrays of
the same layout (:mod:`market.hmm_ops`, one function per piece of hmmlearn it replays). What it leaves out is
what costs without computing: scikit-learn's input checks, ``np.errstate`` blocks, the statistics dict, numpy
calls on 2 x 2 arrays (the M-step runs on Python floats), and above all ``scipy.special.logsumexp``, whose
array-API machinery costs more than the arithmetic on an ``(n, 2)`` lattice; in its place
:func:`market.hmm_ops.log_normalize_rows` computes what scipy 1.17.1 computes for two columns.

Equality is proven, not assumed (``tests/market/test_hmm_fit.py``, bit for bit): every refit window the regime
tracker fits on real 1h and 5m series (all of them with ``TRADEWAKE_LONG_TESTS=1``), hypothesis-drawn matrices,
and each replayed piece against the hmmlearn or scipy code it replaces.

**When it does not replay, it does not guess**: :func:`fit_hmm` runs :func:`fit_hmm_reference` instead when

- the installed hmmlearn or scipy is not a version whose operations were checked (:data:`CHECKED_HMMLEARN`,
  :data:`CHECKED_SCIPY`);
- there are fewer than two rows (hmmlearn's own degenerate paths: a NaN covariance, an error), or the rows are
  not a C-contiguous float64 array (the layout the matrix products are replayed for);
- a row of the log posteriors has no finite normaliser (both states ``-inf``, NaN, ``+inf``: scipy's infinite
  branch is not replayed; a single ``-inf`` state, a start probability that reached 0, is), a start or a state
  is left with no weight at all (numpy would divide by zero), the fitted start/transition probabilities fail
  the check ``score`` makes (hmmlearn then raises its own error), or the fitted parameters or log-likelihood
  are not finite.

:func:`fit_hmm` says which path ran (:attr:`HmmFit.fallback`), so tests can prove both the fast path and the
detection of each fallback condition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import Protocol

import numpy as np

from market import hmm_ops
from market.hmm_ops import NotReplayable, Params

N_STATES = 2
MIN_COVAR = 1e-3
"""hmmlearn's ``min_covar`` default (added to the covariance of the data for the starting covariances)."""
CHECKED_HMMLEARN = ("0.3.3",)
CHECKED_SCIPY = ("1.17.1",)
"""Versions whose operations :func:`fit_hmm` replays (read from their source; pinned by the equality tests)."""


@dataclass(frozen=True)
class HmmFit:
    """Fitted parameters in hmmlearn's state order, and how the fit ended."""

    startprob: np.ndarray
    transmat: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    """``(2, n_features)``: the diagonal of each state's covariance."""
    log_likelihood: float
    """``score`` of the training rows under the fitted parameters."""
    converged: bool
    iterations: int
    fallback: str | None
    """Why hmmlearn itself ran instead of the replay, or ``None`` when the replay ran."""


class Fitter(Protocol):
    """Baum-Welch on standardised rows ``z`` from starting ``means``: :func:`fit_hmm`, :func:`fit_hmm_reference`."""

    def __call__(self, z: np.ndarray, means: np.ndarray, *, seed: int, n_iter: int, tol: float) -> HmmFit: ...


@cache
def replay_supported() -> bool:
    """Whether the installed hmmlearn and scipy are the versions whose operations the replay was checked on."""
    return version("hmmlearn") in CHECKED_HMMLEARN and version("scipy") in CHECKED_SCIPY


def fit_hmm(z: np.ndarray, means: np.ndarray, *, seed: int, n_iter: int, tol: float) -> HmmFit:
    """hmmlearn's fit of ``z`` (standardised rows) from starting ``means``, replayed; hmmlearn itself when the
    replay cannot vouch for equality (see the module docstring)."""
    reason = _unsupported(z)
    if reason is None:
        try:
            return _replay(z, means, seed=seed, n_iter=n_iter, tol=tol)
        except NotReplayable as exc:
            reason = str(exc)  # hmmlearn decides the degenerate case (its values, its warnings, its errors)
    return fit_hmm_reference(z, means, seed=seed, n_iter=n_iter, tol=tol, fallback=reason)


def _unsupported(z: np.ndarray) -> str | None:
    if not replay_supported():
        return f"hmmlearn {version('hmmlearn')} / scipy {version('scipy')} not checked for the replay"
    if len(z) < 2:
        return "fewer than two rows"
    if z.dtype != np.float64 or not z.flags.c_contiguous:
        return "rows not a C-contiguous float64 array (the layout the replay's matrix products assume)"
    return None


def fit_hmm_reference(
    z: np.ndarray, means: np.ndarray, *, seed: int, n_iter: int, tol: float, fallback: str = "reference"
) -> HmmFit:
    """The reference: hmmlearn's ``GaussianHMM`` fit and score, as the regime model always used it."""
    from hmmlearn.hmm import GaussianHMM

    hmm = GaussianHMM(
        n_components=N_STATES, covariance_type="diag", n_iter=n_iter, tol=tol, random_state=seed, init_params="stc"
    )
    hmm.means_ = means
    hmm.fit(z)
    return HmmFit(
        startprob=hmm.startprob_,
        transmat=hmm.transmat_,
        means=hmm.means_,
        variances=np.stack([np.diag(c) for c in hmm.covars_]),
        log_likelihood=float(hmm.score(z)),
        converged=bool(hmm.monitor_.converged),
        iterations=int(hmm.monitor_.iter),
        fallback=fallback,
    )


def _replay(z: np.ndarray, means: np.ndarray, *, seed: int, n_iter: int, tol: float) -> HmmFit:
    rows = hmm_ops.Rows.of(z)
    model = _initial_model(rows.x, np.array(means, dtype="float64"), seed)
    history: list[float] = []
    for _ in range(n_iter):
        stats, log_prob = hmm_ops.e_step(rows, model)
        model = hmm_ops.m_step(stats, model)
        history.append(log_prob)
        if _converged(history, n_iter, tol):
            break
    hmm_ops.check_distributions(model.startprob, model.transmat)
    log_likelihood = hmm_ops.score(rows, model)
    if not (math.isfinite(log_likelihood) and all(np.isfinite(p).all() for p in model)):
        raise NotReplayable("fitted parameters or log-likelihood not finite")
    return HmmFit(
        startprob=model.startprob,
        transmat=model.transmat,
        means=model.means,
        variances=model.covars,
        log_likelihood=log_likelihood,
        converged=_converged(history, n_iter, tol),
        iterations=len(history),
        fallback=None,
    )


def _converged(history: list[float], n_iter: int, tol: float) -> bool:
    """``ConvergenceMonitor.converged`` (``history`` holds every iteration's log probability)."""
    return len(history) == n_iter or (len(history) >= 2 and history[-1] - history[-2] < tol)


def _initial_model(x: np.ndarray, means: np.ndarray, seed: int) -> Params:
    """hmmlearn's ``_init`` with ``init_params="stc"``: seeded Dirichlet start and transition probabilities, the
    data's covariance (plus ``min_covar``) as every state's starting covariance; the means as given."""
    startprob, transmat = _dirichlet_start(seed)
    cv = np.cov(x.T) + MIN_COVAR * np.eye(x.shape[1])
    covars = np.tile(np.diag(cv), (N_STATES, 1))
    if not np.isfinite(covars).all() or not np.isfinite(means).all() or (covars <= 0).any():
        raise NotReplayable("starting covariances or means not finite and positive")
    return Params(startprob.copy(), transmat.copy(), means, covars)


@cache
def _dirichlet_start(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The start and transition probabilities hmmlearn draws for ``random_state=seed`` (the same generator and
    the same two draws, in order; cached because they depend on the seed only). Callers copy them."""
    from sklearn.utils import check_random_state

    random_state = check_random_state(seed)
    init = 1.0 / N_STATES
    startprob = random_state.dirichlet(np.full(N_STATES, init))
    transmat = random_state.dirichlet(np.full(N_STATES, init), size=N_STATES)
    startprob.flags.writeable = False
    transmat.flags.writeable = False
    return startprob, transmat
