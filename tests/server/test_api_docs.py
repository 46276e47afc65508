"""docs/dashboard-api.md describes every route the app serves, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Mount, Route

from hitl_widget.dashboard.app import create_app
from hitl_widget.dashboard.store import open_store

DOC = Path(__file__).resolve().parents[2] / "docs" / "dashboard-api.md"
HEADING = re.compile(r"^### (GET|POST|PUT|PATCH|DELETE) (/\S*)$", re.MULTILINE)
# documented beside the API, served by other modules when they import (pages, the Slack extra)
OPTIONAL_PREFIXES = ("/slack/",)
OPTIONAL_PAGES = {("GET", "/"), ("GET", "/login"), ("GET", "/requests/{id}")}


def served(tmp_path: Path) -> set[tuple[str, str]]:
    with open_store(str(tmp_path / "hitl.db")) as store:
        app = create_app(store)
        found: set[tuple[str, str]] = set()
        for route in app.routes:
            if isinstance(route, Mount):
                found.add(("GET", route.path + "/{path}"))
            elif isinstance(route, Route):
                for method in route.methods or ():
                    if method != "HEAD":
                        found.add((method, route.path))
        return found


def documented() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in HEADING.finditer(DOC.read_text())]


def test_every_route_is_documented_once(tmp_path: Path) -> None:
    routes = served(tmp_path)
    docs = documented()
    assert len(docs) == len(set(docs)), "a route is documented twice"
    missing = routes - set(docs)
    assert not missing, f"served but not in {DOC.name}: {sorted(missing)}"
    extra = {d for d in set(docs) - routes if not d[1].startswith(OPTIONAL_PREFIXES) and d not in OPTIONAL_PAGES}
    assert not extra, f"in {DOC.name} but not served: {sorted(extra)}"


def test_the_json_api_is_all_there(tmp_path: Path) -> None:
    """The API of the shared interface, as built (the doc test above would pass on an empty app)."""
    routes = served(tmp_path)
    for route in [
        ("POST", "/api/requests"),
        ("GET", "/api/requests"),
        ("GET", "/api/requests/{id}"),
        ("GET", "/api/requests/{id}/wait"),
        ("POST", "/api/requests/{id}/claim"),
        ("POST", "/api/requests/{id}/outcome"),
        ("POST", "/api/requests/{id}/invalid-edit"),
        ("POST", "/api/requests/{id}/cancel"),
        ("POST", "/api/requests/{id}/decisions"),
        ("POST", "/api/decisions"),
        ("GET", "/api/events"),
        ("GET", "/api/me"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/healthz"),
    ]:
        assert route in routes, route
