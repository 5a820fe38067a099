"""Rules both backends share: argument checks, version checks and the operator command queue's decisions.

Kept free of I/O so each rule is stated once and the backends only move bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

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


UNREADABLE_KIND = "unreadable"
"""The kind of a salvaged command whose stored kind is not text (no applier owns it: it is failed)."""
_SALVAGE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_pending(key: str, text: str) -> tuple[OperatorCommand, str | None]:
    """A pending command as stored, or what can be read of it and why it does not read as written.

    A queue row written by an old or foreign client (args that are not a mapping, a naive time, a kind too long,
    not JSON at all) must not stop every reader of the queue: the applier fails it by its real ``key`` (and a
    ``halt`` still halts with the args it can read). Built with ``model_construct`` because the salvage is
    exactly what does not validate."""
    try:
        return decode_command(text), None
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'command'}: {e['msg']}" for e in exc.errors()[:3])
    try:
        raw = json.loads(text)
    except ValueError:
        raw = None
    fields: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kind, args, by = fields.get("kind"), fields.get("args"), fields.get("submitted_by")
    salvaged = OperatorCommand.model_construct(
        idempotency_key=key,
        kind=kind[:64] if isinstance(kind, str) and kind else UNREADABLE_KIND,
        args=args if isinstance(args, dict) else {},
        submitted_at=_salvaged_time(fields.get("submitted_at")),
        submitted_by=by[:64] if isinstance(by, str) else "unknown",
    )
    return salvaged, f"stored command does not read: {problem}"[:500]


def _salvaged_time(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return _SALVAGE_EPOCH
        if parsed.tzinfo is not None:
            return parsed
    return _SALVAGE_EPOCH


def submission_outcome(new_fingerprint: str, stored_fingerprint: str) -> str:
    return "duplicate" if new_fingerprint == stored_fingerprint else "already_decided"


@dataclass(frozen=True, slots=True)
class StoredCommand:
    seq: int
    command: str
    fingerprint: str
    status: str
    result: str | None

    def receipt(self, outcome: str, key: str) -> CommandReceipt:
        """The receipt for this row (``key`` is its idempotency key). Never raises for what a client wrote: an
        unreadable row comes back as what can be read of it, with its ``problem`` (:func:`read_pending`)."""
        command, problem = read_pending(key, self.command)
        result = json.loads(self.result) if self.result is not None else None
        if problem is None:
            return CommandReceipt(
                outcome=outcome, seq=self.seq, command=command, status=CommandStatus(self.status), result=result
            )
        return CommandReceipt.model_construct(
            outcome=outcome, seq=self.seq, command=command, status=CommandStatus(self.status), result=result,
            problem=problem,
        )


def check_finish_status(status: CommandStatus) -> None:
    if status is CommandStatus.PENDING:
        raise ValueError("a command is finished as applied, rejected or failed, not pending")


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
