"""The operations of one Baum-Welch iteration of hmmlearn 0.3.3's ``GaussianHMM`` (diag, log implementation),
written out for 2 states so that each produces the same floats as hmmlearn's code.

Each function names the hmmlearn (or scipy) code it replays; the expressions keep that code's operand order,
array shapes and memory layouts, because that is what fixes every rounding (a sum of the same numbers in another
order, or a matrix product of differently laid out operands, may differ in the last bit). A case outside what is
replayed (see :mod:`market.hmm_fit`) raises :class:`NotReplayable`, and hmmlearn fits it.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]
else:
    Floats = np.ndarray

TINY = np.finfo(float).tiny
STARTPROB_PRIOR = 1.0
TRANSMAT_PRIOR = 1.0
MEANS_PRIOR = 0
MEANS_WEIGHT = 0
COVARS_PRIOR = 1e-2
COVARS_WEIGHT = 1
"""``GaussianHMM``'s default priors (the regime model never sets them)."""
LOG_2 = float(np.log(np.full(8, 2.0))[0])
"""``log(2)`` from numpy's vectorised log, the kernel scipy's ``log(m)`` runs on (``m = 2`` on a tie)."""


class NotReplayable(Exception):
    """The fit reached a case the replay does not cover; hmmlearn fits it instead."""


class Rows(NamedTuple):
    """The training rows as the replay uses them (hmmlearn's ``X``, and values it recomputes every iteration)."""

    x: Floats
    """``(n, n_features)``, C-contiguous, as hmmlearn's ``check_array`` hands it on."""
    x_squared: Floats
    """``x ** 2`` (hmmlearn squares ``X`` again in every E-step: the same values)."""
    x_t: Floats
    """``x`` transposed, C-contiguous: ``(n_features, n)``."""

    @classmethod
    def of(cls, z: Floats) -> Rows:
        x = np.ascontiguousarray(z, dtype="float64")
        return cls(x, x**2, np.ascontiguousarray(x.T))


class Params(NamedTuple):
    """The parameters one iteration starts from and the M-step returns (hmmlearn's ``startprob_``,
    ``transmat_``, ``means_``, ``_covars_``)."""

    startprob: Floats
    transmat: Floats
    means: Floats
    covars: Floats


class Stats(NamedTuple):
    """hmmlearn's sufficient statistics for the diag ``GaussianHMM`` (its ``stats`` dict, ``nobs`` aside)."""

    start: Floats
    trans: Floats
    post: Floats
    obs: Floats
    obs_squared: Floats


@cache
def _hmmc() -> Any:
    """hmmlearn's compiled passes, imported on first use (hmmlearn imports scikit-learn: not at start-up)."""
    from hmmlearn import _hmmc

    return _hmmc


def _finite(array: Floats, what: str) -> None:
    if not np.isfinite(array).all():
        raise NotReplayable(f"{what} not finite")


def log_density_diag(rows: Rows, means: Floats, covars: Floats) -> Floats:
    """``hmmlearn.stats._log_multivariate_normal_density_diag``, computed on the transposed rows.

    hmmlearn sums ``(x[:, None, :] - means) ** 2 / covars`` over the feature axis of an ``(n, 2, 2)`` array; here
    the same element operations run on a ``(state, feature, n)`` array (long inner loops instead of length-2
    ones), and the features are added one after the other. That is the sum: a two-element sum is one addition
    (numpy's reduction may start from ``0.0``; adding ``+0.0`` to the first term changes nothing, and the terms
    are ``>= +0`` whenever the covariances are positive, the only case whose result is finite). The rest keeps
    hmmlearn's order, ``-0.5 * ((nf log 2pi + sum log covars) + q)``, and the result is laid out ``(n, state)``,
    C-contiguous, as hmmlearn's.
    """
    nf = means.shape[1]
    covars = np.maximum(covars, TINY)
    constant = nf * np.log(2 * np.pi) + np.log(covars).sum(axis=-1)
    terms = (rows.x_t[None, :, :] - means[:, :, None]) ** 2 / covars[:, :, None]
    q = terms[:, 0, :]
    for f in range(1, nf):
        q = q + terms[:, f, :]
    log_frameprob: Floats = np.ascontiguousarray((-0.5 * (constant[:, None] + q)).T)
    return log_frameprob


