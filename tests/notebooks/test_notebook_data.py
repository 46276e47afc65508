"""What the notebooks ship besides themselves: the shop database (reproducible) and the HTML/SVG pictures."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _dump(path: Path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_the_shipped_database_is_what_its_script_writes(tmp_path: Path) -> None:
    make = _load(NOTEBOOKS / "data" / "make_shop_db.py")
    fresh = tmp_path / "shop.sqlite"
    make.build(fresh)
    shipped = NOTEBOOKS / "data" / "shop.sqlite"
    assert _dump(fresh) == _dump(shipped), "notebooks/data/shop.sqlite is stale: run python notebooks/data/make_shop_db.py"
    con = sqlite3.connect(f"file:{shipped}?mode=ro", uri=True)
    tables = ("customers", "products", "orders", "import_2023")
    counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    test_orders = con.execute(
        "SELECT COUNT(*) FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE email LIKE '%@example.test')"
    ).fetchone()[0]
    con.close()
    assert counts == {"customers": 400, "products": 30, "orders": 3000, "import_2023": 200}
    assert 0 < test_orders < 100  # the load test's orders the notebook deletes


def test_tables_and_bars_escape_and_refuse_bad_input() -> None:
    views = _load(NOTEBOOKS / "demo_views.py")
    html = views.table_html([{"name": "<b>x</b>", "n": 1}, {"name": "✓ ok", "extra": [1, 2]}])
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    assert html.count("<th ") == 3 and "[1, 2]" in html  # columns in first-seen order, JSON for non-text
    assert "var(--jp-success-color1" in html  # status marks in the theme's colours
    with pytest.raises(ValueError, match="2 values for 3 columns"):
        views.table_html([(1, 2)], columns=["a", "b", "c"])
    svg = views.bars_svg([("<jan>", 10), ("feb", 5.5)], title="t & u", unit="EUR")
    assert svg.startswith("<svg") and "&lt;jan&gt;" in svg and "t &amp; u" in svg and "5.50 EUR" in svg
    with pytest.raises(ValueError, match="finite and >= 0"):
        views.bars_svg([("a", -1)])
