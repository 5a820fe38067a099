"""No secret reaches a file, an output or the journal: distinctive values in every secret setting, a
backtest whose model (the local Messages server) echoes them into its memory, its tool arguments and
its text, a cassette recorded, then every inspection command; every file the runs wrote, every journal
payload and every output is scanned for every secret."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from benchmarks.llmsim import MessagesServer, tool_use
from store.sqlite_store import SqliteStore
from tests.robustness.runner import CliResult, CliRunner, Sandbox, base_env, check_failure, check_success

SECRETS = {
    "TRADEWAKE_EXCHANGE__API_KEY": "twXKEYa1b2c3d4secret",
    "TRADEWAKE_EXCHANGE__API_SECRET": "twXSECRETe5f6g7h8secret",
    "TRADEWAKE_LLM__API_KEY": "twLLMKEYi9j0k1l2secret",
    "TRADEWAKE_LLM__OAUTH_TOKEN": "twOAUTHm3n4o5p6secret",
    "TRADEWAKE_ALERTS__TELEGRAM_TOKEN": "twTGq7r8s9t0secret",
}
WEBHOOK_TOKEN = "twHOOKu1v2w3x4secret"
PROXY_USER, PROXY_PASS = "twPROXYUSERsecret", "twPROXYPASSy5z6secret"
ALL_SECRETS = (*SECRETS.values(), WEBHOOK_TOKEN, PROXY_USER, PROXY_PASS)
SCHEDULE = ("schedule_next_check", {"seconds": 14_400, "wake_conditions": []})


def echoing_model(server: MessagesServer) -> None:
    """A model that repeats every secret it could have seen, everywhere it can write."""
    leak = " ".join(ALL_SECRETS)
    server.script(
        tool_use(("update_memory", {"text": f"remember {leak}"}), text=f"thinking about {leak}"),
        tool_use(("place_order", {"side": "long", "size_pct": 5, "order_type": "market",
                                  "stop_loss_price": "1", "signals": ["trend_up"], "confidence": 0.5,
                                  "thesis": f"key {SECRETS['TRADEWAKE_EXCHANGE__API_SECRET']}"}),
                 SCHEDULE, text=leak),
        tool_use(SCHEDULE, text=f"api_key={SECRETS['TRADEWAKE_LLM__API_KEY']}"),
    )


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    srv = MessagesServer().start()
    yield srv
    srv.stop()


def secret_env(sandbox: Sandbox, server: MessagesServer) -> dict[str, str]:
    host = server.base_url.removeprefix("http://")
    return {
        **base_env(sandbox),
        **SECRETS,
        "TRADEWAKE_ALERTS__WEBHOOK_URL": f"http://127.0.0.1:9/hooks/{WEBHOOK_TOKEN}",
        "TRADEWAKE_LLM__BASE_URL": f"http://{PROXY_USER}:{PROXY_PASS}@{host}",
        "TRADEWAKE_LLM__MAX_RETRIES": "0",
        "ANTHROPIC_API_KEY": SECRETS["TRADEWAKE_LLM__API_KEY"],
    }


def run_all(cli: CliRunner, sandbox: Sandbox, env: dict[str, str]) -> list[CliResult]:
    work = sandbox.work
    window = ("--from", "2025-02-01", "--to", "2025-02-04")
    results = [cli.run(("backtest", "--quiet", *window, "--agent", "anthropic", "--record", "cassette.jsonl",
                        "--out", "runs/llm"), work, env, timeout=600)]
    check_success(results[0])
    results += [cli.run(argv, work, env) for argv in (
        ("config", "show"),
        ("runs", "show", "llm", "--json"),
        ("runs", "list", "--json"),
        ("decisions", "llm", "--json", "--all"),
        ("decisions", "llm"),
        ("decisions", "llm", "--details", "--all"),
        ("init", "--out", "written.toml"),
        ("memory", "llm", "--json"),
        ("journal", "tail", "-n", "100000", "--json"),
        ("status", "--json"),
        ("decide", "--at", "2025-02-03T12:00", "--agent", "anthropic", "--journal"),
    )]
    for result in results:
        check_success(result)
    return results


def test_no_secret_in_any_file_output_or_journal_payload(cli: CliRunner, sandbox: Sandbox,
                                                         server: MessagesServer) -> None:
    echoing_model(server)
    env = secret_env(sandbox, server)
    env["TRADEWAKE_STORE__URL"] = "sqlite:///runs/llm/store.sqlite3"  # the inspection commands read the run's
    sandbox.seal()
    results = run_all(cli, sandbox, env)
    assert server.message_requests(), "the model was called: the secrets went where a leak could happen"

    outputs = "\n".join(r.stdout + r.stderr for r in results)
    files = [p for p in sandbox.root.rglob("*") if p.is_file()]
    assert (sandbox.work / "runs/llm/store.sqlite3") in files and (sandbox.work / "cassette.jsonl") in files
    store = SqliteStore(sandbox.work / "runs/llm/store.sqlite3")
    try:
        payloads = [json.dumps(event.payload) for event in store.read_journal()]
    finally:
        store.close()
    assert len(payloads) > 50
    for secret in ALL_SECRETS:
        assert secret not in outputs, f"a secret is in a command's output ({_where(secret, outputs)})"
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"a secret is in {path.relative_to(sandbox.root)}"
        assert not any(secret in payload for payload in payloads), "a secret is in a journal payload"


def test_a_setting_error_never_echoes_a_secret_value(cli: CliRunner, sandbox: Sandbox) -> None:
    env = {**base_env(sandbox), "TRADEWAKE_LLM__API_KEYY": SECRETS["TRADEWAKE_LLM__API_KEY"],
           "TRADEWAKE_EXCHANGE__API_SECRET": SECRETS["TRADEWAKE_EXCHANGE__API_SECRET"]}
    result = cli.run(("backtest", "--quiet"), sandbox.work, env)
    check_failure(result, expect=2, needle="TRADEWAKE_LLM__API_KEYY")
    assert not any(secret in result.stderr + result.stdout for secret in ALL_SECRETS)


def _where(secret: str, text: str) -> str:
    at = text.index(secret)
    return text[max(0, at - 80): at].replace(secret, "<secret>")
