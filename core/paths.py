"""Checks of file paths a user passes on the command line, before any work is done: one clear
``ConfigError`` instead of an ``IsADirectoryError`` halfway through a run."""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError


def check_input_file(path: Path, option: str) -> Path:
    """``path`` is an existing regular file (or a link to one)."""
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a directory, not a file")
    if not path.is_file():
        raise ConfigError(f"{option} {path}: no such file")
    return path


def check_output_file(path: Path, option: str) -> Path:
    """``path`` can be created or appended to: not a directory or another special file, and no part of
    the directory it goes in is a file (missing directories are created by the writer)."""
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a directory, not a file")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{option} {path} is not a regular file")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{option} {path}: {parent} is a file, not a directory")
    return path
