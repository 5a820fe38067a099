"""The wire's rules as pure functions: signatures, timestamps, seeded faults, request weight."""

from __future__ import annotations

import json
from pathlib import Path

import ccxt.pro as ccxt_pro
import pytest

from tests.venue.ccxt_client import API_KEY, API_SECRET
from venue import auth
from venue.auth import Credentials
from venue.errors import BinanceError
from venue.faults import FaultConfig, FaultPlan, FaultRule, WireFault, parse_spec
from venue.weights import Limits, WeightMeter

CREDENTIALS = Credentials(API_KEY, API_SECRET)
NOW = 1_700_000_000_000


def signed(payload: str) -> str:
    return f"{payload}&signature={auth.sign(payload, API_SECRET)}"


def code_of(call: object) -> int:
    with pytest.raises(BinanceError) as raised:
        call()  # type: ignore[operator]
    return raised.value.code


def check(query: str = "", body: str = "", key: str = API_KEY, now: int = NOW) -> None:
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(query)) | dict(parse_qsl(body))
    auth.check_signed(query, body, params=params, headers={"X-MBX-APIKEY": key}, credentials=CREDENTIALS, now_ms=now)


def test_a_signature_over_the_query_or_the_body_is_accepted() -> None:
    check(query=signed(f"symbol=BTCUSDT&timestamp={NOW}"))
    check(body=signed(f"symbol=BTCUSDT&side=BUY&timestamp={NOW}&recvWindow=10000"))


def test_mixed_query_and_body_are_signed_as_one_concatenated_string_like_binance_documents() -> None:
    query, body = "symbol=LTCBTC&side=BUY", f"quantity=1&timestamp={NOW}"
    signature = auth.sign(query + body, API_SECRET)
    check(query=query, body=f"{body}&signature={signature}")


def test_wrong_signature_key_and_stale_timestamps_get_binance_s_codes() -> None:
    assert code_of(lambda: check(query=f"timestamp={NOW}&signature={'0' * 64}")) == -1022
    assert code_of(lambda: check(query=signed(f"timestamp={NOW}"), key="someone-else")) == -2015
    assert code_of(lambda: check(query=signed(f"timestamp={NOW}"), key="")) == -2014
    assert code_of(lambda: check(query=signed(f"timestamp={NOW - 5_001}"))) == -1021
    assert code_of(lambda: check(query=signed(f"timestamp={NOW + 1_000}"))) == -1021
    check(query=signed(f"timestamp={NOW - 9_000}&recvWindow=10000"))
    assert code_of(lambda: check(query=signed(f"timestamp={NOW}&recvWindow=70000"))) == -1131
    assert code_of(lambda: check(query=signed("symbol=BTCUSDT"))) == -1102


def test_the_websocket_api_signature_is_what_ccxt_signs() -> None:
    exchange = ccxt_pro.binance({"apiKey": API_KEY, "secret": API_SECRET})
    params = exchange.sign_params({})
    auth.check_ws_api_signature(params, CREDENTIALS, int(params["timestamp"]))
    assert code_of(lambda: auth.check_ws_api_signature({**params, "signature": "ab" * 32}, CREDENTIALS,
                                                       int(params["timestamp"]))) == -1022


def test_credentials_never_print_their_secret() -> None:
    assert API_SECRET not in repr(CREDENTIALS)


# ---------------------------------------------------------------- faults


def test_a_fault_rule_on_the_command_line() -> None:
    rule = parse_spec("timeout_after_accept=0.25@POST /fapi/v1/order")
    assert (rule.kind, rule.rate, rule.paths) == (WireFault.TIMEOUT_AFTER_ACCEPT, 0.25, ("POST /fapi/v1/order",))
    assert parse_spec("ws_drop").rate == 1.0
    with pytest.raises(ValueError, match="KIND"):
        parse_spec("meteor=0.5")


def test_rules_match_by_method_and_path_or_prefix() -> None:
    assert FaultRule(kind=WireFault.SERVER_ERROR).matches("GET", "/api/v3/account")
    assert FaultRule(kind=WireFault.SERVER_ERROR, paths=("POST /api/v3/order",)).matches("POST", "/api/v3/order")
    assert not FaultRule(kind=WireFault.SERVER_ERROR, paths=("POST /api/v3/order",)).matches("GET", "/api/v3/order")
    assert FaultRule(kind=WireFault.SERVER_ERROR, paths=("/fapi/*",)).matches("DELETE", "/fapi/v1/algoOrder")


