"""A 2-state Gaussian HMM over (log return, log realized volatility), labelled by volatility.

Fitting is hmmlearn's ``GaussianHMM`` fit (Baum-Welch, diagonal covariances, seeded; the means start
from the calm and the agitated half of the training rows), replayed by :mod:`market.hmm_fit` with the
same floating-point operations and hmmlearn's own compiled passes, several times faster and bit for bit
the same parameters (hmmlearn itself fits whatever the replay does not cover). Everything after the fit
is ours and uses the fitted parameters only:

- **Labels that do not swap.** After each fit the states are reordered by the mean of the
  volatility feature, so state 0 is always ``low_vol`` and state 1 ``high_vol``, whatever order
  Baum-Welch happened to converge to.
- **Filtered probabilities** ``P(state_t | x_1..x_t)`` by the forward recursion, normalised at every
  step. This is the only inference allowed in live and backtest paths: hmmlearn's ``predict`` (Viterbi)
  and ``predict_proba`` (forward-backward smoothing) condition on the whole sequence, i.e. on the
  future. The recursion starts from the stationary distribution of the transition matrix (the fitted
  start probabilities of a single training sequence are degenerate).
- **Persistence**: :meth:`RegimeModel.to_dict` / :meth:`RegimeModel.from_dict` round-trip exactly
  (plain JSON numbers), so a model fitted once can be stored and reused after a restart.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict

from market.hmm_fit import Fitter, fit_hmm

LOW_VOL = "low_vol"
HIGH_VOL = "high_vol"
LABELS = (LOW_VOL, HIGH_VOL)
VOL_FEATURE = 1
"""Column of the volatility feature in the feature matrix (column 0 is the log return)."""

Pair = tuple[float, float]
TOL = 1e-4
"""Baum-Welch stops when an iteration gains less log-likelihood than this."""


class RegimeParams(BaseModel):
    """Fitted parameters in label order (index 0 = ``low_vol``), on standardised features."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transmat: tuple[Pair, Pair]
    means: tuple[Pair, Pair]
    variances: tuple[Pair, Pair]
    feature_mean: Pair
    feature_std: Pair
    train_bars: int
    log_likelihood: float
    converged: bool
    iterations: int
    seed: int
    fitted_at: AwareDatetime | None = None


class RegimeModel:
    """A fitted 2-state model; immutable, cheap to copy, safe to share."""

    def __init__(self, params: RegimeParams) -> None:
        self.params = params
        self._mu = np.asarray(params.means, dtype="float64")
        self._var = np.asarray(params.variances, dtype="float64")
        self._a = np.asarray(params.transmat, dtype="float64")
        self._center = np.asarray(params.feature_mean, dtype="float64")
        self._scale = np.asarray(params.feature_std, dtype="float64")

    # ------------------------------------------------------------ fitting

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        *,
        seed: int = 7,
        n_iter: int = 100,
        fitted_at: Any = None,
        fitter: Fitter = fit_hmm,
    ) -> RegimeModel:
        """Fit on an ``(n, 2)`` matrix of (log return, log realized vol) rows without NaN.

        ``fitter``: :func:`market.hmm_fit.fit_hmm` (the replay); tests pass ``fit_hmm_reference`` (hmmlearn).
        """
        x = np.asarray(features, dtype="float64")
        if x.ndim != 2 or x.shape[1] != 2 or not np.isfinite(x).all():
            raise ValueError("features must be a finite (n, 2) matrix")
        center, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        z = (x - center) / scale
        fitted = fitter(z, _initial_means(z), seed=seed, n_iter=n_iter, tol=TOL)
        order = np.argsort(fitted.means[:, VOL_FEATURE], kind="stable")
        params = RegimeParams(
            transmat=_pairs(fitted.transmat[np.ix_(order, order)]),
            means=_pairs(fitted.means[order]),
            variances=_pairs(fitted.variances[order]),
            feature_mean=_pair(center),
            feature_std=_pair(scale),
            train_bars=len(x),
            log_likelihood=fitted.log_likelihood,
            converged=fitted.converged,
            iterations=fitted.iterations,
            seed=seed,
            fitted_at=fitted_at,
        )
        return cls(params)

    # ------------------------------------------------------------ inference

    def stationary(self) -> np.ndarray:
        """Stationary distribution of the transition matrix (the filter's starting belief)."""
        a = self._a
        p01, p10 = a[0, 1], a[1, 0]
        if p01 + p10 <= 0:
            return np.array([0.5, 0.5])
        return np.array([p10 / (p01 + p10), p01 / (p01 + p10)])

    def emission_log_likelihood(self, features: np.ndarray) -> np.ndarray:
        """``log p(x_t | state)`` for every row, ``(n, 2)``; NaN rows give NaN."""
        z = (np.asarray(features, dtype="float64") - self._center) / self._scale
        diff = z[:, None, :] - self._mu[None, :, :]
        terms = np.log(2 * math.pi * self._var)[None, :, :] + diff * diff / self._var[None, :, :]
        loglik: np.ndarray = -0.5 * terms.sum(axis=2)
        return loglik

    def filtered_probabilities(self, features: np.ndarray, initial: np.ndarray | None = None) -> np.ndarray:
        """``P(state_t | x_1..x_t)`` for each row (forward pass only; row t never sees row t+1).

        A row with a NaN feature carries the prediction forward without an update.
        """
        loglik = self.emission_log_likelihood(features)
        start = self.stationary() if initial is None else np.asarray(initial, dtype="float64")
        return _forward_filter(loglik, start, self._a)

    # ------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        return self.params.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegimeModel:
        return cls(RegimeParams.model_validate(data))

    @property
    def vol_means(self) -> Pair:
        """Mean of the volatility feature per state, in original units (log per-candle vol)."""
        raw = self._mu[:, VOL_FEATURE] * self._scale[VOL_FEATURE] + self._center[VOL_FEATURE]
        return float(raw[0]), float(raw[1])


def _initial_means(z: np.ndarray) -> np.ndarray:
    """Starting means: the rows below and above the median volatility (deterministic and fast, where
    hmmlearn's default k-means start costs ~10x the EM itself on a few thousand rows)."""
    calm = z[:, VOL_FEATURE] <= np.median(z[:, VOL_FEATURE])
    if calm.all():
        return np.stack([z.mean(axis=0) - 0.5, z.mean(axis=0) + 0.5])
    return np.stack([z[calm].mean(axis=0), z[~calm].mean(axis=0)])


def _forward_filter(loglik: np.ndarray, start: np.ndarray, transmat: np.ndarray) -> np.ndarray:
    """Normalised 2-state forward recursion in plain floats (fast for a Python loop)."""
    a00, a01, a10, a11 = (float(v) for v in transmat.ravel())
    p0, p1 = float(start[0]), float(start[1])
    out = np.empty((len(loglik), 2))
    for t, (l0, l1) in enumerate(loglik.tolist()):
        if t > 0:
            p0, p1 = p0 * a00 + p1 * a10, p0 * a01 + p1 * a11
        if not (math.isnan(l0) or math.isnan(l1)):
            top = l0 if l0 > l1 else l1
            q0, q1 = p0 * math.exp(l0 - top), p1 * math.exp(l1 - top)
            total = q0 + q1
            if total > 0:
                p0, p1 = q0 / total, q1 / total
        out[t, 0], out[t, 1] = p0, p1
    return out


def _pair(values: np.ndarray) -> Pair:
    return float(values[0]), float(values[1])


def _pairs(matrix: np.ndarray) -> tuple[Pair, Pair]:
    return _pair(matrix[0]), _pair(matrix[1])
