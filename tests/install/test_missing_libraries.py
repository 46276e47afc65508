"""A channel whose library is missing says what to install, where it is chosen or first used.

Fast, in this environment: the card's libraries are hidden by setting ``sys.modules[name] = None``
(Python's way to make an import fail). test_fresh_venv.py does the same with real installs.
"""

from __future__ import annotations

import importlib
import sys

import pytest

from hitl_widget import NoApprovalChannel, require_approval
from hitl_widget import environment as env
from hitl_widget.approvers.default import FailClosed, default_approver
from hitl_widget.environment import MissingLibrary

CARD = ["anywidget", "ipywidgets", "traitlets"]


@pytest.fixture
def in_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """As inside a Jupyter kernel, with no notebook approver made yet."""
    monkeypatch.setattr(env, "in_ipython_kernel", lambda: True)
    monkeypatch.setattr(env, "_notebook", None)


def hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    "missing", [["anywidget"], ["ipywidgets"], ["traitlets"], ["anywidget", "ipywidgets"], CARD], ids="+".join
)
def test_in_a_kernel_the_call_fails_closed_naming_the_missing_libraries(monkeypatch, in_kernel, missing):
    hide(monkeypatch, *missing)
    ran = []

    @require_approval
    def double(x: int) -> int:
        ran.append(x)
        return 2 * x

    with pytest.raises(NoApprovalChannel) as info:
        double(2)
    message = str(info.value)
    assert message.startswith("double(x=2) was not run: it failed closed: this is a Jupyter kernel")
    for name in CARD:
        assert (name in message) == (name in missing), (name, message)
    assert "%pip install 'hitl_widget[notebook]'" in message and "restart the kernel" in message
    assert "HITL_MODE" in message  # the other ways out are still named
    assert ran == []
    assert info.value.__context__ is None  # raised by the approver itself, not out of a failed import


def test_outside_a_kernel_a_missing_card_library_is_not_mentioned(monkeypatch):
    hide(monkeypatch, "anywidget")
    monkeypatch.setattr(env, "in_ipython_kernel", lambda: False)
    monkeypatch.setattr(env, "has_tty", lambda: False)
    approver = default_approver()
    assert isinstance(approver, FailClosed) and approver.problems == []
    assert "anywidget" not in approver.message() and "no approval channel is available here" in approver.message()


def test_once_installed_the_card_is_chosen_without_restarting_python(monkeypatch, in_kernel):
    hide(monkeypatch, "anywidget")
    assert isinstance(default_approver(), FailClosed)
    monkeypatch.delitem(sys.modules, "anywidget")  # "installed" now
    from hitl_widget.approvers.notebook import NotebookApprover

    assert isinstance(default_approver(), NotebookApprover)


@pytest.mark.parametrize("missing", [["anywidget"], ["ipywidgets", "traitlets"]], ids="+".join)
def test_a_notebook_approver_named_explicitly_fails_at_decoration(monkeypatch, missing):
    from hitl_widget.approvers.notebook import NotebookApprover

    hide(monkeypatch, *missing)
    with pytest.raises(MissingLibrary) as info:
        require_approval(approver=NotebookApprover())
    assert info.value.name == missing[0]
    assert " and ".join(missing) in str(info.value) and "hitl_widget[notebook]" in str(info.value)


def test_importing_the_card_says_what_to_install(monkeypatch):
    hide(monkeypatch, "anywidget")
    monkeypatch.delitem(sys.modules, "hitl_widget.widget", raising=False)
    with pytest.raises(MissingLibrary, match=r"notebook card needs anywidget, which is not installed .*hitl_widget\[notebook\]"):
        importlib.import_module("hitl_widget.widget")
    monkeypatch.delitem(sys.modules, "anywidget")
    assert importlib.import_module("hitl_widget.widget").ApprovalCard  # with anywidget back, it imports


