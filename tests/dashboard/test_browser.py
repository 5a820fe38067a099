"""The dashboard and the report in real headless Chromium (Debian's package, through Playwright), on real data:
two short backtests on bundled candles and a store the real engine wrote. Screenshots of every view are saved
to ``tests/artifacts/dashboard/``."""

from __future__ import annotations

from typing import Any

from core.ports import CommandStatus
from tests.dashboard.conftest import LLM_RUN, RULES_RUN, TOKEN, Live, Runs, screenshot, serve

ENTRY_GREEN = (21, 147, 90)  # "#15935a": long-entry markers (and only them, on the price pane)


def coloured_pixels(page: Any, selector: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the canvases under ``selector`` have colour ``rgb`` (the chart drew them)."""
    return int(page.evaluate(
        """([selector, rgb]) => {
            let n = 0;
            for (const canvas of document.querySelectorAll(selector + " canvas")) {
                if (!canvas.width || !canvas.height) continue;
                const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                for (let i = 0; i < data.length; i += 4) {
                    if (Math.abs(data[i] - rgb[0]) < 6 && Math.abs(data[i + 1] - rgb[1]) < 6
                        && Math.abs(data[i + 2] - rgb[2]) < 6 && data[i + 3] > 200) n++;
                }
            }
            return n;
        }""",
        [selector, list(rgb)],
    ))  # fmt: skip


def test_the_run_page_draws_markers_and_a_decision_expands(runs: Runs, page: Any) -> None:
    served = serve(runs, None)
    try:
        page.goto(f"{served.url}/runs/{LLM_RUN}")
        page.wait_for_selector("html[data-charts=ready]")
        page.wait_for_timeout(300)
        assert coloured_pixels(page, "#price-chart", ENTRY_GREEN) > 20, "the long entry is drawn on the price chart"
        markers = page.evaluate("window.tradewakeCharts.price.markers.markers().length")
        assert markers >= 2, "entry and exit (or open) markers"
        assert page.locator("#cards .card").count() == 12
        assert "vs buy & hold" in page.locator("#cards").inner_text().lower()
        screenshot(page, "run_page")
        vetoed = page.locator("#decision-list details.kind-veto, #decision-list details.kind-trade").first
        assert not vetoed.locator(".reasoning").first.is_visible()
        vetoed.locator("summary").click()
        assert vetoed.locator(".reasoning").first.is_visible()
        body = vetoed.inner_text()
        assert "place_order" in body and "vetoed" in body, body
        screenshot(page, "run_page_decision_expanded", full_page=False)
    finally:
        served.stop()


def test_the_runs_list_and_the_comparison_render(runs: Runs, page: Any) -> None:
    served = serve(runs, None)
    try:
        page.goto(f"{served.url}/runs")
        table = page.locator("#runs-table").inner_text()
        assert LLM_RUN in table and RULES_RUN in table and "pp" in table
        screenshot(page, "runs_list")
        page.check(f"input[value='{LLM_RUN}']")
        page.check(f"input[value='{RULES_RUN}']")
        page.click("#compare-button")
        page.wait_for_selector("html[data-charts=ready]")
        compared = page.locator("#compare-table").inner_text()
        assert "Calmar" in compared and "buy & hold" in compared
        assert page.evaluate("document.querySelectorAll('#compare-chart canvas').length") > 0
        screenshot(page, "runs_compare")
    finally:
        served.stop()


def test_the_report_works_offline_as_one_file(runs: Runs, page: Any) -> None:
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_())
    page.goto(runs.llm.run.report_path.as_uri())
    page.wait_for_selector("html[data-charts=ready]")
    page.wait_for_timeout(300)
    assert coloured_pixels(page, "#price-chart", ENTRY_GREEN) > 20
    text = page.locator("main").inner_text()
    for heading in ("Monthly returns", "Open at the end", "Closed trades", "Decision timeline", "Vetoes by code",
                    "Memory timeline", "Learner posteriors"):  # fmt: skip
        assert heading in text, heading
    screenshot(page, "report")


def test_live_view_halt_from_the_page_reaches_the_queue_and_the_pushed_state(
    runs: Runs, live_store: Live, page: Any
) -> None:
    served = serve(runs, live_store)
    try:
        page.goto(f"{served.url}/live")
        assert page.locator("form[data-action]").count() == 0, "read-only without the token"
        page.goto(f"{served.url}/login?token={TOKEN}")
        page.wait_for_selector("#live-positions")
        assert "trading allowed" in page.locator("#live-status").inner_text()
        positions = page.locator("#live-positions").inner_text()
        assert "BTC/USDT" in positions and "long" in positions
        screenshot(page, "live")

        page.fill("form[data-action=halt] input[name=reason]", "news at 14:00")
        page.click("form[data-action=halt] button")
        page.wait_for_selector("#action-result.ok")
        assert "queued" in page.locator("#action-result").inner_text()
        pending = live_store.world.store.pending_commands()
        assert [(r.command.kind, r.command.args["reason"]) for r in pending] == [("halt", "news at 14:00")]
        page.wait_for_selector("#queued-commands")  # pushed without a reload

        live_store.step()  # the engine applies the queued halt first
        page.wait_for_selector("#halt-state:has-text('HALTED')", timeout=10_000)
        assert not live_store.world.store.pending_commands()
        done = live_store.world.store.submit_command(pending[0].command)
        assert done.outcome == "duplicate" and done.status is CommandStatus.APPLIED
        screenshot(page, "live_halted")
    finally:
        served.stop()
