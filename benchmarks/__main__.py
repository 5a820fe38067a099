"""Run benchmark modules: ``python -m benchmarks [name ...]`` runs each (all when none is named);
``python -m benchmarks NAME --option ...`` passes the options to that one module's ``main``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def _names() -> list[str]:
    """Benchmark modules (packages such as ``llmsim`` are their tools, not benchmarks)."""
    return sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_") and not m.ispkg
    )


def main(argv: list[str]) -> int:
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    wanted, options = argv[:split] or _names(), argv[split:]
    unknown = sorted(set(wanted) - set(_names()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(_names())}", file=sys.stderr)
        return 2
    if options and len(wanted) != 1:
        print("options go to one benchmark: python -m benchmarks NAME --option ...", file=sys.stderr)
        return 2
    for name in wanted:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        if options:
            module.main(options)
        else:
            module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