def fired(plan: FaultPlan, requests: int) -> list[tuple[int, str]]:
    out = []
    for index in range(requests):
        rule = plan.draw_request("POST", "/api/v3/order")
        if rule is not None:
            out.append((index, rule.kind.value))
    return out


def test_the_same_seed_and_requests_meet_the_same_faults() -> None:
    config = FaultConfig(seed=7, rules=(FaultRule(kind=WireFault.SERVER_ERROR, rate=0.2),
                                        FaultRule(kind=WireFault.RATE_LIMIT, rate=0.1)))
    first, second = fired(FaultPlan(config), 200), fired(FaultPlan(config), 200)
    assert first == second and 20 < len(first) < 100
    other = fired(FaultPlan(config.model_copy(update={"seed": 8})), 200)
    assert other != first


def test_after_and_times_bound_when_a_rule_fires() -> None:
    plan = FaultPlan(FaultConfig(rules=(FaultRule(kind=WireFault.SERVER_ERROR, after=2, times=2),)))
    assert fired(plan, 6) == [(2, "server_error"), (3, "server_error")]


def test_stream_and_order_kinds_are_drawn_at_their_own_moments() -> None:
    plan = FaultPlan(FaultConfig(rules=(FaultRule(kind=WireFault.WS_DROP), FaultRule(kind=WireFault.DELAY_FILL,
                                                                                    times=1))))
    assert plan.draw_request("POST", "/api/v3/order") is None
    assert plan.draw_order("POST", "/api/v3/order") and not plan.draw_order("POST", "/api/v3/order")
    assert [r.kind for r in plan.draw_step()] == [WireFault.WS_DROP]


def test_a_ban_lasts_its_retry_after() -> None:
    plan = FaultPlan()
    until = plan.ban(NOW, FaultRule(kind=WireFault.BAN, retry_after_s=3))
    assert until == NOW + 3000 and plan.ban_active(NOW + 2999) and not plan.ban_active(NOW + 3000)


def test_fault_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "faults.toml"
    toml.write_text('seed = 3\n[[rules]]\nkind = "ban"\nretry_after_s = 9\npaths = ["/api/v3/*"]\n')
    data = {"seed": 3, "rules": [{"kind": "ban", "retry_after_s": 9, "paths": ["/api/v3/*"]}]}
    (tmp_path / "faults.json").write_text(json.dumps(data))
    assert FaultConfig.load(toml) == FaultConfig.load(tmp_path / "faults.json")
    (tmp_path / "bad.json").write_text(json.dumps({"rules": [{"kind": "ban", "rate": 2}]}))
    with pytest.raises(ValueError, match="rate"):
        FaultConfig.load(tmp_path / "bad.json")


# ---------------------------------------------------------------- weight


def test_weight_and_order_counts_per_window_and_429_over_the_limit() -> None:
    meter = WeightMeter(Limits.binance("spot", weight_per_minute=50))
    assert meter.charge(20, order=False, now_ms=NOW) is None
    assert meter.charge(20, order=True, now_ms=NOW + 1) is None
    assert meter.headers(NOW + 2, order=True) == {
        "X-MBX-USED-WEIGHT-1M": "40", "X-MBX-ORDER-COUNT-10S": "1", "X-MBX-ORDER-COUNT-1D": "1"}
    over = meter.charge(20, order=False, now_ms=NOW + 3)
    assert over is not None and over.status == 429 and over.code == -1003
    minute_end = NOW - NOW % 60_000 + 60_000
    assert over.headers["Retry-After"] == str(-(-(minute_end - NOW - 3) // 1000))
    assert meter.charge(20, order=False, now_ms=minute_end) is None
    assert meter.headers(minute_end, order=False) == {"X-MBX-USED-WEIGHT-1M": "20"}


def test_order_rate_limits_answer_1015() -> None:
    meter = WeightMeter(Limits.binance("future"))
    for index in range(300):
        assert meter.charge(0, order=True, now_ms=NOW + index) is None
    over = meter.charge(0, order=True, now_ms=NOW + 300)
    assert over is not None and over.code == -1015 and "10 SECOND" in over.msg
    assert "X-MBX-ORDER-COUNT-1M" in meter.headers(NOW, order=True)
