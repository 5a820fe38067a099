"""Operator actions: the pure planning of a command from the page's request, and the real server's gate on it
(token, same-site header), idempotency through the store's queue, and the pages' refusals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest

from core.ports import OperatorCommand
from dashboard.actions import Refused, plan_command
from tests.dashboard.conftest import TOKEN, Live, Runs, serve

NOW = datetime(2025, 1, 2, tzinfo=UTC)
KEY = "0f1e2d3c-4b5a-6978"


def test_plan_turns_each_action_into_the_command_the_cli_would_queue() -> None:
    halt = plan_command("halt", {"key": KEY, "reason": "  news\\nat 14:00 "}, NOW, "dashboard:ann")
    assert isinstance(halt, OperatorCommand)
    assert (halt.kind, halt.args) == ("halt", {"reason": "news\\nat 14:00", "flatten": False})
    flatten = plan_command("flatten", {"key": KEY, "reason": "exit all"}, NOW, "x")
    assert isinstance(flatten, OperatorCommand) and flatten.kind == "halt" and flatten.args["flatten"] is True
    sleep = plan_command("sleep", {"key": KEY, "reason": "FOMC", "minutes": 90}, NOW, "x")
    assert isinstance(sleep, OperatorCommand) and sleep.args == {"reason": "FOMC", "minutes": 90}
    resume = plan_command("resume", {"key": KEY}, NOW, "x")
    assert isinstance(resume, OperatorCommand) and resume.kind == "resume"
    assert halt.idempotency_key != flatten.idempotency_key, "the action is part of the key"


@pytest.mark.parametrize(
    ("action", "body", "why"),
    [
        ("halt", {"key": KEY}, "needs a reason"),
        ("sleep", {"key": KEY, "reason": "r", "minutes": 0}, "whole number of minutes"),
        ("sleep", {"key": KEY, "reason": "r", "minutes": True}, "whole number of minutes"),
        ("sleep", {"key": KEY, "reason": "r", "minutes": 10**6}, "whole number of minutes"),
        ("halt", {"key": "short", "reason": "r"}, "idempotency key"),
        ("liquidate", {"key": KEY, "reason": "r"}, "unknown action"),
    ],
)
def test_plan_refuses_with_a_message_for_the_operator(action: str, body: dict[str, Any], why: str) -> None:
    refused = plan_command(action, body, NOW, "x")
    assert isinstance(refused, Refused) and why in refused.message


def post(url: str, body: object, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_server_queues_only_with_the_token_and_only_once_per_key(runs: Runs, live_store: Live) -> None:
    served = serve(runs, live_store)
    bearer = {"Authorization": f"Bearer {TOKEN}", "X-Tradewake": "1"}
    body = {"key": KEY, "reason": "risk event"}
    try:
        assert post(f"{served.url}/actions/halt", body, {"X-Tradewake": "1"})[0] == 403, "no token: read-only"
        assert post(f"{served.url}/actions/halt", body, {"Authorization": "Bearer wrong-token-0000000000",
                                                         "X-Tradewake": "1"})[0] == 403  # fmt: skip
        assert post(f"{served.url}/actions/halt", body, {"Authorization": f"Bearer {TOKEN}"})[0] == 403, "no header"
        assert post(f"{served.url}/actions/halt", body, {**bearer, "Origin": "http://evil.example"})[0] == 403
        assert live_store.world.store.pending_commands() == []

        status, first = post(f"{served.url}/actions/halt", body, bearer)
        assert (status, first["outcome"]) == (200, "accepted")
        status, again = post(f"{served.url}/actions/halt", body, bearer)
        assert (status, again["outcome"]) == (200, "duplicate"), "a retried click is not a second command"
        assert len(live_store.world.store.pending_commands()) == 1

        status, refused = post(f"{served.url}/actions/sleep", {"key": KEY, "reason": "r"}, bearer)
        assert status == 400 and "minutes" in refused["message"]
    finally:
        served.stop()


def test_pages_refuse_what_they_cannot_show(runs: Runs) -> None:
    served = serve(runs, None)
    try:
        assert get(f"{served.url}/runs/..%2F..%2Fetc")[0] == 404
        assert get(f"{served.url}/runs/no-such-run")[0] == 404
        assert get(f"{served.url}/runs/compare?run=only-one")[0] == 400
        assert get(f"{served.url}/static/../../pyproject.toml")[0] == 404
        assert get(f"{served.url}/login?token=wrong")[0] == 403
        status, live = get(f"{served.url}/live")
        assert status == 200 and "No live store yet" in live, "a missing SQLite store is reported, not created"
    finally:
        served.stop()
