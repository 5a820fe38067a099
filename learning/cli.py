"""``tradewake learner ...``: inspect the learner's posteriors (table, JSON, density plot)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.clock import WallClock
from core.json_output import print_json

if TYPE_CHECKING:
    from learning.service import Learner
    from learning.weights import SignalPosterior

app = typer.Typer(help="Inspect the Thompson-sampling learner.", no_args_is_help=True)
console = Console()

RegimeOption = Annotated[
    str | None,
    typer.Option("--regime", "-r", help="Regime label (e.g. low_vol, high_vol); default: the global posteriors."),
]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="Also write a PNG of the Beta density of every signal to this file.")
]
RunOption = Annotated[
    str | None,
    typer.Option("--run", help="A backtest run (id or directory) to read instead of the configured store."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (default: $TRADEWAKE_CONFIG or ./tradewake.toml)."),
]


@app.command("show")
def show(
    regime: RegimeOption = None,
    plot: PlotOption = None,
    run: RunOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show every signal's Beta posterior (alpha, beta, mean, 95 % CI, trades, wins) for a regime or globally.

    A regime's own posteriors are shown even when it has fewer than ``learner.min_trades`` trades;
    the header says which scope the weights would use then (the global one).
    """
    _check_regime(regime)
    _check_plot_path(plot)
    from core.settings import load_inert_settings

    settings = load_inert_settings(config)
    # numpy, scipy and the store load here, not when the CLI starts.
    from learning.service import Learner
    from store.factory import open_store
    from store.runs import inspected_store

    store = open_store(inspected_store(settings.store, run, settings.backtest.runs_dir), create=False)
    try:
        learner = Learner.open(store, settings.learner, WallClock())
    finally:
        store.close()
    posteriors = learner.posteriors(regime)
    summary = _summary(learner, regime, posteriors)
    if plot is not None:
        from learning.plot import plot_posteriors

        plot_posteriors(posteriors, plot, title=_title(summary))
    if as_json:
        print_json(console, summary)
    else:
        _print_table(summary, posteriors)
    if plot is not None and not as_json:
        console.print(f"plot written to {plot}", markup=False)


def _check_regime(regime: str | None) -> None:
    if regime is None:
        return
    from learning.state import check_regime_label

    try:
        check_regime_label(regime)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--regime") from exc


def _check_plot_path(plot: Path | None) -> None:
    if plot is None:
        return
    if plot.suffix.lower() != ".png":
        raise typer.BadParameter(f"{plot} must end in .png", param_hint="--plot")
    if not plot.parent.is_dir():
        raise typer.BadParameter(f"directory {plot.parent} does not exist", param_hint="--plot")


def _summary(learner: Learner, regime: str | None, posteriors: tuple[SignalPosterior, ...]) -> dict[str, Any]:
    from learning.weights import effective_regime, scope_label

    used = effective_regime(learner.state, regime, learner.settings)
    return {
        "scope": scope_label(regime),
        "scope_trades": learner.state.scope(regime).trades,
        "min_trades": learner.settings.min_trades,
        "enough_data": learner.has_enough_data(regime),
        "weights_use": scope_label(used),
        "recorded_positions": learner.state.last_seq,
        "regimes": learner.regime_trades(),
        "posteriors": [p.model_dump(mode="json") for p in posteriors],
    }


def _title(summary: dict[str, Any]) -> str:
    return f"learner posteriors — {summary['scope']} ({summary['scope_trades']} trades)"


def _print_table(summary: dict[str, Any], posteriors: tuple[SignalPosterior, ...]) -> None:
    table = Table(title=_title(summary))
    for column in ("signal", "alpha", "beta", "mean", "95 % CI", "trades", "wins", "losses"):
        table.add_column(column, justify="left" if column == "signal" else "right")
    for p in posteriors:
        table.add_row(
            p.signal.value,
            f"{p.alpha:.2f}",
            f"{p.beta:.2f}",
            f"{p.mean:.3f}",
            f"[{p.ci_low:.3f}, {p.ci_high:.3f}]",
            str(p.trades),
            str(p.wins),
            str(p.losses),
        )
    console.print(table)
    enough = "yes" if summary["enough_data"] else "no"
    console.print(
        f"{summary['scope']}: {summary['scope_trades']} trades (min_trades {summary['min_trades']}, enough: {enough}); "
        f"weights use the {summary['weights_use']} posteriors; {summary['recorded_positions']} positions recorded",
        markup=False,
    )
    if summary["regimes"]:
        known = ", ".join(f"{label} ({n})" for label, n in summary["regimes"].items())
        console.print(f"regimes: {known}", markup=False)
