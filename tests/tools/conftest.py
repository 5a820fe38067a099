from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.engine_desk import RecordingDesk, engine_desk
from tests.tools.helpers import make_request
from tools.context import DecisionSession, ListJournal
from tools.executor import ToolExecutor


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[RecordingDesk]:
    desk = await engine_desk(tmp_path / "desk.sqlite3")
    yield desk
    desk.close()


@pytest.fixture
def journal() -> ListJournal:
    return ListJournal()


@pytest.fixture
def executor(desk: RecordingDesk, journal: ListJournal) -> ToolExecutor:
    session = DecisionSession(request=make_request(), memory_max_chars=200, secrets=("hunter2-secret",))
    return ToolExecutor(desk, journal, session)
