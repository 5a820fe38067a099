"""The venue's own record of everything that happened to the account, independent of any client.

One record per accepted order (by client id), rejection, trigger, fill, cancel, expiry,
liquidation, funding payment and injected fault, each with the venue (replayed) time and the wall
time. ``GET /_venue/ledger`` serves it; with ``--ledger FILE`` every record is also appended to a
JSONL file as it happens (flushed per line, so a crashed venue leaves a complete prefix). The chaos
tests check their invariants here (no duplicate client ids or trade ids, stops alive), never from
what the bot believes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from core.timeframes import ms_to_datetime


class Ledger:
    def __init__(self, path: Path | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self.path = path
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def record(self, kind: str, *, at_ms: int, wall_ms: int, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": len(self.records) + 1,
            "kind": kind,
            "at": ms_to_datetime(at_ms).isoformat().replace("+00:00", "Z"),
            "at_ms": at_ms,
            "wall_ms": wall_ms,
            **fields,
        }
        self.records.append(entry)
        if self._file is not None:
            self._file.write(json.dumps(entry, sort_keys=True) + "\n")
            self._file.flush()
        return entry

    def since(self, seq: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """Records after ``seq`` (optionally of one kind), oldest first."""
        return [r for r in self.records[max(seq, 0):] if kind is None or r["kind"] == kind]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
