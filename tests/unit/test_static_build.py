"""The JS build lands in the package, and no wheel can be built without it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_widget_bundle_is_built_into_the_package() -> None:
    bundle = ROOT / "hitl_widget" / "static" / "widget.js"
    assert bundle.is_file(), "run `make test` (or `npm run build` in js/) to build the card"
    text = bundle.read_text()
    assert "export" in text and "render" in text
    assert "innerHTML" not in text  # values are set as text, never markup


def test_wheel_build_requires_the_bundle() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    hook = config["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
    assert "hitl_widget/static/widget.js" in hook["ensured-targets"]
    assert "hitl_widget/static/" in config["tool"]["hatch"]["build"]["artifacts"]
