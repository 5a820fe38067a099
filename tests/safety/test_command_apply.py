"""Commands that fail when the engine applies them (issue 22, item 3): a poison command is finished as
``failed``, journaled and alerted, and never blocks the queue or crash-loops the engine; ``halt`` always
applies, with what it can read. The submission side is ``test_command_checks.py``; a poison command still
reaches the queue from an old client, another tool writing the store, or a hand edit.

On the real simulated exchange with a real SQLite file and a real ``redis-server``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ports import CommandStatus, OperatorCommand, Store
from core.settings import RiskSettings
from core.types import PositionSide, Signal
from safety.alerts import AlertKind
from safety.controls import Controls, apply_command
from safety.proposals import EntryProposal
from safety.verdicts import Approved
from tests.contracts.store_backends import Backend, RedisBackend, SqliteBackend
from tests.safety.simworld import T0, World


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path / "store.sqlite3")
    server = request.getfixturevalue("redis_server")
    return RedisBackend(server.url, namespace=f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[World]:
    w = World.create(tmp_path / "unused.sqlite3", store=backend.open(), delegated=("holdings.",),
                     risk=RiskSettings())
    yield w
    w.store.close()


def submit(store: Store, key: str, kind: str, **args: Any) -> None:
    store.submit_command(OperatorCommand(idempotency_key=key, kind=kind, args=args, submitted_at=T0))


def finished(store: Store, key: str) -> tuple[CommandStatus, dict[str, Any] | None]:
    """How ``key`` was finished (re-submitting a used key answers with the stored outcome)."""
    receipt = store.submit_command(OperatorCommand(idempotency_key=key, kind="probe", submitted_at=T0))
    return receipt.status, receipt.result


def journal_kinds(store: Store, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in store.read_journal() if e.kind == kind]


async def open_long(world: World) -> None:
    [symbol] = world.symbols
    proposal = EntryProposal(symbol=symbol, side=PositionSide.LONG, size_pct=5, stop_loss=Decimal(49_000),
                             signals=(Signal.MOMENTUM,), idempotency_key="e1")
    verdict = world.ex.check(proposal, world.now)
    assert isinstance(verdict, Approved), verdict
    await world.ex.execute(verdict, world.now)


async def test_poison_commands_fail_and_the_halt_behind_them_is_applied(backend: Backend, world: World) -> None:
    assert (await world.reconcile()).ok
    await open_long(world)
    store = world.store
    submit(store, "sleep-forever", "sleep", minutes=9_999_999_999, reason="x")  # the OverflowError
    submit(store, "explode", "explode", reason="x")
    submit(store, "old-client", "sleep", minutes=30, reason="x")
    backend.rewrite_command("old-client", json.dumps({"kind": "sleep", "args": [30], "submitted_at": "yesterday"}))
    submit(store, "holdings.approve-1", "holdings.approve", proposal_id="p1")
    submit(store, "halt-1", "halt", reason=42, flatten="yes", by_old_client=True)

    applied = await world.ex.apply_commands(world.now)

    assert [(a.idempotency_key, a.status) for a in applied] == [
        ("sleep-forever", CommandStatus.FAILED),
        ("explode", CommandStatus.FAILED),
        ("old-client", CommandStatus.FAILED),
        ("halt-1", CommandStatus.APPLIED),
    ]
    controls = world.ex.book.board.controls
    assert controls.halted and controls.halt_reason == "no readable reason given"
    assert not controls.sleeping(world.now + timedelta(minutes=1))
    assert len(world.ex.positions()) == 1, "flatten='yes' is not true: the halt does not close positions on a guess"
    assert finished(store, "sleep-forever")[0] is CommandStatus.FAILED
    assert "--minutes" in str(finished(store, "sleep-forever")[1])
    assert "unknown command kind 'explode'" in str(finished(store, "explode")[1])
    assert "stored command does not read" in str(finished(store, "old-client")[1])
    status, result = finished(store, "halt-1")
    assert status is CommandStatus.APPLIED and result is not None and len(result["unread"]) == 2
    assert [r.command.idempotency_key for r in store.pending_commands()] == ["holdings.approve-1"], "not mine"

    failures = journal_kinds(store, "command.failed")
    assert [f["command"]["idempotency_key"] for f in failures] == ["sleep-forever", "explode", "old-client"]
    assert all(f["status"] == "failed" and f["result"]["error"] for f in failures)
    assert failures[2]["command"]["args"] == {} and failures[2]["command"]["kind"] == "sleep"
    alerts = [a.dedup_key for a in world.notifier.alerts if a.kind in {AlertKind.COMMAND_FAILED, AlertKind.HALT}]
    assert alerts == ["command_failed:sleep-forever", "command_failed:explode", "command_failed:old-client",
                      "halt:halt-1"]

    events_before = len(store.read_journal())
    assert (await world.restart()).ok  # a new process over the same store and exchange
    assert await world.ex.apply_commands(world.now) == [], "nothing failed is met again"
    await world.step()
    assert world.ex.book.board.controls.halted
    assert journal_kinds(store, "command.failed") == failures
    assert len([e for e in store.read_journal()[events_before:] if e.kind.startswith("command.")]) == 0


async def test_an_unreadable_halt_still_halts_and_flattens_only_on_a_clear_true(backend: Backend, world: World) -> None:
    assert (await world.reconcile()).ok
    await open_long(world)
    submit(world.store, "halt-old", "halt", reason="placeholder")
    stored = {"kind": "halt", "args": {"reason": "exchange\nis down", "flatten": True}, "submitted_at": "garbage"}
    backend.rewrite_command("halt-old", json.dumps(stored))

    [applied] = await world.ex.apply_commands(world.now)

    assert applied.status is CommandStatus.APPLIED and applied.result["flatten"] is True
    assert "stored command does not read" in applied.result["unread"][0]
    controls = world.ex.book.board.controls
    assert controls.halted and controls.halt_reason == "exchange is down"
    assert world.ex.positions() == (), "a clear flatten=true is honoured"
    assert world.store.pending_commands() == []


async def test_an_unreadable_command_with_a_delegated_prefix_is_failed_here(backend: Backend, world: World) -> None:
    """No applier can trust what an unreadable command says: safety fails it even under ``holdings.``."""
    submit(world.store, "h-1", "holdings.release", asset="ETH")
    backend.rewrite_command("h-1", '{"kind": "holdings.release", "args": "ETH"}')
    [applied] = await world.ex.apply_commands(world.now)
    assert applied.status is CommandStatus.FAILED and world.store.pending_commands() == []


# ---------------------------------------------------------------- the pure decision, for any input

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_ARGS = st.dictionaries(
    st.sampled_from(["reason", "minutes", "flatten", "other"]) | st.text(max_size=8), _JSON, max_size=4
)
_KINDS = st.sampled_from(["halt", "sleep", "resume", "explode", "holdings.approve"]) | st.text(min_size=1, max_size=64)


@settings(max_examples=300, deadline=None)
@given(kind=_KINDS, args=_ARGS, halted=st.booleans(), problem=st.none() | st.just("stored command does not read"))
def test_applying_any_command_never_raises_and_a_halt_always_halts(
    kind: str, args: dict[str, Any], halted: bool, problem: str | None
) -> None:
    controls = Controls(halted=True, halt_reason="before", halted_at=T0) if halted else Controls()
    command = OperatorCommand(idempotency_key="k", kind=kind, args=args, submitted_at=T0)
    outcome = apply_command(controls, command, T0, problem=problem)
    if kind == "halt":
        assert outcome.status is CommandStatus.APPLIED and outcome.controls.halted
        assert outcome.flatten is (args.get("flatten") is True)
        assert outcome.controls.halt_reason and outcome.controls.halt_reason.isprintable()
    elif outcome.status is CommandStatus.FAILED:
        assert outcome.controls == controls and outcome.result["error"] and not outcome.flatten
    else:
        assert outcome.status is CommandStatus.APPLIED and kind in {"sleep", "resume"} and problem is None