def test_missing_library_is_an_import_error_for_existing_handlers():
    with pytest.raises(ImportError) as info:
        env.require_libraries(["surely_not_installed_xyz", "json"], needed_for="the test channel", install="pip install xyz")
    assert isinstance(info.value, ModuleNotFoundError) and info.value.name == "surely_not_installed_xyz"
    assert str(info.value).startswith("the test channel needs surely_not_installed_xyz, which is not installed")
    assert str(info.value).endswith("Install: pip install xyz")
    env.require_libraries(["json", "hitl_widget"], needed_for="x", install="y")  # present: no error


def test_missing_modules_does_not_import_what_it_checks(monkeypatch):
    monkeypatch.delitem(sys.modules, "antigravity", raising=False)
    assert env.missing_modules(["antigravity", "not_a_module_hitl"]) == ["not_a_module_hitl"]
    assert "antigravity" not in sys.modules  # found by its spec, not imported (it would open a browser)


def test_the_core_imports_and_decides_without_the_card_libraries(tmp_path):
    """A fresh interpreter with anywidget/ipywidgets/traitlets unimportable: the core works."""
    import subprocess

    code = (
        "import sys\n"
        "for name in ('anywidget', 'ipywidgets', 'traitlets', 'IPython'):\n"
        "    sys.modules[name] = None\n"
        "from hitl_widget import Gate, ScriptedApprover, Approve\n"
        "gate = Gate(approver=ScriptedApprover([Approve()]))\n"
        "print(gate.wrap(lambda x: x * 2)(21))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"


def test_every_module_imports_or_names_what_to_install(tmp_path):
    """With the card's libraries unimportable, each hitl_widget module imports, or its ImportError says what to install.

    Channels and integrations import their libraries lazily, or raise MissingLibrary (or an
    ImportError naming the ``pip install``, as the SDK integrations do): never a bare
    ModuleNotFoundError from a module of this package. Runs in a fresh interpreter (the agent
    SDKs are not installed in the dev environment: their own venv is make test-integrations').
    """
    import subprocess

    code = (
        "import importlib, pkgutil, sys\n"
        "for name in ('anywidget', 'ipywidgets', 'traitlets'):\n"
        "    sys.modules[name] = None\n"
        "import hitl_widget\n"
        "from hitl_widget.environment import MissingLibrary\n"
        "for info in pkgutil.walk_packages(hitl_widget.__path__, 'hitl_widget.'):\n"
        "    if info.name.endswith('.__main__'):\n"
        "        continue\n"
        "    try:\n"
        "        importlib.import_module(info.name)\n"
        "    except MissingLibrary as exc:\n"
        "        print('MISSING', info.name, exc.name)\n"
        "    except ImportError as exc:\n"
        "        print('NAMED' if 'pip install' in str(exc) else 'BARE', info.name, type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line for line in lines if line.startswith("BARE")] == []
    assert "MISSING hitl_widget.widget anywidget" in lines  # the card's module says what to install


SERVER_MODULES = [
    "hitl_widget.dashboard.app",
    "hitl_widget.dashboard.api",
    "hitl_widget.dashboard.events",
    "hitl_widget.dashboard.pages",
    "hitl_widget.dashboard.sessions",
    "hitl_widget.chat.slack_interactions",
]


@pytest.mark.parametrize("module", SERVER_MODULES)
@pytest.mark.parametrize("missing", ["starlette", "anyio"])
def test_the_dashboard_server_without_its_libraries_names_the_extra(monkeypatch, module, missing):
    for name in [m for m in sys.modules if m.startswith(("hitl_widget.dashboard.", "hitl_widget.chat."))]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh, without the library (restored after)
    hide(monkeypatch, missing)
    with pytest.raises(MissingLibrary) as info:
        importlib.import_module(module)
    assert "pip install 'hitl_widget[dashboard]'" in str(info.value)
    assert missing in str(info.value) or info.value.name in ("starlette", "anyio")


def test_the_dashboard_store_needs_none_of_the_server_libraries(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m.startswith("hitl_widget.dashboard.")]:
        monkeypatch.delitem(sys.modules, name)
    hide(monkeypatch, "starlette", "anyio", "uvicorn")
    store_module = importlib.import_module("hitl_widget.dashboard.store")
    store = store_module.open_store(str(tmp_path / "hitl.db"))
    store.close()
