"""The dashboard inside any Jupyter server, through jupyter-server-proxy (the ``jupyter-proxy`` extra).

``pip install 'hitl_widget[jupyter-proxy]'`` registers :func:`setup_hitl` under the entry point
group ``jupyter_serverproxy_servers`` (name ``hitl``): the Jupyter server then starts
``python -m hitl_widget dashboard`` on a free loopback port the first time someone opens
``/hitl/`` (or clicks the launcher tile "HITL dashboard"), and proxies to it. The proxy strips
``/hitl`` and sends ``X-Forwarded-Prefix``, which the app uses for its links and cookie path.

The database is ``$HITL_DB`` (default ``hitl.db`` in the Jupyter server's working directory), the
policy ``$HITL_POLICY`` (default: one approval by any approver). People still log in to the
dashboard with their dashboard account: Jupyter's own login only guards the proxy.
``jupyter-config/jupyter_server_config.py`` shows the same registration written out, for a
deployment that wants another name, database or policy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["ICON", "setup_hitl"]

ICON = Path(__file__).resolve().parent / "hitl-dashboard.svg"


def setup_hitl(
    db: str | None = None, policy: str | None = None, port: int | None = None, *, title: str = "HITL dashboard"
) -> dict[str, Any]:
    """The jupyter-server-proxy server process for the dashboard (a ``ServerProcess`` dict).

    ``db`` / ``policy`` / ``port`` default to ``$HITL_DB`` / ``$HITL_POLICY`` / ``$HITL_PORT``
    (read when Jupyter starts); without a port the proxy picks a free one. A fixed port lets
    agents on the same machine reach the dashboard directly (``http://127.0.0.1:PORT``): they
    cannot go through the proxy, which wants Jupyter's login.
    """
    db = db or os.environ.get("HITL_DB") or "hitl.db"
    policy = policy or os.environ.get("HITL_POLICY") or None
    if port is None and os.environ.get("HITL_PORT"):
        port = int(os.environ["HITL_PORT"])
    command = [sys.executable, "-m", "hitl_widget", "dashboard", "--host", "127.0.0.1", "--port", "{port}", "--db", db]
    if policy:
        command += ["--policy", policy]
    process: dict[str, Any] = {
        "command": command,
        "timeout": 30,
        "absolute_url": False,
        "new_browser_tab": True,
        "launcher_entry": {"title": title, "icon_path": str(ICON), "category": "Other"},
    }
    if port:
        process["port"] = port
    return process
