"""The one candle loader on damaged files: each is one CandleDataError naming the file, the line and the
problem, never another exception; odd but good files (gzip named .csv, CRLF, a BOM) load."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from market.candles import CandleDataError, read_candles
from tests.conftest import SHARED_DATA
from tests.robustness.candle_corpus import BadCandles, bad_candle_files, good_variants, real_lines

BAD = bad_candle_files()


@pytest.mark.parametrize("case", BAD, ids=[c.name for c in BAD])
def test_a_damaged_file_is_one_clear_error(tmp_path: Path, case: BadCandles) -> None:
    path = tmp_path / case.file_name
    path.write_bytes(case.content)
    with pytest.raises(CandleDataError) as caught:
        read_candles(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert case.needle in message, message
    if case.line is not None:
        assert f": line {case.line}:" in message, message
    assert "\n" not in message


@pytest.mark.parametrize(("name", "content", "suffix"), good_variants(), ids=[v[0] for v in good_variants()])
def test_odd_but_good_files_load_the_same_candles(tmp_path: Path, name: str, content: bytes, suffix: str) -> None:
    path = tmp_path / f"binance_BTC-USDT_1h_{name}{suffix}"
    path.write_bytes(content)
    frame, report = read_candles(path)
    assert report.timeframe == "1h" and len(frame) == len(real_lines())
    assert frame.iloc[0].tolist() == [float(x) for x in real_lines()[0].split(",")[1:]]


def test_a_given_timeframe_must_be_the_files_spacing(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(("timestamp,open,high,low,close,volume\n" + "\n".join(real_lines()) + "\n").encode())
    assert read_candles(path)[1].timeframe == "1h", "inferred from the spacing"
    with pytest.raises(CandleDataError, match=r"1h apart .* not 5m.*\(timeframe 5m given\)"):
        read_candles(path, "5m")
    with pytest.raises(CandleDataError, match="1h apart"):
        read_candles(path, "2h")
    with pytest.raises(CandleDataError, match="unknown timeframe '7x'"):
        read_candles(path, "7x")
    with pytest.raises(CandleDataError, match="is a directory"):
        read_candles(tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "binance_BTC-USDT_1h.csv",  # 128 missing hours in 28 exchange outages (2018-02-08/09: 33 h)
        "binance_ETH-USDT_15m.csv.gz",  # the 2023-03-24 outage
        "unknown_UNITTEST-BTC_1m.csv",  # 538 irregular steps of 13,681
        "binance_ADA-BTC_4h.csv",
        "binance_BTC-USDT_1M.csv",  # monthly: not a fixed timeframe, refused clearly
    ],
)
def test_real_files_with_exchange_gaps_pass_the_spacing_check(name: str) -> None:
    path = SHARED_DATA / name
    if name.endswith("_1M.csv"):
        with pytest.raises(CandleDataError, match=str(path)):
            read_candles(path)
        return
    frame, report = read_candles(path)
    assert isinstance(frame.index, pd.DatetimeIndex) and report.rows == len(frame)


# ---------------------------------------------------------------- fuzz: any bytes, one kind of error

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.robustness.budget import examples  # noqa: E402

_GOOD = ("timestamp,open,high,low,close,volume\n" + "\n".join(real_lines(40)) + "\n").encode()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """Real candles with random bytes spliced in, cut, or replaced: what a broken download looks like."""
    data = bytearray(_GOOD)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["insert", "delete", "replace", "truncate"])):
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=12))
            case "delete":
                del data[at : at + draw(st.integers(1, 30))]
            case "replace":
                data[at : at + 1] = draw(st.sampled_from([b",", b"\n", b"-", b".", b"e", b"9", b"\x00", b"\xff", b" ", b"\r", b'"', b"\x1f"]))
            case "truncate":
                del data[at:]
    return bytes(data)


@settings(max_examples=examples(default=150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(damaged(), st.binary(max_size=300)))
def test_any_bytes_load_or_fail_with_one_clear_candle_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "binance_BTC-USDT_1h_fuzz.csv"
    path.write_bytes(content)
    try:
        frame, report = read_candles(path)
    except CandleDataError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    assert len(frame) == report.rows > 0
