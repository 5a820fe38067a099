"""The live view's managed holdings: the page's requests planned as the commands the CLI queues, the actions the
lifecycle allows per state, and in real Chromium on a store the real engine writes (the operator holding 0.5 BTC on
the simulated exchange): a proposal with its variants, approve from the page, the guard's stop shown, pause, release
back to frozen, each applied by the engine's next step and pushed to the page without a reload."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import SimClock
from core.ports import OperatorCommand
from dashboard.actions import Refused, plan_command
from dashboard.holdings import allowed
from holdings.commands import HoldingsCommand
from holdings.lifecycle import HoldingState
from tests.dashboard.conftest import TOKEN, Live, Runs, off_loop, screenshot, serve
from tests.dashboard.test_actions import post
from tests.engine.test_holdings_flow import APPROVE_AT, holdings_world
from tests.holdings.world import command

NOW = datetime(2025, 1, 2, tzinfo=UTC)
KEY = "BTC-1705000000000-approve-recommended"


def test_each_page_action_is_the_command_the_cli_would_queue() -> None:
    approve = plan_command("holdings-approve", {"key": KEY, "proposal_id": "BTC-1", "confirm": "BTC:recommended"},
                           NOW, "dashboard:ann")  # fmt: skip
    assert isinstance(approve, OperatorCommand)
    assert (approve.kind, approve.args) == ("holdings.approve", {"proposal_id": "BTC-1", "confirm": "BTC:recommended"})
    assert approve.idempotency_key == f"dash-holdings-approve-{KEY}"
    propose = plan_command("holdings-propose", {"key": KEY, "asset": " btc ", "reason": " more\n room "}, NOW, "x")
    assert isinstance(propose, OperatorCommand)
    assert (propose.kind, propose.args) == ("holdings.propose", {"asset": "BTC", "entry": "current", "reason": "more room"})
    pause = plan_command("holdings-pause", {"key": KEY, "asset": "BTC", "ignored": "x"}, NOW, "x")
    assert isinstance(pause, OperatorCommand) and pause.args == {"asset": "BTC", "reason": ""}


@pytest.mark.parametrize(
    ("action", "body", "why"),
    [
        ("holdings-approve", {"key": KEY, "proposal_id": "BTC-1"}, "confirm: Field required"),
        ("holdings-approve", {"key": KEY, "proposal_id": "BTC-1", "confirm": "recommended"}, "confirm: String should"),
        ("holdings-pause", {"key": KEY, "asset": "BTC/USDT"}, "asset: String should match pattern"),
        ("holdings-liquidate", {"key": KEY, "asset": "BTC"}, "unknown holdings action 'liquidate'"),
        ("holdings-release", {"key": "x", "asset": "BTC"}, "idempotency key"),
    ],
)
def test_a_bad_request_is_refused_with_a_message_for_the_operator(action: str, body: dict[str, Any], why: str) -> None:
    refused = plan_command(action, body, NOW, "x")
    assert isinstance(refused, Refused) and why in refused.message, refused


def test_the_actions_offered_are_the_ones_the_lifecycle_allows_the_operator() -> None:
    assert allowed(HoldingState.FROZEN) == ()
    assert allowed(HoldingState.RISK_PROPOSED) == ("approve", "reject")
    assert allowed(HoldingState.MANAGED_ACTIVE) == ("pause", "release")
    assert allowed(HoldingState.MANAGED_PAUSED) == ("resume", "release"), "pausing again changes nothing"
    assert allowed(HoldingState.MANAGED_DRIFT_ALERT) == ("pause", "resume", "release")
    assert allowed(HoldingState.EXIT_EXECUTED) == ("release",)
    assert allowed(HoldingState.RELEASE_PENDING) == ()


def _proposed_world(path: Path) -> Any:
    world = holdings_world(path)
    asyncio.run(world.run(0, APPROVE_AT))
    world.store.submit_command(command(HoldingsCommand.PROPOSE, "p1", at=world.parts.clock.now(), asset="BTC"))
    asyncio.run(world.commands())
    return world


@pytest.fixture
def holdings_store(tmp_path: Path) -> Iterator[Live]:
    """A store the real engine wrote: the operator holds 0.5 BTC and proposal BTC-1 is open."""
    path = tmp_path / "holdings.sqlite3"
    world = off_loop(lambda: _proposed_world(path))
    live = Live(path.resolve(), world, SimClock(world.parts.clock.now()), next_candle=APPROVE_AT)
    try:
        yield live
    finally:
        world.store.close()


def test_the_server_queues_a_holdings_action_only_with_the_token_and_once_per_state(
    runs: Runs, holdings_store: Live
) -> None:
    served = serve(runs, holdings_store)
    body = {"key": KEY, "proposal_id": "BTC-1", "confirm": "BTC:recommended"}
    try:
        assert post(f"{served.url}/actions/holdings-approve", body, {"X-Tradewake": "1"})[0] == 403
        bearer = {"Authorization": f"Bearer {TOKEN}", "X-Tradewake": "1"}
        first = post(f"{served.url}/actions/holdings-approve", body, bearer)
        again = post(f"{served.url}/actions/holdings-approve", body, bearer)
        assert (first[0], first[1]["outcome"], again[1]["outcome"]) == (200, "accepted", "duplicate")
        assert [r.command.kind for r in holdings_store.world.store.pending_commands()] == ["holdings.approve"]
    finally:
        served.stop()


def test_approve_pause_and_release_from_the_page(runs: Runs, holdings_store: Live, page: Any) -> None:
    served = serve(runs, holdings_store)
    page.on("dialog", lambda dialog: dialog.accept())  # the page asks before it hands coins over or takes them back
    try:
        page.goto(f"{served.url}/live")
        assert "risk_proposed" in page.locator("#holdings").inner_text()
        assert page.locator("#proposal-BTC-1 form").count() == 0, "read-only without the token"
        page.goto(f"{served.url}/login?token={TOKEN}")
        page.wait_for_selector("#proposal-BTC-1")
        variants = page.locator("#proposal-BTC-1 table.variants").inner_text()
        assert "conservative" in variants and "recommended" in variants and "aggressive" in variants
        screenshot(page, "live_holdings_proposal")

        page.click("#proposal-BTC-1 form[data-action=holdings-approve]:has(input[value='BTC:recommended']) button")
        page.wait_for_selector("#action-result.ok")
        (queued,) = holdings_store.world.store.pending_commands()
        assert (queued.command.kind, queued.command.args["confirm"]) == ("holdings.approve", "BTC:recommended")
        holdings_store.step()
        page.wait_for_selector("#holding-BTC[data-state=managed_active]", timeout=10_000)
        engine = holdings_store.world.engine
        (position,) = engine.safety.positions()
        assert f"{position.stop_price:,.2f}" in page.locator("#holding-BTC").inner_text(), "the guarded stop is shown"
        screenshot(page, "live_holdings_managed")

        page.click("#holding-BTC form[data-action=holdings-pause] button")
        page.wait_for_selector("#queued-commands")
        holdings_store.step()
        page.wait_for_selector("#holding-BTC[data-state=managed_paused]", timeout=10_000)

        page.click("#holding-BTC form[data-action=holdings-release] button")
        page.wait_for_selector("#queued-commands")
        holdings_store.step()  # the engine applies the release and the guard lets go of the holding in that step
        page.wait_for_selector("#holding-BTC[data-state=frozen]", timeout=10_000)
        assert engine.safety.positions() == ()
        assert holdings_store.world.parts.venue.open_orders() == [], "its stop was cancelled; nothing was sold"
    finally:
        served.stop()
