"""``pip install hitl_widget`` into fresh environments, then ``@require_approval`` in a real kernel.

The wheel is built from a copy of the checkout (tests/install/fresh.py). One venv gets it the way
a user installs it, beside JupyterLab: the card must come up and decide the call. The other gets
it with ``--no-deps`` and only the core's dependencies (plus ipykernel, to have a kernel at all):
every way of reaching the card must say what to install.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from fresh import Frontend, Venv, clean_env, wheel_files, wheel_requirements
from packaging.utils import canonicalize_name

from hitl_widget.dashboard.sql_store import migrations
from hitl_widget.protocol import PROTOCOL_VERSION  # the checkout's: the wheel is built from it

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CARD_LIBRARIES = {"anywidget", "ipywidgets"}

CELL = '''
import hitl_widget
from hitl_widget import require_approval

@require_approval
def double(x: int) -> int:
    """Double x."""
    print("RAN", x)
    return 2 * x
print("FROM", hitl_widget.__file__)
'''


def card_comm(fe: Frontend, function: str, timeout: float = 20) -> dict[str, Any]:
    """The ``comm_open`` of the card for ``function``: the widget model's content."""
    opened = fe.wait_iopub(
        lambda m: (
            m["msg_type"] == "comm_open"
            and m["content"].get("target_name") == "jupyter.widget"
            and m["content"]["data"].get("state", {}).get("request", {}).get("function") == function
        ),
        timeout,
    )
    content: dict[str, Any] = opened["content"]
    return content


def approve(fe: Frontend, content: dict[str, Any]) -> None:
    request_id = content["data"]["state"]["request"]["id"]
    decision = {"kind": "decision", "version": PROTOCOL_VERSION, "request_id": request_id, "decision": {"kind": "approve"}}
    fe.send_comm_msg(content["comm_id"], {"method": "custom", "content": decision})


def error_reply(fe: Frontend, code: str) -> dict[str, Any]:
    msg_id = fe.client.execute(code)
    reply = fe.reply(msg_id, timeout=30)
    fe.wait_idle(msg_id, timeout=30)
    assert reply["content"]["status"] == "error", (code, fe.stdout(msg_id))
    content: dict[str, Any] = reply["content"]
    return content


def test_pip_install_beside_jupyterlab_gives_a_working_card(wheel: Path, tmp_path: Path) -> None:
    assert "hitl_widget/static/widget.js" in wheel_files(wheel)
    assert {"hitl_widget/static/dashboard.js", "hitl_widget/static/dashboard.css"} <= set(wheel_files(wheel))
    venv = Venv.create(tmp_path / "venv")
    venv.install(wheel, "jupyterlab")
    assert venv.has("anywidget") and venv.has("ipywidgets")  # pulled in by hitl_widget, not by jupyterlab

    # the frontend halves, where this JupyterLab loads prebuilt extensions from: the card renders there
    labextensions = venv.path / "share" / "jupyter" / "labextensions"
    for name in ("anywidget", "@jupyter-widgets/jupyterlab-manager"):
        assert (labextensions / name / "package.json").is_file(), sorted(p.name for p in labextensions.iterdir())

    with venv.kernel(tmp_path) as fe:
        out = fe.run(CELL, timeout=60)
        assert f"FROM {venv.path}" in out, out  # the installed wheel, not the checkout
        msg_id = fe.client.execute("print('RESULT', double(21))")
        card = card_comm(fe, "double")
        assert len(card["data"]["state"]["_esm"]) > 1000  # the card's JS came with the wheel
        approve(fe, card)
        fe.wait_idle(msg_id, timeout=30)
        assert "RAN 21" in fe.stdout(msg_id) and "RESULT 42" in fe.stdout(msg_id)


