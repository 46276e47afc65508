"""The dashboard's HTML pages: ``GET /`` (the queue), ``GET /login``, ``GET /requests/{id}``.

Each page is a static shell: no data of its own, no inline script or style. It loads the
bundle built from ``js/src/dashboard/`` (``static/dashboard.js`` and ``static/dashboard.css``,
served by the app at ``/static/``), which reads everything else from the JSON API with the
session cookie. The login page's form is in the HTML, so it works before (or without) the script.

Every link is relative to the page (``<meta name="hitl-root">`` holds the way back to the
dashboard's root), so the pages work at ``/`` and behind a path prefix such as
jupyter-server-proxy's ``/hitl/``, whether or not the proxy strips it.

Every answer carries a strict ``Content-Security-Policy`` (scripts, styles and connections
from this origin only; no inline code, no plugins, no framing by other sites) and
``Cache-Control: no-store``. The asset URLs carry a hash of the files (``?v=``), so a browser
never runs an old bundle against a new server.

``routes(settings=None) -> list[Route]`` is what :func:`hitl_widget.dashboard.app.create_app`
mounts; ``settings.static_dir`` (when given) is where the bundle is looked for.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route
except ModuleNotFoundError:  # say what to install (MissingLibrary), not a bare ModuleNotFoundError
    from ..environment import require_dashboard_libraries

    require_dashboard_libraries()
    raise

__all__ = ["CONTENT_SECURITY_POLICY", "routes"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

#: What the pages may load: only this origin's files and API, nothing inline, no frames of
#: other sites. ``img-src data:`` for the browser's own form controls' images.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ]
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
}

_ASSETS = ("dashboard.js", "dashboard.css")
_LOGIN_ERRORS = {
    "invalid": "Wrong username or password.",
    "missing": "Enter your username and password.",
}
# A path inside the dashboard to return to after login: the same rule as safeNext in js/src/dashboard/shell.ts.
_SAFE_NEXT = re.compile(r"^[A-Za-z0-9._~%\-/?=&]*$")


class _AssetVersions:
    """A short hash of each asset, re-read when its modification time changes."""

    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir
        self._seen: dict[str, tuple[float, str]] = {}

    def version(self, name: str) -> str | None:
        """The hash of ``static_dir/name`` (12 hex digits), or None when the file is missing."""
        path = self.static_dir / name
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._seen.get(name)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self._seen[name] = (mtime, digest)
        return digest


def relative_root(request: Request) -> str:
    """The way from the page to the dashboard's root: ``./`` for ``/`` and ``/login``, ``../`` for
    ``/requests/ID`` (the path is taken without the app's ``root_path``)."""
    path = request.url.path
    root_path = str(request.scope.get("root_path") or "").rstrip("/")
    if root_path and path.startswith(root_path + "/"):
        path = path[len(root_path) :]
    depth = max(0, path.count("/") - 1)
    return "../" * depth if depth else "./"


def safe_next(value: str | None) -> str:
    """``value`` when it is a relative path inside the dashboard (``requests/ID``), else ""."""
    if not value or value.startswith(("/", "\\")) or "//" in value or not _SAFE_NEXT.match(value):
        return ""
    if urlsplit(value).scheme or ":" in value:
        return ""
    return value


def _shell(request: Request, versions: _AssetVersions, *, page: str, title: str, body: str) -> Response:
    root = relative_root(request)
    found = {name: versions.version(name) for name in _ASSETS}
    missing = [name for name, v in found.items() if v is None]
    if missing:
        text = (
            f"The dashboard's page bundle is missing ({', '.join(missing)} in {versions.static_dir}): "
            "build it with `cd js && npm run build` (a wheel of hitl_widget always contains it)."
        )
        return HTMLResponse(
            f"<!doctype html><html lang=en><meta charset=utf-8><title>hitl dashboard</title><p>{html.escape(text)}</p></html>",
            status_code=500,
            headers=_HEADERS,
        )
    esc = html.escape
    document = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<meta name="hitl-page" content="{esc(page)}">
<meta name="hitl-root" content="{esc(root)}">
<title>{esc(title)} · hitl dashboard</title>
<link rel="stylesheet" href="{esc(root)}static/dashboard.css?v={found["dashboard.css"]}">
<script type="module" src="{esc(root)}static/dashboard.js?v={found["dashboard.js"]}"></script>
</head>
<body>
{body}
</body>
</html>
"""
    return HTMLResponse(document, headers=_HEADERS)


_APP_BODY = """<div id="app"><p class="dash-loading">Loading…</p></div>
<noscript><p class="dash-error">The dashboard needs JavaScript to show and decide requests.</p></noscript>"""


def _login_body(request: Request) -> str:
    error = _LOGIN_ERRORS.get(request.query_params.get("error", ""), "")
    nxt = safe_next(request.query_params.get("next"))
    hidden = f'\n  <input type="hidden" name="next" value="/{html.escape(nxt)}">' if nxt else ""
    return f"""<main class="dash-login-page">
<form id="login" class="dash-login" method="post" action="login" aria-labelledby="login-title">
  <div class="dash-login-tools"></div>
  <h1 id="login-title">Log in to approve</h1>
  <label for="login-username">Username
    <input id="login-username" name="username" type="text" autocomplete="username"
      autocapitalize="none" spellcheck="false" required autofocus>
  </label>
  <label for="login-password">Password
    <input id="login-password" name="password" type="password" autocomplete="current-password" required>
  </label>{hidden}
  <button type="submit">Log in</button>
  <p class="dash-login-error" role="alert">{html.escape(error)}</p>
</form>
</main>"""


def routes(settings: Any = None) -> list[Route]:
    """The pages' routes (GET, and HEAD): ``/``, ``/login``, ``/requests/{id}``.

    ``settings``: the app's ``Settings``; its ``static_dir`` (when set) is where the bundle is.
    """
    static_dir = Path(getattr(settings, "static_dir", None) or STATIC_DIR)
    versions = _AssetVersions(static_dir)

    async def queue(request: Request) -> Response:
        return _shell(request, versions, page="queue", title="Approval queue", body=_APP_BODY)

    async def login(request: Request) -> Response:
        return _shell(request, versions, page="login", title="Log in", body=_login_body(request))

    async def one_request(request: Request) -> Response:
        return _shell(request, versions, page="request", title="Request", body=_APP_BODY)

    return [
        Route("/", queue, methods=["GET"], name="page_queue"),
        Route("/login", login, methods=["GET"], name="page_login"),
        Route("/requests/{id}", one_request, methods=["GET"], name="page_request"),
    ]
