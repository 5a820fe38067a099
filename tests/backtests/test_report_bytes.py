"""The report's cheaper reading of the journal writes the same ``report.html``, byte for byte, as the way it was read
before: every decision validated as a ``DecisionRecord`` and turned into a line with all its tool calls formatted.

That way is kept here as the oracle (``oracle_line``, ``oracle_vetoes``: the code ``backtests/report/timeline.py``
ran before it read payloads as they are, formatted tool calls only for the lines a page shows and read the lines a
report leaves out in outline, without their tool results). Real runs: the
rules agent on real 5m candles (spot), the SMA agent on a USDT-M perpetual, the scripted chaos agent (every tool,
vetoes, take-profits, trailing stops, every wake condition) spot and futures, and the dashboard's LLM run (the real
SDK against the local Messages server: reasoning, a veto, a memory update, tokens and dollars). Each report is
rendered with the report's own cap of quiet lines and with a cap of 3, so that most quiet lines are left out.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agent.records import DECISION_EVENT
from backtests.report import render
from backtests.report.chart import chart_data
from backtests.report.files import read_bars_csv, read_trades_csv
from backtests.report.journal import read_run_journal
from backtests.report.render import render_report, write_report
from backtests.report.timeline import VetoRow
from backtests.report.view import RunView, load_run_view
from backtests.rundir import RunDir
from backtests.runner import run_backtest
from core.settings import LearnerSettings
from core.types import DecisionRecord, ToolCallRecord
from store.sqlite_store import SqliteStore
from tests.backtests.test_fast_path import SERIES, Series, request, slice_of
from tests.dashboard.conftest import Runs, runs  # noqa: F401  (the dashboard's LLM run, a session fixture)
from tools.registry import SIDE_EFFECT_TOOLS

NAMESPACE = "tw"
RUNS = {  # name: (series, agent, seed, offset, candles)
    "rules-5m-spot": (SERIES[1], "rules", 1, 2_000, 1_500),
    "sma-1h-futures": (SERIES[2], "sma", 2, 3_000, 1_500),
    "chaos-5m-spot": (SERIES[1], "chaos", 3, 5_000, 1_200),
    "chaos-1h-futures": (SERIES[2], "chaos", 4, 5_000, 1_200),
}


@pytest.fixture(scope="module")
def backtests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunDir]:
    base = tmp_path_factory.mktemp("report-bytes")
    done = {}
    for name, (series, agent, seed, offset, candles) in RUNS.items():
        data = slice_of(Series(series.path, series.symbol), offset, candles)
        done[name] = asyncio.run(run_backtest(request(data, agent, seed, base / name, exact=False))).run
    return done


# The oracle: how the report read decisions before (timeline.py as it was), over validated records.


@dataclass(frozen=True, slots=True)
class OracleTool:
    name: str
    arguments: str
    result: str
    status: str
    veto_message: str | None


@dataclass(frozen=True, slots=True)
class OracleLine:
    seq: int
    at: datetime
    wake: str
    wake_detail: str
    action: str
    kind: str
    backend: str
    model: str | None
    fallback: str | None
    reasoning: str
    memory_update: str | None
    next_check_seconds: int | None
    wake_conditions: tuple[str, ...]
    tools: tuple[OracleTool, ...]
    tokens_in: int
    tokens_out: int
    cache_read: int
    cost_usd: float
    latency_ms: int
    error: str | None

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


def oracle_line(seq: int, record: DecisionRecord) -> OracleLine:
    usage = record.usage
    kind = _kind(record)
    cut = 200 if kind == "quiet" else 600
    return OracleLine(
        seq=seq, at=record.as_of, wake=record.wake.kind.value, wake_detail=record.wake.detail, action=_action(record),
        kind=kind, backend=record.backend, model=record.model, fallback=record.fallback_reason,
        reasoning=record.reasoning, memory_update=record.memory_update, next_check_seconds=record.next_check_seconds,
        wake_conditions=tuple(_condition_text(c) for c in record.wake_conditions),
        tools=tuple(_tool_line(call, cut) for call in record.tool_calls),
        tokens_in=usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens,
        tokens_out=usage.output_tokens, cache_read=usage.cache_read_input_tokens, cost_usd=usage.cost_usd,
        latency_ms=record.latency_ms, error=record.error,
    )  # fmt: skip


def oracle_vetoes(records: list[tuple[int, DecisionRecord]]) -> list[VetoRow]:
    counts: Counter[str] = Counter()
    last: dict[str, tuple[datetime, str]] = {}
    first: dict[str, datetime] = {}
    for _, record in records:
        for call in record.tool_calls:
            if call.veto is None:
                continue
            counts[call.veto.code] += 1
            first.setdefault(call.veto.code, record.as_of)
            last[call.veto.code] = (record.as_of, call.veto.message)
    return [VetoRow(code, n, last[code][1], first[code], last[code][0]) for code, n in counts.most_common()]


def _side_effects(record: DecisionRecord) -> list[ToolCallRecord]:
    return [c for c in record.tool_calls if c.name in SIDE_EFFECT_TOOLS]


def _kind(record: DecisionRecord) -> str:
    effects = _side_effects(record)
    if any(c.veto is None and not c.is_error for c in effects):
        return "trade"
    if any(c.veto is not None for c in effects):
        return "veto"
    if record.error or any(c.is_error for c in record.tool_calls):
        return "error"
    return "quiet"


def _action(record: DecisionRecord) -> str:
    parts = [_effect_text(call) for call in _side_effects(record)]
    if record.memory_update is not None:
        parts.append("memory updated")
    if not parts:
        parts.append("no trade")
    if record.error:
        parts.append(f"error: {record.error.split(':', 1)[0]}")
    return "; ".join(parts)


def _effect_text(call: ToolCallRecord) -> str:
    args = call.arguments
    if call.name == "place_order":
        what = f"{args.get('side', '?')} {_short_number(args.get('size_pct'))} % @ {args.get('order_type', 'market')}"
    elif call.name == "close_position":
        fraction = args.get("fraction", 1)
        what = "close" if fraction in (1, 1.0) else f"close {_short_number(float(fraction) * 100)} %"
    else:
        what = f"stop -> {args.get('stop_price', '?')}"
    if call.veto is not None:
        return f"{what}: vetoed {call.veto.code}"
    if call.is_error:
        return f"{what}: refused"
    approved = call.result.get("approved") if isinstance(call.result, dict) else None
    capped = approved.get("capped_from") if isinstance(approved, dict) else None
    return f"{what} (capped by safety)" if capped is not None else what


def _short_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _tool_line(call: ToolCallRecord, cut: int) -> OracleTool:
    status = f"vetoed {call.veto.code}" if call.veto else ("error" if call.is_error else "ok")
    return OracleTool(call.name, _compact(call.arguments, 600), _compact(call.result, cut), status,
                      call.veto.message if call.veto else None)  # fmt: skip


def _compact(value: object, cut: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= cut else text[: cut - 1] + "…"


def _condition_text(condition: dict[str, Any]) -> str:
    kind = condition.get("kind", "?")
    details = ", ".join(f"{k}={v}" for k, v in sorted(condition.items()) if k not in ("kind", "note") and v is not None)
    note = condition.get("note")
    return f"{kind} ({details})" + (f": {note}" if note else "")


def oracle_view(run: RunDir) -> RunView:
    """``run``'s view with its decisions, vetoes and chart wakes as the report read them before."""
    store = SqliteStore(run.store_path, namespace=NAMESPACE)
    try:
        events = [e for e in store.read_journal() if e.kind == DECISION_EVENT]
        journal = read_run_journal(store, LearnerSettings())
    finally:
        store.close()
    records = [(e.seq, DecisionRecord.model_validate(e.payload)) for e in events]
    lines = [oracle_line(seq, record) for seq, record in records]
    view = load_run_view(run, namespace=NAMESPACE, learner=LearnerSettings())
    trades = read_trades_csv(run.path / "trades.csv")
    chart = chart_data(read_bars_csv(run.path / "bars.csv"), trades, journal.stops, lines)  # type: ignore[arg-type]
    return replace(view, decisions=lines, vetoes=oracle_vetoes(records), chart=chart)  # type: ignore[arg-type]


