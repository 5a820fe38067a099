"""Run ``tradewake`` the way a user does, in a sandbox, and check the rules of a failing invocation.

- :class:`Sandbox`: a working directory, a home and a per-user data directory of its own, and a
  fingerprint of every file under them, so a run that touched a file it should not is caught.
- :class:`ForkRunner` (default): each invocation a process forked from a warmed-up CLI
  (``tests/robustness/forkserver.py``); :class:`SpawnRunner` (``TRADEWAKE_LONG_TESTS=1``, and where
  signals matter): a fresh ``python -m engine.cli`` each time.
- :func:`check_failure`: exit code 1 or 2, exactly one line on stderr, no traceback, no internal error.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

REPO_ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT_URL = "http://127.0.0.1:9"
_MPL_CACHE = Path(tempfile.gettempdir()) / "tradewake-robustness-mpl"


@dataclass(frozen=True)
class CliResult:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def describe(self) -> str:
        return (f"tradewake {' '.join(self.argv)} -> exit {self.code} in {self.seconds:.1f}s"
                f"{' (TIMED OUT)' if self.timed_out else ''}\nstderr:\n{self.stderr[-3000:]}\nstdout:\n"
                f"{self.stdout[-1500:]}")


class CliRunner(Protocol):
    def run(self, argv: tuple[str, ...], cwd: Path, env: Mapping[str, str], timeout: float = 120) -> CliResult: ...

    def close(self) -> None: ...


def base_env(sandbox: Sandbox) -> dict[str, str]:
    """A user's environment: no TRADEWAKE_* variable, the sandbox's home and data directory, no model reachable."""
    _MPL_CACHE.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(sandbox.home),
        "XDG_DATA_HOME": str(sandbox.data),
        "USER": "robustness",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO_ROOT),
        "ANTHROPIC_BASE_URL": CLOSED_PORT_URL,
        "MPLCONFIGDIR": str(_MPL_CACHE),
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "COLUMNS": "160",
    }


class SpawnRunner:
    """A fresh interpreter per invocation: exactly the user's path (slow: seconds of imports each)."""

    def run(self, argv: tuple[str, ...], cwd: Path, env: Mapping[str, str], timeout: float = 120) -> CliResult:
        import time

        started = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-m", "engine.cli", *argv], cwd=cwd, env=dict(env),
                                  capture_output=True, text=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL, errors="replace")
        except subprocess.TimeoutExpired as exc:
            return CliResult(argv, -9, _text(exc.stdout), _text(exc.stderr), time.monotonic() - started, True)
        return CliResult(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def close(self) -> None:
        return None


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


class _ForkServer:
    def __init__(self, scratch: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TRADEWAKE_")}
        env.update({"PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
                    "OMP_NUM_THREADS": "1", "ANTHROPIC_BASE_URL": CLOSED_PORT_URL})
        self.scratch = scratch
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.forkserver"], cwd=REPO_ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        ready = self._readline()
        if not ready.get("ready"):
            raise RuntimeError(f"the fork server did not start: {ready}")

    def _readline(self) -> dict[str, Any]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            err = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"the fork server exited: {err[-2000:]}")
        loaded: dict[str, Any] = json.loads(line)
        return loaded

    def run(self, argv: tuple[str, ...], cwd: Path, env: Mapping[str, str], timeout: float) -> CliResult:
        fd, name = tempfile.mkstemp(dir=self.scratch)
        os.close(fd)
        out, err = Path(name + ".out"), Path(name + ".err")
        request = {"argv": list(argv), "cwd": str(cwd), "env": dict(env), "stdout": str(out), "stderr": str(err),
                   "timeout": timeout}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self._readline()
        result = CliResult(argv, answer["code"], out.read_text(errors="replace"), err.read_text(errors="replace"),
                           answer["seconds"], answer["timed_out"])
        for path in (out, err, Path(name)):
            path.unlink(missing_ok=True)
        return result

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class ForkRunner:
    """``workers`` fork servers; :meth:`run` is thread-safe (each call borrows one server)."""

    def __init__(self, scratch: Path, workers: int = 2) -> None:
        self._servers: queue.Queue[_ForkServer] = queue.Queue()
        self._all: list[_ForkServer] = []
        starters = [threading.Thread(target=self._start, args=(scratch,)) for _ in range(workers)]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        if not self._all:
            raise RuntimeError("no fork server started")

    def _start(self, scratch: Path) -> None:
        server = _ForkServer(scratch)
        self._all.append(server)
        self._servers.put(server)

    def run(self, argv: tuple[str, ...], cwd: Path, env: Mapping[str, str], timeout: float = 120) -> CliResult:
        server = self._servers.get()
        try:
            return server.run(argv, cwd, env, timeout)
        finally:
            self._servers.put(server)

    def close(self) -> None:
        for server in self._all:
            server.close()


# ---------------------------------------------------------------- the sandbox


@dataclass
class Sandbox:
    """A user's world for one invocation: ``work`` (the working directory), ``home`` and ``data``."""

    root: Path
    before: dict[str, str] = field(default_factory=dict)

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @classmethod
    def make(cls, root: Path) -> Sandbox:
        for sub in ("work", "home", "data"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        return cls(root)

    def seal(self) -> None:
        """Fingerprint every file now; :meth:`changes` compares against this."""
        self.before = fingerprint(self.root)

    def changes(self) -> list[str]:
        """Every path created, modified or deleted since :meth:`seal`, relative to the sandbox."""
        after = fingerprint(self.root)
        changed = {p for p in self.before.keys() & after.keys() if self.before[p] != after[p]}
        return sorted(changed | (self.before.keys() ^ after.keys()))


def fingerprint(root: Path) -> dict[str, str]:
    """``relative path -> (kind, size, digest)``: directories and links count as entries too."""
    prints: dict[str, str] = {}
    for path in _walk(root):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            prints[rel] = f"link:{os.readlink(path)}"
        elif path.is_dir():
            prints[rel] = "dir"
        else:
            prints[rel] = f"file:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    return prints


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        yield path
        if path.is_dir() and not path.is_symlink():
            yield from _walk(path)


# ---------------------------------------------------------------- the rules


def check_failure(result: CliResult, *, expect: int | None = None, needle: str = "") -> None:
    """A failing invocation: exit 1 or 2 (or ``expect``), exactly one line on stderr containing ``needle``,
    no traceback anywhere, no internal error."""
    context = result.describe()
    assert not result.timed_out, context
    assert "Traceback" not in result.stderr + result.stdout, context
    assert "internal error" not in result.stderr, context
    assert result.code in ((expect,) if expect is not None else (1, 2)), context
    assert len(result.stderr_lines) == 1, context
    assert needle in result.stderr, f"expected {needle!r} in the error line\n{context}"


def check_success(result: CliResult) -> None:
    context = result.describe()
    assert not result.timed_out, context
    assert result.code == 0, context
    assert "Traceback" not in result.stderr + result.stdout, context
