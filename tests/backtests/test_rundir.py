"""A run directory is written beside its target and moved into place when complete: nothing is deleted
that the run did not create, an earlier run is replaced only with --force, and two runs started in
the same second get distinct ids."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backtests.rundir import INTERRUPTED, METRICS, STORE, RunDir, StagedRun, check_target, list_runs, unique_run_path
from core.errors import ConfigError, OperationalError


def metrics_text(marker: str) -> str:
    return json.dumps({"performance": {}, "agent": {}, "run": {"marker": marker}})


def fake_run(path: Path, marker: str = "old") -> Path:
    path.mkdir(parents=True)
    (path / METRICS).write_text(metrics_text(marker))
    (path / STORE).write_bytes(b"store " + marker.encode())
    (path / "report.html").write_text(marker)
    return path


def complete(staged: StagedRun, marker: str = "new") -> None:
    (staged.staging / METRICS).write_text(metrics_text(marker))
    (staged.staging / STORE).write_bytes(b"store " + marker.encode())


def test_a_run_is_invisible_until_complete_then_moved_into_place(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "r1"
    staged = StagedRun.begin(target, force=False)
    assert staged.staging.parent == target.parent and staged.staging.name.startswith(".r1.partial-")
    assert not target.exists() and list_runs(tmp_path / "runs") == []
    complete(staged)
    run = staged.commit(force=False)
    assert run.path == target and (target / STORE).read_bytes() == b"store new"
    assert not staged.staging.exists()
    assert [r.name for r in list_runs(tmp_path / "runs")] == ["r1"]


def test_a_failed_run_removes_only_its_own_staging_directory(tmp_path: Path) -> None:
    earlier = fake_run(tmp_path / "r1")
    staged = StagedRun.begin(earlier, force=True)
    (staged.staging / STORE).write_bytes(b"half")
    staged.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1"]
    assert (earlier / STORE).read_bytes() == b"store old", "the earlier run is untouched"


@pytest.mark.parametrize(
    ("setup", "force", "needle"),
    [
        (lambda p: p.write_text("a file"), False, "is a file"),
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("mine")), True, "not a tradewake run directory"),
        (fake_run, False, "--force"),
        (lambda p: (fake_run(p), (p / "notes.txt").write_text("mine")), True, "notes.txt"),
        (lambda p: (fake_run(p), (p / "sub").mkdir()), True, "sub"),
        (lambda p: (fake_run(p.parent / "real"), os.symlink(p.parent / "real", p)), True, "symbolic link"),
    ],
    ids=["file", "foreign-directory", "run-without-force", "run-with-foreign-file", "run-with-subdirectory",
         "symlink"],
)
def test_targets_a_run_must_not_write_to_are_refused_before_anything_happens(
    tmp_path: Path, setup: object, force: bool, needle: str
) -> None:
    target = tmp_path / "out"
    setup(target)  # type: ignore[operator]
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(ConfigError, match=needle):
        StagedRun.begin(target, force=force)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_force_replaces_an_earlier_run_only_when_the_new_one_is_complete(tmp_path: Path) -> None:
    target = fake_run(tmp_path / "r1")
    staged = StagedRun.begin(target, force=True)
    assert (target / STORE).read_bytes() == b"store old", "still the earlier run while the new one is written"
    complete(staged)
    staged.commit(force=True)
    assert (target / STORE).read_bytes() == b"store new"
    assert not (target / "report.html").exists(), "no file of the earlier run is mixed into the new one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1"], "the earlier run is gone, nothing else left"


def test_an_empty_directory_is_a_fine_target(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    staged = StagedRun.begin(tmp_path / "out", force=False)
    complete(staged)
    assert staged.commit(force=False).path == tmp_path / "out"


def test_two_runs_in_the_same_second_get_distinct_ids(tmp_path: Path) -> None:
    first = StagedRun.begin(unique_run_path(tmp_path, "20260101T000000-rules-BTC-USDT-1h"), force=False,
                            rename_if_taken=True)
    second = StagedRun.begin(unique_run_path(tmp_path, "20260101T000000-rules-BTC-USDT-1h"), force=False,
                             rename_if_taken=True)
    assert first.target.name == "20260101T000000-rules-BTC-USDT-1h"
    assert second.target.name == "20260101T000000-rules-BTC-USDT-1h-2", "the first one's staging reserves its id"
    complete(second)
    complete(first)
    assert second.commit(force=False).name.endswith("-2") and first.commit(force=False).name.endswith("1h")
    third = unique_run_path(tmp_path, "20260101T000000-rules-BTC-USDT-1h")
    assert third.name.endswith("-3")


def test_a_default_id_taken_meanwhile_moves_to_the_next_but_an_explicit_out_is_kept(tmp_path: Path) -> None:
    default = StagedRun.begin(tmp_path / "id", force=False, rename_if_taken=True)
    explicit = StagedRun.begin(tmp_path / "id", force=False)
    fake_run(tmp_path / "id")  # another process finished first
    complete(default)
    assert default.commit(force=False).name == "id-2"
    complete(explicit)
    with pytest.raises(OperationalError, match="this run was kept in"):
        explicit.commit(force=False)
    assert explicit.staging.is_dir(), "nothing computed is thrown away"


def test_an_interrupted_run_is_kept_marked_and_never_over_a_complete_run(tmp_path: Path) -> None:
    staged = StagedRun.begin(fake_run(tmp_path / "r1"), force=True)
    (staged.staging / STORE).write_bytes(b"partial")
    kept = staged.keep_interrupted({"candles_done": 5})
    assert kept.path.name == "r1-interrupted" and (kept.path / INTERRUPTED).is_file()
    assert kept.interrupted == {"candles_done": 5} and kept.metrics() is None
    assert (tmp_path / "r1" / STORE).read_bytes() == b"store old"


def test_damaged_metrics_are_a_clear_error(tmp_path: Path) -> None:
    run = RunDir(fake_run(tmp_path / "r1"))
    for content in ("{not json", "[]", '{"performance": 1, "agent": {}, "run": {}}', "\xff"):
        run.metrics_path.write_text(content, encoding="latin-1")
        with pytest.raises(ConfigError, match=r"metrics\.json"):
            run.metrics()


def test_check_target_accepts_a_missing_path_under_missing_directories(tmp_path: Path) -> None:
    check_target(tmp_path / "a" / "b" / "c", force=False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        check_target(tmp_path / "f" / "run", force=False)
