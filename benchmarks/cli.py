"""CLI start-up: CPU seconds of ``tradewake --help``, ``tradewake version`` and ``tradewake backtest --help``.

Each command runs in a fresh interpreter (``python -m engine.cli``, what the ``tradewake`` script
runs), ``--repeat`` times; the CPU time (user + system) of the child comes from the operating system
(``os.wait4``), so other processes on a shared machine do not inflate it the way they inflate wall
time. The reference, measured in the same run the same way, is a bare interpreter (``python -c
pass``): the ratio is how many bare starts one command costs. The issue's target is under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (("--help",), ("version",), ("backtest", "--help"))
TARGET_S = 0.5


def cpu_seconds(argv: list[str]) -> float:
    """User + system CPU of one child process running ``argv`` (output discarded)."""
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def median_cpu(argv: list[str], repeat: int) -> float:
    return statistics.median(cpu_seconds(argv) for _ in range(repeat))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cli", description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="runs per command; the median is printed")
    args = parser.parse_args([] if argv is None else argv)
    bare = median_cpu([sys.executable, "-c", "pass"], args.repeat)
    print(f"median CPU (user+sys) of {args.repeat} fresh starts each; reference: python -c pass = {bare:.3f} s")
    for command in COMMANDS:
        cost = median_cpu([sys.executable, "-m", "engine.cli", *command], args.repeat)
        verdict = "ok" if cost < TARGET_S else f"OVER the {TARGET_S} s target"
        print(f"tradewake {' '.join(command):<16} {cost:6.3f} s  = {cost / bare:5.1f}x a bare interpreter  ({verdict})")


if __name__ == "__main__":
    main(sys.argv[1:])
