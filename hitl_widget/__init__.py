"""hitl_widget: a person approves, edits or rejects an AI agent's function calls before they run."""

from . import environment as _environment
from .approvers import AutoApprove, AutoReject, DashboardApprover, ScriptedApprover, TerminalApprover
from .audit import AuditLog
from .batch import Batch
from .decisions import Approve, Edit, Reject
from .errors import (
    ApprovalCancelled,
    ApprovalRejected,
    ApprovalTimeout,
    AuditUnavailable,
    AuditWarning,
    InvalidEdit,
    NoApprovalChannel,
)
from .gate import Gate, require_approval
from .policy import Budget, TimeWindow
from .request import ApprovalRequest

__version__ = "0.1.0"

if _environment.in_pyodide() and _environment.in_ipython_kernel():
    _environment.cells.install()  # JupyterLite: know when no cell runs (a JS callback), see LiteApprover

_LAZY = {"SlackApprover": "hitl_widget.chat.slack", "TeamsNotifier": "hitl_widget.chat.teams"}


def __getattr__(name: str) -> object:
    """Chat channels (``SlackApprover``, ``TeamsNotifier``), imported on first use: they need the ``slack`` extra."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hitl_widget' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ApprovalCancelled",
    "ApprovalRejected",
    "ApprovalRequest",
    "ApprovalTimeout",
    "Approve",
    "AuditLog",
    "AuditUnavailable",
    "AuditWarning",
    "AutoApprove",
    "AutoReject",
    "Batch",
    "Budget",
    "DashboardApprover",
    "Edit",
    "Gate",
    "InvalidEdit",
    "NoApprovalChannel",
    "Reject",
    "ScriptedApprover",
    "SlackApprover",
    "TeamsNotifier",
    "TerminalApprover",
    "TimeWindow",
    "__version__",
    "require_approval",
]
