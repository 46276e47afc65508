"""Channels that ask a person (or answer for one). One module per channel."""

from .auto import AutoApprove, AutoReject
from .dashboard import DashboardApprover
from .scripted import ScriptedApprover
from .terminal import TerminalApprover

__all__ = ["AutoApprove", "AutoReject", "DashboardApprover", "ScriptedApprover", "TerminalApprover"]
