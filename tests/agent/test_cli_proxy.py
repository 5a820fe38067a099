"""The scrubbing proxy in front of the Claude Code CLI: reminders out, everything else through unchanged."""

from __future__ import annotations

import json

import anthropic

from agent.cli_proxy import ScrubbingProxy, scrub
from benchmarks.llmsim import MessagesServer, fail, tool_use


def test_scrub_removes_only_the_clis_reminder_blocks() -> None:
    body = {"messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\\nToday's date is 2026-11-29.\\n</system-reminder>\\n"},
            {"type": "text", "text": "  <system-reminder>\\n# Environment\\n</system-reminder>"},
            {"type": "text", "text": "Wake: candle_close (quoting <system-reminder> inside is data)"},
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": "<system-reminder>mine</system-reminder>"}]},
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>only this</system-reminder>"}]},
    ]}
    body["messages"].append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content":
        '{"ok":true}\n\n<system-reminder>\n<total_tokens>99 tokens left</total_tokens>\n</system-reminder>'}]})
    assert scrub(body) == 4
    assert body["messages"][-1]["content"][0]["content"] == '{"ok":true}'
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Wake: candle_close (quoting <system-reminder> inside is data)"}]
    assert len(body["messages"]) == 3 and body["messages"][1]["role"] == "assistant", "assistant turns untouched"


def test_the_proxy_forwards_credentials_and_answers_and_passes_errors_through() -> None:
    server = MessagesServer().start()
    try:
        with ScrubbingProxy(server.base_url, timeout_s=5) as proxy:
            client = anthropic.Anthropic(api_key="sk-ant-proxy-test", base_url=proxy.base_url, max_retries=0)
            server.script(tool_use(("get_portfolio", {})), fail(529))
            reminder = {"type": "text", "text": "<system-reminder>Today's date is 2026-11-29.</system-reminder>"}
            reply = client.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=[
                {"role": "user", "content": [reminder, {"type": "text", "text": "hello"}]}])
            assert reply.stop_reason == "tool_use" and reply.content[0].type == "tool_use"
            try:
                client.messages.create(model="claude-sonnet-4-6", max_tokens=10,
                                       messages=[{"role": "user", "content": "again"}])
                raise AssertionError("a 529 must come back as an error")
            except anthropic.InternalServerError as exc:
                assert exc.status_code == 529
            assert proxy.removed == 1
        logged = server.requests[0]
        assert "sk-ant-proxy-test" in logged.headers["authorization"] and "anthropic-version" in logged.headers
        assert json.dumps(logged.body["messages"]) == json.dumps([{"role": "user", "content": [
            {"type": "text", "text": "hello"}]}])
    finally:
        server.stop()
