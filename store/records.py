"""Rules both backends share: argument checks, version checks and the operator command queue's decisions.

Kept free of I/O so each rule is stated once and the backends only move bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.canonical import canonical_json
from core.errors import ConfigError, ConflictError, OperationalError
from core.ports import CommandReceipt, CommandStatus, Doc, OperatorCommand, Write

NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def check_namespace(namespace: str) -> str:
    if not NAMESPACE_RE.fullmatch(namespace):
        raise ConfigError(f"store namespace {namespace!r} must match {NAMESPACE_RE.pattern}")
    return namespace


def check_unique_keys(writes: Sequence[Write]) -> None:
    """One write per key per transaction: two versions of one key in one commit have no clear meaning."""
    seen: set[str] = set()
    for write in writes:
        if write.key in seen:
            raise ValueError(f"key {write.key!r} written twice in one transaction")
        seen.add(write.key)


@dataclass(frozen=True, slots=True)
class StoredDoc:
    """A document row. ``value`` is ``None`` for a tombstone: a deleted key keeps its last version so a
    re-created key continues from there and a stale compare-and-set can never match again (no ABA)."""

    version: int
    value: str | None

    @property
    def live_version(self) -> int:
        return self.version if self.value is not None else 0


def check_write(write: Write, stored: StoredDoc | None) -> None:
    """Raise ``ConflictError`` when ``write.expected_version`` does not match what is stored."""
    if write.expected_version is None:
        return
    actual = stored.live_version if stored else 0
    if actual != write.expected_version:
        raise ConflictError(write.key, write.expected_version, actual)


def next_version(write: Write, stored: StoredDoc | None) -> int:
    """The version after ``write``: last version + 1 for a value, 0 for a deletion."""
    if write.value is None:
        return 0
    return (stored.version if stored else 0) + 1


def encode_value(value: dict[str, Any]) -> str:
    return canonical_json(value)


def decode_doc(key: str, version: int, value: str) -> Doc:
    return Doc(key=key, version=version, value=json.loads(value))


# ---------------------------------------------------------------- operator commands


def command_fingerprint(command: OperatorCommand) -> str:
    """What makes two submissions "the same command": kind and args (not who sent it, not when)."""
    return canonical_json({"kind": command.kind, "args": command.args})


def encode_command(command: OperatorCommand) -> str:
    return canonical_json(command.model_dump(mode="json"))


def decode_command(text: str) -> OperatorCommand:
    return OperatorCommand.model_validate_json(text)


def submission_outcome(new_fingerprint: str, stored_fingerprint: str) -> str:
    return "duplicate" if new_fingerprint == stored_fingerprint else "already_decided"


@dataclass(frozen=True, slots=True)
class StoredCommand:
    seq: int
    command: str
    fingerprint: str
    status: str
    result: str | None

    def receipt(self, outcome: str) -> CommandReceipt:
        return CommandReceipt(
            outcome=outcome,
            seq=self.seq,
            command=decode_command(self.command),
            status=CommandStatus(self.status),
            result=json.loads(self.result) if self.result is not None else None,
        )


def check_finish_status(status: CommandStatus) -> None:
    if status is CommandStatus.PENDING:
        raise ValueError("a command is finished as applied or rejected, not pending")


def finish_is_noop(
    key: str, stored_status: str | None, stored_result: str | None, status: CommandStatus, result_text: str
) -> bool:
    """Decide a ``finish_command``: ``False`` means "write it", ``True`` means "already finished exactly so".

    Finishing an unknown key, or re-finishing with another status or result, raises: two appliers
    disagreeing about one command is something a human must look at.
    """
    if stored_status is None:
        raise OperationalError(f"cannot finish unknown operator command {key!r}")
    if stored_status == CommandStatus.PENDING:
        return False
    if stored_status == status and stored_result == result_text:
        return True
    raise OperationalError(
        f"operator command {key!r} was already finished as {stored_status} with another result; "
        f"refusing to finish it again as {status}"
    )


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"journal read limit must be >= 0, got {limit}")


def redact_url(url: str) -> str:
    """A store URL fit for a message or a log: any password in it replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, hostpart = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{hostpart}" if ":" in userinfo else f"{scheme}://***@{hostpart}"
