"""Regime HMM fits per second: our replay of hmmlearn's Baum-Welch (``market.hmm_fit.fit_hmm``) against hmmlearn
itself (``fit_hmm_reference``), on the same training windows, in one run.

Windows: every weekly refit the regime tracker makes over the real Binance BTC/USDT 1h series (71,401 candles,
2017-08 to 2025-10) and 5m series (337,677 candles, 2022-08 to 2025-10; the tracker resamples it to 1h), as a
backtest over the whole file fits them (``tests/market/hmm_windows.py``). Each window is fitted by
``RegimeModel.fit`` both ways, alternating which goes first; the two ``RegimeParams`` are compared with ``==`` (the
benchmark fails loudly if one float differs). Fits per second are fits / CPU seconds of this process
(``time.process_time``: other load on a shared machine slows the wall clock, not this count). The ratio is
ours / hmmlearn: how many times faster the replay fits.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from market.candles import load_candles
from market.hmm import RegimeModel
from market.hmm_fit import fit_hmm, fit_hmm_reference, replay_supported
from tests.market.hmm_windows import RefitWindow, series_windows

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SERIES = {"1h": "binance_BTC-USDT_1h.csv", "5m": "binance_BTC-USDT_5m.csv.gz"}


@dataclass
class Tally:
    fits: int = 0
    iterations: int = 0
    cpu_s: float = 0.0

    @property
    def per_s(self) -> float:
        return self.fits / self.cpu_s if self.cpu_s else 0.0


def _timed_fit(window: RefitWindow, tally: Tally, *, reference: bool) -> RegimeModel:
    fitter = fit_hmm_reference if reference else fit_hmm
    started = time.process_time()
    model = RegimeModel.fit(window.rows, fitted_at=window.refit_at, fitter=fitter)
    tally.cpu_s += time.process_time() - started
    tally.fits += 1
    tally.iterations += model.params.iterations
    return model


def measure(windows: list[RefitWindow]) -> tuple[Tally, Tally]:
    ours, theirs = Tally(), Tally()
    RegimeModel.fit(windows[0].rows)  # imports and first-call caches, untimed
    RegimeModel.fit(windows[0].rows, fitter=fit_hmm_reference)
    for k, window in enumerate(windows):
        first_ours = k % 2 == 0
        a = _timed_fit(window, ours if first_ours else theirs, reference=not first_ours)
        b = _timed_fit(window, theirs if first_ours else ours, reference=first_ours)
        if a.to_dict() != b.to_dict():
            raise SystemExit(f"the replay and hmmlearn differ on the window fitted at {window.refit_at:%Y-%m-%d}")
    return ours, theirs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks hmm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", default="1h,5m", help="comma-separated: 1h, 5m (default both)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the last N windows of each series")
    args = parser.parse_args([] if argv is None else argv)
    series = [s.strip() for s in args.series.split(",") if s.strip()]
    if not series or not set(series) <= set(SERIES) or (args.limit is not None and args.limit < 1):
        parser.error(f"--series from {', '.join(SERIES)}; --limit at least 1")
    if not replay_supported():
        print("note: the installed hmmlearn/scipy are not the checked versions; fit_hmm runs hmmlearn itself")
    for key in series:
        print(f"  loading {SERIES[key]} and its refit windows ...", flush=True)
        _, windows = series_windows(load_candles(DATA / SERIES[key]), key)
        windows = windows[-args.limit:] if args.limit else windows
        ours, theirs = measure(windows)
        rows = sum(len(w.rows) for w in windows) / len(windows)
        print(f"BTC/USDT {key}: {len(windows)} refit windows ({rows:,.0f} rows on average, "
              f"{windows[0].refit_at:%Y-%m-%d} to {windows[-1].refit_at:%Y-%m-%d}), {ours.iterations:,} EM iterations")
        for name, tally in (("replay (fit_hmm)", ours), ("hmmlearn (reference)", theirs)):
            print(f"  {name:<22} {tally.per_s:8.1f} fits/s  ({tally.cpu_s:6.2f} s CPU, "
                  f"{tally.cpu_s / tally.iterations * 1e3:5.2f} ms per EM iteration)")
        print(f"  ratio replay/hmmlearn: {ours.per_s / theirs.per_s:.2f}x; every fit equal (RegimeParams ==)")


if __name__ == "__main__":
    main(sys.argv[1:])
