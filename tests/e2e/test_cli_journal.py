import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from core.ports import NewEvent
from store.sqlite_store import SqliteStore
from tests.e2e.cli_helpers import run_cli


def seed_journal(path: Path, n: int) -> None:
    store = SqliteStore(path, "tw")
    try:
        for i in range(n):
            store.append(NewEvent(kind="test", at=datetime(2024, 1, 1, tzinfo=UTC), payload={"i": i}))
    finally:
        store.close()


def test_journal_tail_and_verify_then_tamper(tmp_path: Path) -> None:
    db = tmp_path / "var" / "tw.sqlite3"
    seed_journal(db, 5)
    env = {"TRADEWAKE_STORE__URL": f"sqlite:///{db}"}
    tail = run_cli("journal", "tail", "-n", "2", cwd=tmp_path, env=env)
    assert tail.returncode == 0, tail.stderr
    assert '{"i": 4}' in tail.stdout and '{"i": 2}' not in tail.stdout
    ok = run_cli("journal", "verify", cwd=tmp_path, env=env)
    assert ok.returncode == 0 and "5 events" in ok.stdout

    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        journal_table = next(t for t in tables if "journal" in t)
        conn.execute(f"DROP TRIGGER IF EXISTS {journal_table}_no_update")
        triggers = [r[0] for r in conn.execute("select name from sqlite_master where type='trigger'")]
        for trigger in triggers:
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute(f"UPDATE {journal_table} SET payload = ? WHERE seq = 3", ('{"i":99}',))
    broken = run_cli("journal", "verify", cwd=tmp_path, env=env)
    assert broken.returncode == 1
    assert "seq 3" in broken.stderr and "Traceback" not in broken.stderr


def test_bad_store_url_is_one_line(tmp_path: Path) -> None:
    result = run_cli("journal", "tail", cwd=tmp_path, env={"TRADEWAKE_STORE__URL": "ftp://nowhere"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