def column_sums(a: Floats) -> Floats:
    """``a.sum(axis=0)`` for a C-contiguous ``(n, 2)`` array, faster: numpy reduces the rows of such an array in
    order (``((a0 + a1) + a2) + ...`` per column, no pairwise summation), which is where a cumulative sum down the
    rows ends."""
    sums: Floats = np.cumsum(a, axis=0)[-1]
    return sums


def log_normalize_rows(a: Floats) -> None:
    """``hmmlearn.utils.log_normalize(a, axis=1)`` for two columns of finite values, in place.

    hmmlearn subtracts ``scipy.special.logsumexp(a, 1, keepdims=True)``. scipy 1.17 computes a row's logsumexp
    as ``log1p(s) + log(m) + a_max``: ``a_max`` the row's maximum, ``m`` the number of elements equal to it,
    ``s`` the sum of ``exp(a_i - a_max)`` over the *other* elements, divided by ``m`` (the maximal ones are
    set to ``-inf`` first, so their terms are exactly 0). With two finite columns that is, per row:

    - no tie: ``m = 1``, ``s = exp(lo - hi)`` (``0 + e``, exact), ``log(1) = 0``, so ``log1p(exp(lo - hi)) + hi``
      (adding ``0.0`` to a non-negative ``log1p`` changes nothing);
    - a tie: ``m = 2``, ``s = 0``, so ``(log1p(0) + log(2)) + hi = log(2) + hi``.

    ``exp`` and ``log1p`` run on contiguous arrays, as scipy's do, so numpy picks the same (vectorised,
    lane-independent) kernels. A result that is not finite raises (scipy then takes another path).
    """
    hi = np.maximum(a[:, 0], a[:, 1])
    _finite(hi, "a row maximum of the log posteriors")  # (maximum propagates NaN: no NaN either)
    lo = np.minimum(a[:, 0], a[:, 1])
    lse = np.log1p(np.exp(lo - hi)) + hi
    ties = lo == hi
    if ties.any():
        lse[ties] = LOG_2 + hi[ties]
    _finite(lse, "a log normaliser")
    a -= lse[:, None]


def posteriors_log(fwdlattice: Floats, bwdlattice: Floats) -> Floats:
    """``_AbstractHMM._compute_posteriors_log``."""
    log_gamma = fwdlattice + bwdlattice
    log_normalize_rows(log_gamma)
    posteriors: Floats = np.exp(log_gamma)
    return posteriors


def e_step(rows: Rows, params: Params) -> tuple[Stats, float]:
    """``_AbstractHMM._do_estep`` on one sequence: ``BaseHMM._fit_log``, then the Gaussian and base
    ``_accumulate_sufficient_statistics`` into zeroed statistics. Returns the statistics and the log
    probability of ``x`` under the current parameters."""
    hmmc = _hmmc()
    startprob, transmat = params.startprob, params.transmat
    x = rows.x
    log_frameprob = log_density_diag(rows, params.means, params.covars)
    log_prob, fwdlattice = hmmc.forward_log(startprob, transmat, log_frameprob)
    bwdlattice = hmmc.backward_log(startprob, transmat, log_frameprob)
    posteriors = posteriors_log(fwdlattice, bwdlattice)
    start = np.zeros(2)
    start += posteriors[0]
    trans = np.zeros((2, 2))
    if len(x) > 1:
        log_xi_sum = hmmc.compute_log_xi_sum(fwdlattice, transmat, bwdlattice, log_frameprob)
        trans += np.exp(log_xi_sum)
    post = np.zeros(2)
    post += column_sums(posteriors)
    obs = np.zeros((2, x.shape[1]))
    obs += posteriors.T @ x
    obs_squared = np.zeros((2, x.shape[1]))
    obs_squared += posteriors.T @ rows.x_squared
    curr_logprob = 0 + log_prob
    return Stats(start, trans, post, obs, obs_squared), float(curr_logprob)


