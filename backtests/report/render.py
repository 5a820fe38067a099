"""Render a ``RunView`` with the templates in ``templates/``: the self-contained ``report.html`` here, and
(through ``environment``) every page of ``tradewake dashboard``.

The report inlines the stylesheet, the chart library and ``run.js``, and the chart data as JSON in a
``<script type="application/json">`` block, so the file works offline, e-mailed or archived.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from backtests.report.chart import EXIT_STYLES, WAKE_COLOURS
from backtests.report.files import Bars
from backtests.report.fmt import FILTERS
from backtests.report.timeline import DecisionLine, listed
from backtests.report.view import RunView, load_run_view
from backtests.rundir import RunDir
from core.settings import LearnerSettings

CHART_LIBRARY = "lightweight-charts.standalone.production.js"
CHART_LIBRARY_VERSION = "5.2.1"
STATIC_FILES = (CHART_LIBRARY, "run.js", "style.css")


def static_text(name: str) -> str:
    """One of ``STATIC_FILES``, as shipped in the package."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return _static(name)


@cache
def _static(name: str) -> str:
    return files("backtests.report").joinpath("static", name).read_text(encoding="utf-8")


def environment(*extra: BaseLoader) -> Environment:
    """Jinja with the run templates (after ``extra`` loaders, so a page set can add its own), the filters
    that round numbers for people, autoescaping and undefined names as errors. Without ``extra``, one environment
    per process: it keeps the templates it compiled (about 0.1 s of CPU each time otherwise)."""
    return _run_environment() if not extra else _environment(*extra)


@cache
def _run_environment() -> Environment:
    return _environment()


def _environment(*extra: BaseLoader) -> Environment:
    env = Environment(
        loader=ChoiceLoader([*extra, PackageLoader("backtests.report", "templates")]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(exit_styles=EXIT_STYLES, wake_colours=WAKE_COLOURS)
    return env


def chart_json(view: RunView) -> Markup:
    """The chart data for a ``<script type="application/json">`` block (``</`` escaped so it cannot end it)."""
    text = json.dumps(view.chart, separators=(",", ":")).replace("</", "<\\/")
    return Markup(text)


def run_context(view: RunView) -> dict[str, Any]:
    """What the run body template needs besides the page's own choices."""
    return {"view": view, "quote": _quote(view), "chart_json": chart_json(view) if view.chart else ""}


QUIET_LINES = 2_000
"""The report lists every decision that acted and the latest this many quiet ones: a long run's quiet wakes
(hundreds of thousands for an agent woken every candle) would make a file no browser opens."""


def report_decisions(view: RunView) -> tuple[list[DecisionLine], int]:
    """The decision lines the report lists, in order, and how many quiet ones it leaves out (the oldest)."""
    return listed(view.decisions, QUIET_LINES)


def render_report(view: RunView) -> str:
    env = environment()
    inline = {name: Markup(static_text(name)) for name in STATIC_FILES}
    decisions, left_out = report_decisions(view)
    omitted = (f" The {left_out:,} oldest quiet wakes are not listed here (`tradewake decisions RUN` lists every one)."
               if left_out else "")  # fmt: skip
    held = int(view.agent.get("decisions") or 0) - len(view.decisions)
    if held > 0:  # an agent that declares where it acts: its other wakes were decided in bulk as holds
        omitted += (f" {held:,} quiet wakes the backtest decided in bulk as holds are counted in the metrics but not "
                    "journaled, so not listed (run with --exact to journal every one).")  # fmt: skip
    return env.get_template("report.html.j2").render(
        **run_context(view),
        decisions=decisions,
        decisions_note="Every wake of the run; the list opens on the ones that acted (a trade, a veto, an error "
        "or a memory update). Click a line for the reasoning, the tool calls and their results." + omitted,
        decision_controls="report_controls.html.j2",
        decisions_class="only-acted",
        css=inline["style.css"],
        chart_js=inline[CHART_LIBRARY],
        run_js=inline["run.js"],
        chart_version=CHART_LIBRARY_VERSION,
    )


def write_report(run: RunDir, *, namespace: str, learner: LearnerSettings, title: str | None = None,
                 bars: Bars | None = None) -> Path:  # fmt: skip
    """Render ``run``'s ``report.html`` from its files and store (``bars``: ``bars.csv`` as the caller just wrote
    it, not read back); returns its path. The decisions the report does not list are read in outline."""
    view = load_run_view(run, namespace=namespace, learner=learner, bars=bars, quiet_lines=QUIET_LINES)
    if title:
        view = replace(view, title=title)
    run.report_path.write_text(render_report(view), encoding="utf-8")
    return run.report_path


def _quote(view: RunView) -> str:
    symbol = str(view.facts.get("symbol", ""))
    return symbol.rsplit("/", maxsplit=1)[-1].split(":", maxsplit=1)[0] if "/" in symbol else "quote currency"
