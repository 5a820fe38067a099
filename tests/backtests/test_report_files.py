"""The run files' writers, made cheaper for long runs, against what they did before: ``bars.csv`` byte for byte as
``csv.writer`` writes its rows, and the charts' dates exactly the naive-UTC times they were."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backtests.report.files import BAR_COLUMNS, read_bars_csv, write_bars_csv
from backtests.report.plots import _dates

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(times, floats, floats), max_size=30))
def test_bars_csv_is_what_csv_writer_writes(tmp_path_factory: object, rows: list[tuple[datetime, float, float]]) -> None:
    folder = Path(str(tmp_path_factory.mktemp("bars")))  # type: ignore[attr-defined]
    at, closes, equity = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    bars = write_bars_csv(folder / "bars.csv", at, closes, equity)
    with (folder / "oracle.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(BAR_COLUMNS)
        for when, close, value in rows:
            writer.writerow([when.isoformat(), repr(close), repr(value)])
    assert (folder / "bars.csv").read_bytes() == (folder / "oracle.csv").read_bytes()
    back = read_bars_csv(folder / "bars.csv")
    assert back.times == bars.times and np.array_equal(back.equity, bars.equity, equal_nan=True)


@given(at=st.lists(times, max_size=40))
def test_chart_dates_are_the_naive_utc_times(at: list[datetime]) -> None:
    naive = np.array([t.astimezone(UTC).replace(tzinfo=None) for t in at], dtype="datetime64[ms]")
    assert np.array_equal(_dates(at), naive)