def test_installed_without_the_card_libraries_every_way_to_the_card_names_what_to_install(wheel: Path, tmp_path: Path) -> None:
    venv = Venv.create(tmp_path / "venv")
    venv.install("--no-deps", wheel)
    core = [str(r) for r in wheel_requirements(wheel) if canonicalize_name(r.name) not in CARD_LIBRARIES]
    assert core, "the wheel declares no core dependencies"
    venv.install(*core, "ipykernel")
    assert not venv.has("anywidget") and not venv.has("ipywidgets")

    # the core imports and works (a script, no channel): the card's libraries are not touched
    script = venv.python_run(
        "import sys, hitl_widget\n"
        "from hitl_widget import Gate, ScriptedApprover, Approve\n"
        "print(Gate(approver=ScriptedApprover([Approve()])).wrap(lambda x: x + 1)(41))\n"
        "print(sorted(m for m in ('anywidget', 'ipywidgets') if m in sys.modules))\n",
        tmp_path,
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.split() == ["42", "[]"]

    # without the dashboard extra: the command line and the store's module import, and none of the
    # server's libraries is loaded; a dashboard command that needs one names the extra
    shipped = wheel_files(wheel)
    for backend in ("sqlite", "postgresql"):
        for mig in migrations(backend):
            assert f"hitl_widget/dashboard/migrations/{backend}/{mig.number:03d}_{mig.name}.sql" in shipped
    server_libraries = ("starlette", "uvicorn", "argon2", "psycopg", "psycopg_pool", "slack_sdk", "httpx")
    # (a SQLite store needs none of them: the wheel carries its migrations)
    script = venv.python_run(
        "import sys, hitl_widget.cli, hitl_widget.dashboard.store\n"
        "assert hitl_widget.cli.main(['audit', 'verify', 'missing.jsonl']) == 2\n"
        f"print(sorted(m for m in {server_libraries!r} if m in sys.modules))\n"
        "from hitl_widget.dashboard.store import RequestQuery, open_store\n"
        "with open_store('fresh.db') as store:\n"
        "    print(store.schema_version(), len(store.list_requests(RequestQuery()).items))\n",
        tmp_path,
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout.split() == ["[]", str(len(migrations("sqlite"))), "0"]
    added = subprocess.run(
        [venv.bin("hitl"), "users", "add", "alice", "--db", tmp_path / "d.db"],
        input="pw\n", cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert added.returncode == 2 and "hitl_widget[dashboard]" in added.stderr, added.stderr

    # importing the card: one clear line, not a bare ModuleNotFoundError
    imported = venv.python_run("from hitl_widget.widget import ApprovalCard", tmp_path)
    last = imported.stderr.strip().splitlines()[-1]
    assert last.startswith("hitl_widget.environment.MissingLibrary: hitl_widget's notebook card needs anywidget and ipywidgets")
    assert "%pip install 'hitl_widget[notebook]'" in last and str(venv.python) in last

    with venv.kernel(tmp_path) as fe:
        fe.run(CELL, timeout=60)
        # the default approver in a kernel: fails closed at the first call, before the function runs
        err = error_reply(fe, "double(2)")
        assert err["ename"] == "NoApprovalChannel"
        assert err["evalue"].startswith("double(x=2) was not run: it failed closed: this is a Jupyter kernel, but hitl_widget's")
        for text in ("anywidget and ipywidgets", "%pip install 'hitl_widget[notebook]'", "restart the kernel", "HITL_MODE"):
            assert text in err["evalue"], err["evalue"]
        assert "ModuleNotFoundError" not in "\n".join(err["traceback"])
        # naming the card explicitly: fails at decoration
        explicit = "from hitl_widget.approvers.notebook import NotebookApprover\nrequire_approval(approver=NotebookApprover())"
        err = error_reply(fe, explicit)
        assert err["ename"] == "MissingLibrary" and "hitl_widget[notebook]" in err["evalue"]
        assert "RAN" not in "".join(m["content"].get("text", "") for m in fe.iopub if m["msg_type"] == "stream")

    # doing what the message says makes the card work
    venv.install(f"{wheel}[notebook]")
    with venv.kernel(tmp_path) as fe:
        fe.run(CELL, timeout=60)
        msg_id = fe.client.execute("print('RESULT', double(4))")
        approve(fe, card_comm(fe, "double"))
        fe.wait_idle(msg_id, timeout=30)
        assert "RESULT 8" in fe.stdout(msg_id)
