from __future__ import annotations

import pytest

from engine.static_gate import gate_schedule_check
from tests.tools.helpers import make_request, make_snapshot
from tools.context import DecisionSession, ListJournal
from tools.executor import ToolExecutor
from tools.static_desk import StaticDesk


@pytest.fixture
def desk() -> StaticDesk:
    return StaticDesk(snapshots={"BTC/USDT": make_snapshot()}, schedule_check=gate_schedule_check)


@pytest.fixture
def journal() -> ListJournal:
    return ListJournal()


@pytest.fixture
def executor(desk: StaticDesk, journal: ListJournal) -> ToolExecutor:
    session = DecisionSession(request=make_request(), memory_max_chars=200, secrets=("hunter2-secret",))
    return ToolExecutor(desk, journal, session)
