"""Edits of structured types in the offline JupyterLite site: pydantic ships in the site and validates there.

The Pyodide kernel imports hitl_widget without pydantic (it is imported on the first edit),
then a datetime and a dataclass argument are edited through the Lite card as a person
types them; the function receives a ``datetime`` and the dataclass, not strings.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import assert_all_local
from lite_site import LiteSite, first_cell, first_cell_output, open_lite_notebook, run_code_in_new_cell, wait_cell_output

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SETUP = '''\
import dataclasses, datetime, sys, time
import hitl_widget
from hitl_widget import Edit, Gate, InvalidEdit, ScriptedApprover, require_approval
print("PYDANTIC_AT_IMPORT", "pydantic" in sys.modules)

@dataclasses.dataclass
class Address:
    city: str
    zip_code: str

@require_approval
def ship(to: Address, when: datetime.datetime) -> str:
    """Ship a parcel."""
    print("RAN", type(to).__name__, to.city, to.zip_code, type(when).__name__, when.isoformat())
    return "shipped"

def call():
    print("RESULT", ship(Address("Berlin", "10115"), datetime.datetime(2024, 1, 1, 9, 0)))

t0 = time.perf_counter()
import pydantic
t1 = time.perf_counter()
scripted = Gate(approver=ScriptedApprover([Edit({"when": "2025-06-07T08:09", "to": '{"city": "Graz", "zip_code": "8010"}'})]))
scripted.wrap(ship.__wrapped__)(Address("x", "y"), datetime.datetime(2020, 1, 1))
t2 = time.perf_counter()
bad = Gate(approver=ScriptedApprover([Edit({"to": '{"city": 5}'})])).wrap(ship.__wrapped__)
try:
    bad(Address("x", "y"), datetime.datetime(2020, 1, 1))
except InvalidEdit as e:
    print("PROBLEMS", e.problems)
print("PYDANTIC", pydantic.VERSION, f"import_ms={1000 * (t1 - t0):.0f}", f"first_edit_ms={1000 * (t2 - t1):.0f}")
'''


def test_datetime_and_dataclass_edits_through_the_lite_card(browser: Any, lite_site: LiteSite, page: Any) -> None:
    from playwright.sync_api import expect

    open_lite_notebook(page, lite_site, "quickstart.ipynb")
    run_code_in_new_cell(page, SETUP)
    out = first_cell_output(page)
    assert "PYDANTIC_AT_IMPORT False" in out, out  # importing hitl_widget does not import pydantic
    assert "RAN Address Graz 8010 datetime 2025-06-07T08:09:00" in out, out  # validation in the Pyodide kernel
    assert "PROBLEMS {'to': 'to.city: Input should be a valid string (input: 5); to.zip_code: Field required'}" in out, out
    match = re.search(r"PYDANTIC (\S+) import_ms=(\d+) first_edit_ms=(\d+)", out)
    assert match is not None, out
    print(f"Lite kernel: pydantic {match[1]}, import {match[2]} ms, first edit (TypeAdapters built) {match[3]} ms")

    run_code_in_new_cell(page, "call()")
    card = first_cell(page).locator(".hitl-card:not(.hitl-record)")
    card.wait_for(state="visible", timeout=60_000)
    card.get_by_role("button", name="Edit", exact=True).click()
    when = card.get_by_label("when (datetime)")
    to = card.get_by_label("to (Address)")
    run_edit = card.get_by_role("button", name="Run with these arguments")
    # a wrong value comes back from Python naming the field, and nothing runs
    when.fill("tomorrow")
    to.fill('{"city": "Munich"}')
    run_edit.click()
    problems = card.locator(".hitl-problems")
    expect(problems).to_contain_text("to.zip_code: Field required", timeout=60_000)
    expect(problems).to_contain_text("when", timeout=60_000)
    when.fill("2025-03-04T05:06")
    to.fill('{"city": "Munich", "zip_code": "80331"}')
    run_edit.click()
    out = wait_cell_output(page, first_cell(page), "RESULT shipped", 60_000)
    assert "RAN Address Munich 80331 datetime 2025-03-04T05:06:00" in out, out
    assert out.count("RAN") == 1, out
    assert_all_local(page)
