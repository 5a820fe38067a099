"""A PNG of the Beta posterior density of every signal (matplotlib, Agg; no display needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from learning.weights import SignalPosterior

_COLUMNS = 3
# The open interval: a Beta with alpha or beta below 1 has an infinite density at 0 or 1.
_GRID = np.linspace(0.0005, 0.9995, 800)


def plot_posteriors(posteriors: Sequence[SignalPosterior], path: Path, title: str) -> Path:
    """One panel per signal: density, shaded 95 % credible interval, mean, and the 0.5 coin-flip line."""
    if not posteriors:
        raise ValueError("nothing to plot")
    rows = math.ceil(len(posteriors) / _COLUMNS)
    figure = Figure(figsize=(4.2 * _COLUMNS, 2.8 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, _COLUMNS, sharex=True, squeeze=False).ravel()
    for ax, posterior in zip(axes, posteriors, strict=False):
        _panel(ax, posterior)
    for ax in axes[len(posteriors) :]:
        ax.set_visible(False)
    figure.suptitle(title)
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
    return path


def _panel(ax: Axes, posterior: SignalPosterior) -> None:
    density = stats.beta.pdf(_GRID, posterior.alpha, posterior.beta)
    inside = (posterior.ci_low <= _GRID) & (posterior.ci_high >= _GRID)
    ax.plot(_GRID, density, color="tab:blue", linewidth=1.5)
    ax.fill_between(_GRID, density, where=inside, color="tab:blue", alpha=0.2, label="95 % CI")
    ax.axvline(posterior.mean, color="tab:blue", linestyle="--", linewidth=1)
    ax.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(float(np.nanmax(density)) * 1.1, 1.5))
    ax.set_title(
        f"{posterior.signal.value}  Beta({posterior.alpha:.2f}, {posterior.beta:.2f})\n"
        f"{posterior.trades} trades, {posterior.wins} wins, mean {posterior.mean:.2f}",
        fontsize=9,
    )
    ax.set_xlabel("win probability", fontsize=8)
    ax.tick_params(labelsize=7)
