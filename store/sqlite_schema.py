"""The SQLite store's schema, created on open and versioned with ``PRAGMA user_version``."""

from __future__ import annotations

import sqlite3

from core.errors import OperationalError

SCHEMA_VERSION = 3

_SCHEMA_V1 = """
CREATE TABLE docs (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    version   INTEGER NOT NULL CHECK (version >= 1),
    value     TEXT,                                   -- canonical JSON; NULL marks a deleted key
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

CREATE TABLE journal (
    namespace TEXT NOT NULL,
    seq       INTEGER NOT NULL CHECK (seq >= 1),
    at        TEXT NOT NULL,                          -- UTC ISO-8601, as hashed
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL,                          -- canonical JSON, as hashed
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (namespace, seq)
) WITHOUT ROWID;

CREATE TABLE journal_head (
    namespace TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE commands (
    namespace       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    command         TEXT NOT NULL,                    -- canonical JSON of the OperatorCommand
    fingerprint     TEXT NOT NULL,                    -- canonical JSON of kind + args
    status          TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected')),
    result          TEXT,
    PRIMARY KEY (namespace, idempotency_key),
    UNIQUE (namespace, seq)
) WITHOUT ROWID;

CREATE INDEX commands_pending ON commands (namespace, seq) WHERE status = 'pending';

-- The journal is append-only through this code; a hand edit has to drop these first, and verify() still
-- catches it.
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
"""

# v2: windowed counters (the shared request budget, ``core.request_budget.WindowCounter``). Additive: a v1 file
# gains the table on open.
_SCHEMA_V2 = """
CREATE TABLE counters (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    win       INTEGER NOT NULL,                       -- the fixed window the value counts in
    value     INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
) WITHOUT ROWID;
"""

# v3: a command that cannot be applied as written is finished as ``failed`` (CHECK constraints cannot be altered
# in SQLite: the table is rebuilt, rows kept as they are).
_SCHEMA_V3 = """
CREATE TABLE commands_v3 (
    namespace       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    command         TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'failed')),
    result          TEXT,
    PRIMARY KEY (namespace, idempotency_key),
    UNIQUE (namespace, seq)
) WITHOUT ROWID;
INSERT INTO commands_v3 (namespace, idempotency_key, seq, command, fingerprint, status, result)
    SELECT namespace, idempotency_key, seq, command, fingerprint, status, result FROM commands;
DROP TABLE commands;
ALTER TABLE commands_v3 RENAME TO commands;
CREATE INDEX commands_pending ON commands (namespace, seq) WHERE status = 'pending';
"""

_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}
"""The script that brings a file from version ``n - 1`` to ``n``, run in the caller's write transaction: a crash
midway leaves the older version intact."""


def ensure_schema(conn: sqlite3.Connection, path: str) -> None:
    """Create the schema in a fresh file, migrate an older one; refuse a newer one. Caller holds a write lock."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found == SCHEMA_VERSION:
        return
    if found > SCHEMA_VERSION:
        raise OperationalError(
            f"sqlite store {path}: schema version {found} is not {SCHEMA_VERSION}; wrong tradewake version?"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        for statement in _statements(_MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (``executescript`` would commit our open transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements
