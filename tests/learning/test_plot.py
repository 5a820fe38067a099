"""The density plot: a real PNG with one panel per signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import image

from core.settings import LearnerSettings
from core.types import Signal
from learning.plot import plot_posteriors
from learning.state import LearnerState, apply_trade
from learning.weights import posteriors
from tests.learning.trades import closed_trade


def test_plot_writes_a_png_of_every_signal(tmp_path: Path) -> None:
    settings = LearnerSettings(prior_alpha=0.5, prior_beta=0.5)  # densities infinite at the edges
    state = LearnerState()
    for i in range(12):
        state = apply_trade(state, closed_trade(f"p{i}", Signal.MOMENTUM, win=i % 3 != 0), settings).state
    out = plot_posteriors(posteriors(state, None, settings), tmp_path / "posteriors.png", title="test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(out)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 1000
    assert np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0).shape[0] > 10  # not a blank canvas
