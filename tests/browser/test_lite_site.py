"""The offline JupyterLite site: hitl_widget imports in a fresh Lite notebook with no %pip, nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from conftest import assert_all_local
from lite_site import LiteSite, first_cell_output, open_lite_notebook, run_code_in_new_cell

IMPORT_CELL = """\
import sys
import hitl_widget, anywidget, ipywidgets
import hitl_widget.widget
print("hitl", hitl_widget.__version__, sys.platform)
"""


@pytest.mark.slow
@pytest.mark.timeout(600)  # a stale site is rebuilt first (the wheel, the JS build, jupyter lite build)
def test_hitl_widget_imports_in_lite_without_pip(browser: Any, lite_site: LiteSite, page: Any, record_property: Any) -> None:
    # `browser` first: a missing Chromium skips (or, under CI, fails) before the site is built.
    import hitl_widget

    # the site ships the current wheel, preloaded by the kernel
    config = json.loads((lite_site.directory / "jupyter-lite.json").read_text())
    kernel = config["jupyter-config-data"]["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert kernel["disablePyPIFallback"] is True
    assert "hitl_widget" in kernel["loadPyodideOptions"]["packages"]
    assert (lite_site.directory / "files" / "quickstart.ipynb").exists()

    started = time.monotonic()
    open_lite_notebook(page, lite_site, "quickstart.ipynb")
    run_code_in_new_cell(page, IMPORT_CELL)
    text = first_cell_output(page)
    cold_start_s = time.monotonic() - started
    record_property("lite_cold_start_s", round(cold_start_s, 1))
    print(f"Lite cold start (navigation -> first cell output): {cold_start_s:.1f} s")

    assert f"hitl {hitl_widget.__version__} emscripten" in text, text
    assert "Error" not in text, text
    wheels = [u for u in page.requested_urls if u.endswith(".whl")]
    assert any("/static/pyodide/hitl_widget-" in u for u in wheels), wheels
    assert_all_local(page)
