"""A kill between a close's commit and the learner's leaves a close the learner never saw; the next start learns it,
exactly once (the two commits are separate transactions: safety's book and the learner's ledger)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.ports import Write
from learning.persistence import LEDGER_PREFIX, STATE_KEY
from tests.engine.helpers import build_world, entry


def test_a_close_the_learner_missed_before_a_crash_is_learned_once_at_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = build_world(path, {})
    first.agent.script[30] = [entry(stop=round(first.candles[30].close * 0.97, 2))]  # type: ignore[union-attr]
    reports = asyncio.run(first.run(0, 400))
    (closed,) = [t for r in reports for t in r.closed]
    assert first.engine.learner.is_recorded(closed.position_id)
    # The state a SIGKILL right after safety's commit leaves: the close is in the store, the learner never saw it.
    forgotten = [STATE_KEY, *first.store.keys(LEDGER_PREFIX)]
    first.store.transact([Write(key=key, value=None) for key in forgotten])
    first.store.close()

    second = build_world(path, {}, parts=first.parts)
    assert second.engine.learner.is_recorded(closed.position_id), "learned at the start"
    assert len(second.engine.learner.state.ledger) == 1
    second.store.close()
    third = build_world(path, {}, parts=first.parts)
    assert len(third.engine.learner.state.ledger) == 1, "and only once"
    third.store.close()