def assert_same_report(run: RunDir) -> RunView:
    write_report(run, namespace=NAMESPACE, learner=LearnerSettings())
    expected = oracle_view(run)
    assert run.report_path.read_bytes() == render_report(expected).encode("utf-8")
    return expected


@pytest.mark.parametrize("quiet_lines", [render.QUIET_LINES, 3], ids=["every-quiet-line", "3-quiet-lines"])
def test_the_report_of_real_runs_is_the_one_rendered_from_validated_records(
    backtests: dict[str, RunDir], runs: Runs, quiet_lines: int, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setattr(render, "QUIET_LINES", quiet_lines)
    kinds: Counter[str] = Counter()
    vetoes = 0
    for run in (*backtests.values(), runs.llm.run):
        view = assert_same_report(run)
        kinds.update(d.kind for d in view.decisions)
        kinds.update("memory" for d in view.decisions if d.memory_update is not None)
        vetoes += len(view.vetoes)
    assert {"trade", "veto", "quiet", "memory"} <= set(kinds), kinds  # what the runs cover
    assert vetoes > 0 and kinds["quiet"] > 3 * len(RUNS)


def test_a_journaled_line_is_the_line_of_its_validated_record(backtests: dict[str, RunDir], runs: Runs) -> None:  # noqa: F811
    """Line by line, field by field, tool call by tool call (what the report does not show included)."""
    from backtests.report.timeline import decision_line, journaled_line

    for run in (*backtests.values(), runs.llm.run):
        store = SqliteStore(run.store_path, namespace=NAMESPACE)
        try:
            events = [e for e in store.read_journal() if e.kind == DECISION_EVENT]
        finally:
            store.close()
        for event in events:
            record = DecisionRecord.model_validate(event.payload)
            expected = oracle_line(event.seq, record)
            for line in (journaled_line(event.seq, event.payload), decision_line(event.seq, record)):
                shown = {name: getattr(line, name) for name in OracleLine.__slots__}  # type: ignore[attr-defined]
                shown["tools"] = tuple(OracleTool(t.name, t.arguments, t.result, t.status, t.veto_message)
                                       for t in line.tools)  # fmt: skip
                assert OracleLine(**shown) == expected
                assert line.vetoes == tuple((c.veto.code, c.veto.message) for c in record.tool_calls if c.veto)


def test_a_payload_the_engine_did_not_write_is_validated(runs: Runs) -> None:  # noqa: F811
    from pydantic import ValidationError

    from backtests.report.timeline import journaled_line

    store = SqliteStore(runs.llm.run.store_path, namespace=NAMESPACE)
    try:
        payload = next(e.payload for e in store.read_journal() if e.kind == DECISION_EVENT)
    finally:
        store.close()
    with pytest.raises(ValidationError):
        journaled_line(1, {**payload, "unknown": 1})
    older = {k: v for k, v in payload.items() if k not in ("fallback_reason", "error")}  # defaults filled in
    assert journaled_line(1, older) == journaled_line(1, {**payload, "fallback_reason": None, "error": None})


def test_the_report_files_are_only_report_html(backtests: dict[str, RunDir], tmp_path: Path) -> None:
    """``write_report`` writes ``report.html`` and nothing else (what the byte comparison above covers)."""
    run = backtests["rules-5m-spot"]
    before = {p.name: p.stat().st_mtime_ns for p in run.path.iterdir()}
    write_report(run, namespace=NAMESPACE, learner=LearnerSettings())
    after = {p.name: p.stat().st_mtime_ns for p in run.path.iterdir()}
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed <= {"report.html", "store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm"}


def test_a_report_reads_the_decisions_it_does_not_list_in_outline(backtests: dict[str, RunDir]) -> None:
    """With a cap of 3 quiet lines most lines are outlines; the listed ones are read in full (their bytes above)."""
    from backtests.report.timeline import listed

    view = load_run_view(backtests["chaos-5m-spot"], namespace=NAMESPACE, learner=LearnerSettings(), quiet_lines=3)
    shown, left_out = listed(view.decisions, 3)
    assert left_out > 0 and all(line.detailed for line in shown)
    outlines = [line for line in view.decisions if not line.detailed]
    assert len(outlines) == left_out
    with pytest.raises(ValueError, match="read in outline"):
        _ = outlines[0].tools
    full = load_run_view(backtests["chaos-5m-spot"], namespace=NAMESPACE, learner=LearnerSettings())
    assert all(line.detailed for line in full.decisions)
    assert [replace(line, detailed=True) for line in view.decisions if line.detailed] == [
        line for line in full.decisions if line.seq in {s.seq for s in shown}
    ]
    assert view.vetoes == full.vetoes and view.chart == full.chart


def test_an_outline_is_the_payload_without_its_first_16_tool_results(backtests: dict[str, RunDir]) -> None:
    from backtests.report.journal import OUTLINE

    store = SqliteStore(backtests["chaos-1h-futures"].store_path, namespace=NAMESPACE)
    try:
        events = [e for e in store.read_journal() if e.kind == DECISION_EVENT]
        outlines = store.read_journal_outlines(DECISION_EVENT, OUTLINE)
        assert store.read_journal_outlines(DECISION_EVENT, (), after_seq=events[-2].seq) == [
            (events[-1].seq, events[-1].payload)
        ]
        assert store.read_journal_outlines(DECISION_EVENT, OUTLINE[:1], after_seq=events[0].seq, limit=1) == [
            (events[1].seq, {**events[1].payload, "tool_calls": [
                {k: v for k, v in call.items() if k != "result" or i > 0}
                for i, call in enumerate(events[1].payload["tool_calls"])]})
        ]  # fmt: skip
    finally:
        store.close()
    assert [seq for seq, _ in outlines] == [e.seq for e in events]
    for (_, outline), event in zip(outlines, events, strict=True):
        calls = [{k: v for k, v in call.items() if k != "result" or i >= 16}
                 for i, call in enumerate(event.payload["tool_calls"])]  # fmt: skip
        assert outline == {**event.payload, "tool_calls": calls}
        assert list(outline) == list(event.payload)


def test_a_batched_store_s_outlines_see_its_batch(tmp_path: Path) -> None:
    from core.ports import NewEvent
    from store.batched import BatchedSqliteStore

    store = BatchedSqliteStore(tmp_path / "store.sqlite3", NAMESPACE, flush_every=1_000)
    try:
        at = datetime.fromisoformat("2025-01-01T00:00:00+00:00")
        store.append(NewEvent(kind="x", at=at, payload={"calls": [{"result": 1, "name": "a"}], "n": 1}))
        assert store.read_journal_outlines("x", ("$.calls[0].result",)) == [(1, {"calls": [{"name": "a"}], "n": 1})]
    finally:
        store.close()
