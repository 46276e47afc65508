"""The deployment and data-analysis notebooks, top to bottom in the offline JupyterLite site, cards clicked.

Each notebook is opened from the site's files and run with Run All Cells in the browser-only
kernel (Pyodide in a Web Worker: the demo agent's pydantic-ai, the SQLite database, the card).
A person's decisions are clicks on the cards, in the order the notebook asks for them; the
notebook's last cell prints ``SUMMARY {json}``, from which the story's outcomes are asserted:
what ran, what was refused, what the agent did after reading the rejection.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_all_local
from lite_site import LiteSite, first_cell_output, open_lite_notebook, run_code_in_new_cell

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
CARD_TIMEOUT_MS = 120_000  # the first card waits for the kernel's start and pydantic-ai's import
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"  # curated copies, kept in git
CHART = 'svg[aria-label="Paid revenue per month, 2025"]'
#: colours as the page renders them: the chart's month label and bar, a table cell's text, the theme's background
COLOURS = """(chart) => {
  const probe = document.createElement("div");
  probe.style.background = "var(--jp-layout-color0, white)";
  document.body.append(probe);
  const background = getComputedStyle(probe).backgroundColor;
  probe.remove();
  const svg = document.querySelector(chart);
  const cell = document.querySelector(".jp-OutputArea-output table td");
  return {
    label: getComputedStyle(svg.querySelectorAll("text")[1]).fill,
    bar: getComputedStyle(svg.querySelector("rect")).fill,
    cell: getComputedStyle(cell).color,
    background,
  };
}"""


def _run_all(page: Any, lite_site: LiteSite, name: str) -> float:
    """Open ``name``, wait for the kernel, Run All Cells; returns the seconds the kernel took to start."""
    started = time.monotonic()
    open_lite_notebook(page, lite_site, name)
    run_code_in_new_cell(page, "print('KERNEL READY')")
    assert "KERNEL READY" in first_cell_output(page)
    kernel_s = time.monotonic() - started
    page.locator(f"{_NOTEBOOK} .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.keyboard.press("d")  # the helper cell goes again: the notebook runs as shipped
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    return kernel_s


def _next_card(page: Any, function: str) -> Any:
    card = page.locator(f"{_NOTEBOOK} .hitl-card:not(.hitl-record)").first
    card.wait_for(state="visible", timeout=CARD_TIMEOUT_MS)
    from playwright.sync_api import expect

    expect(card.locator(".hitl-function")).to_have_text(f"{function}()")
    return card


def _reject(card: Any, feedback: str) -> None:
    card.get_by_role("button", name="Reject", exact=True).click()
    card.locator("textarea.hitl-feedback").fill(feedback)
    card.get_by_role("button", name="Send rejection").click()


def _summary(page: Any) -> dict[str, Any]:
    """The JSON of the notebook's last line ``SUMMARY {...}``, once it is printed.

    JupyterLab renders only the cells near the viewport (windowing): scroll to the end while waiting.
    """
    found = page.locator(f"{_NOTEBOOK} .jp-OutputArea-output", has_text="SUMMARY {")
    deadline = time.monotonic() + CARD_TIMEOUT_MS / 1000
    while found.count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"the notebook printed no SUMMARY; its outputs:\n{_all_outputs(page)}")
        page.evaluate(
            "() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
            ".forEach((el) => { el.scrollTop = el.scrollHeight; })"
        )
        page.wait_for_timeout(250)
    line = next(line for line in str(found.first.inner_text()).splitlines() if line.startswith("SUMMARY "))
    summary: dict[str, Any] = json.loads(line.removeprefix("SUMMARY "))
    return summary


def _luminance(css: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``rgb(...)`` colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _switch_theme(page: Any, name: str) -> None:
    items = page.locator(".lm-Menu-item")
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    items.filter(has_text=re.compile(r"^Theme\s*$")).first.hover()  # a submenu: no menuitem role
    items.filter(has_text=re.compile(rf"^{re.escape(name)}\s*$")).first.click()
    page.wait_for_function("(dark) => document.body.dataset.jpThemeLight === (dark ? 'false' : 'true')", arg="Dark" in name)


def _all_outputs(page: Any) -> str:
    return "\n".join(str(t) for t in page.locator(f"{_NOTEBOOK} .jp-OutputArea-output").all_inner_texts())


def test_deployment_pipeline_in_lite(browser: Any, lite_site: LiteSite, page: Any) -> None:
    from playwright.sync_api import expect

    _run_all(page, lite_site, "deployment_pipeline.ipynb")
    card = _next_card(page, "deploy")  # the CI run asked nobody: the first card is the release run's production deploy
    expect(card.locator(".hitl-risk")).to_have_text("high")
    expect(card).to_contain_text('"production"')
    _reject(card, "freeze until Monday")
    card = _next_card(page, "schedule_deploy")
    expect(card).to_contain_text('"production"')
    card.get_by_role("button", name="Approve", exact=True).click()
    summary = _summary(page)

    texts = _all_outputs(page)
    assert "Traceback" not in texts and "Error" not in texts, texts
    ci, release = summary["ci"], summary["release"]
    assert ci["ran"] == ["build 2.4.0", "tests unit", "tests integration", "deploy staging"]  # production refused, unasked
    assert "HITL_MODE=reject" in ci["answer"]
    assert release["ran"][:4] == ["build 2.4.0", "tests unit", "tests integration", "deploy staging"]
    assert "deploy production" not in release["ran"]
    (scheduled,) = [r for r in release["ran"] if r.startswith("schedule production ")]
    assert release["ran"][-1] == "notify #releases"
    assert scheduled.removeprefix("schedule production ") in release["answer"]
    assert len(summary["refused"]) == 2 and all("production" in call for call in summary["refused"])
    assert summary["audit_intact"] is True
    # the transcript: the rejection's feedback reached the model, which says what it does instead
    assert "was rejected by a human reviewer" in texts and "freeze until Monday" in texts
    assert 'model: The reviewer said "freeze until Monday". I will not deploy to production now' in texts
    assert_all_local(page)


def test_data_analysis_in_lite(browser: Any, lite_site: LiteSite, page: Any) -> None:
    from playwright.sync_api import expect

    _run_all(page, lite_site, "data_analysis.ipynb")
    card = _next_card(page, "run_sql")
    expect(card).to_contain_text("CREATE TABLE revenue_2025")
    expect(card.locator(".hitl-risk")).to_have_text("medium")
    _reject(card, "must use a READ ONLY transaction")
    card = _next_card(page, "run_sql")
    expect(card).to_contain_text("DELETE FROM orders")
    expect(card.locator(".hitl-risk")).to_have_text("high")
    facts = card.get_by_role("list", name="Context")
    expect(facts).to_contain_text("rows would change (run in a transaction, then rolled back)")
    dry_run = str(facts.locator('.hitl-fact-row[data-name="dry run"] .hitl-fact').inner_text())
    would_delete = int(dry_run.split()[0])
    card.screenshot(path=str(SCREENSHOTS / "lite-dry-run-card.png"))
    card.get_by_role("button", name="Approve", exact=True).click()
    summary = _summary(page)

    texts = _all_outputs(page)
    assert "Traceback" not in texts, texts
    assert summary["tables"] == ["customers", "import_2023", "orders", "products"]  # no revenue_2025: it was refused
    assert summary["test_orders_left"] == 0 and summary["orders_left"] == 3000 - would_delete
    assert f"ok: {would_delete} rows changed" in summary["answer"]
    decisions = [d for _, d in summary["decisions"]]
    assert decisions == ["✓ not asked", "✗ rejected", "✓ not asked", "✓ not asked", "✓ approved"]
    assert summary["audit_intact"] is True
    assert 'The reviewer said "must use a READ ONLY transaction". So I create no table' in texts
    assert texts.count(", read_only=True)") == 2  # the next attempt honoured it (two calls), and ran without asking
    # the pictures: the monthly chart (SVG) and the country table
    notebook = page.locator(_NOTEBOOK)
    expect(notebook.locator('svg[aria-label="Paid revenue per month, 2025"] rect')).to_have_count(12)
    expect(notebook.locator("table caption", has_text="Paid revenue by country, 2025")).to_have_count(1)

    # the pictures follow the theme: readable (WCAG contrast) in the light and the dark one
    chart = notebook.locator(CHART)
    chart.scroll_into_view_if_needed()
    light = page.evaluate(COLOURS, CHART)
    _switch_theme(page, "JupyterLab Dark")
    dark = page.evaluate(COLOURS, CHART)
    chart.scroll_into_view_if_needed()
    chart_cell = page.locator(f"{_NOTEBOOK} .jp-Cell", has=page.locator(CHART))
    chart_cell.screenshot(path=str(SCREENSHOTS / "lite-data-analysis-dark.png"))
    assert light["background"] != dark["background"] and light["label"] != dark["label"], (light, dark)
    for theme in (light, dark):
        assert _contrast(theme["label"], theme["background"]) >= 4.5, theme  # text
        assert _contrast(theme["cell"], theme["background"]) >= 4.5, theme
        assert _contrast(theme["bar"], theme["background"]) >= 3, theme  # graphics
    _switch_theme(page, "JupyterLab Light")
    assert_all_local(page)