def m_step(stats: Stats, params: Params) -> Params:
    """``GaussianHMM._do_mstep`` (diag, default priors) after ``BaseHMM._do_mstep``, on Python floats.

    Each element is the IEEE operation numpy applies to it, in hmmlearn's order (``np.maximum(v, 0)`` of a
    ``0.0 + v`` that is never ``-0.0``; a two-element sum is one addition; ``x ** 2`` is ``x * x``); a 2 x 2
    M-step costs less as scalars than as numpy calls. Where numpy would divide by zero (a state or a start with
    no weight at all), Python would raise: the replay hands that fit to hmmlearn instead.
    """
    start = [
        0.0 if p == 0 else _at_least_0(STARTPROB_PRIOR - 1 + s)
        for p, s in zip(params.startprob.tolist(), stats.start.tolist(), strict=True)
    ]
    trans = [
        [0.0 if p == 0 else _at_least_0(TRANSMAT_PRIOR - 1 + t) for p, t in zip(p_row, t_row, strict=True)]
        for p_row, t_row in zip(params.transmat.tolist(), stats.trans.tolist(), strict=True)
    ]
    total = start[0] + start[1]
    if total == 0:
        raise NotReplayable("no start probability left")
    start = [p / total for p in start]
    trans = [[p / _row_total(row) for p in row] for row in trans]
    means: list[list[float]] = []
    covars: list[list[float]] = []
    for post, obs, obs_squared in zip(stats.post.tolist(), stats.obs.tolist(), stats.obs_squared.tolist(), strict=True):
        denom = MEANS_WEIGHT + post
        if denom == 0:
            raise NotReplayable("a state with no posterior weight")
        mean = [(MEANS_WEIGHT * MEANS_PRIOR + o) / denom for o in obs]
        c_d = _at_least(max(COVARS_WEIGHT - 1, 0) + post, 1e-5)
        covars.append([
            (COVARS_PRIOR + _c_n(m, o, o2, post)) / c_d for m, o, o2 in zip(mean, obs, obs_squared, strict=True)
        ])
        means.append(mean)
    return Params(np.array(start), np.array(trans), np.array(means), np.array(covars))


def _c_n(mean: float, obs: float, obs_squared: float, post: float) -> float:
    """hmmlearn's ``c_n`` for one state and feature, in its order."""
    meandiff = mean - MEANS_PRIOR
    return MEANS_WEIGHT * (meandiff * meandiff) + obs_squared - 2 * mean * obs + mean * mean * post


def _at_least_0(value: float) -> float:
    """``np.maximum(value, 0)`` (NaN stays NaN)."""
    return _at_least(value, 0.0)


def _at_least(value: float, floor: float) -> float:
    """``np.maximum(value, floor)`` for a ``value`` that is not ``-0.0`` (NaN stays NaN)."""
    return value if value >= floor or math.isnan(value) else floor


def _row_total(row: list[float]) -> float:
    """``hmmlearn.utils.normalize(axis=1)``'s divisor: the row's sum, 1 where it is 0."""
    total = row[0] + row[1]
    return 1.0 if total == 0 else total


def check_distributions(startprob: Floats, transmat: Floats) -> None:
    """``BaseHMM._check``'s sums, which ``score`` runs (hmmlearn raises where this raises NotReplayable)."""
    if not (np.allclose(startprob.sum(axis=-1), 1) and np.allclose(transmat.sum(axis=-1), 1)):
        raise NotReplayable("fitted probabilities do not sum to 1")


def score(rows: Rows, params: Params) -> float:
    """``_AbstractHMM._score_log`` without posteriors: the log probability of the rows."""
    log_frameprob = log_density_diag(rows, params.means, params.covars)
    log_prob, _ = _hmmc().forward_log(params.startprob, params.transmat, log_frameprob)
    return float(0 + log_prob)
