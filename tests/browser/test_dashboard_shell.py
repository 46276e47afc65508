"""The dashboard's HTML shells (hitl_widget/dashboard/pages.py) over HTTP, without a browser:
a strict CSP and no inline code, links relative to the page (so a path prefix works), the
login form with its labelled fields, and a clear error when the bundle was never built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from hitl_widget.dashboard import pages

STATIC = Path(pages.__file__).resolve().parent.parent / "static"


class _Settings:
    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir


def client(static_dir: Path = STATIC, root_path: str = "") -> TestClient:
    routes = [*pages.routes(_Settings(static_dir)), Mount("/static", app=StaticFiles(directory=static_dir, check_dir=False))]
    return TestClient(Starlette(routes=routes), root_path=root_path)


@pytest.fixture(scope="module", autouse=True)
def bundle() -> None:
    if not (STATIC / "dashboard.js").is_file():
        pytest.fail(f"{STATIC / 'dashboard.js'} is missing: build it with `cd js && node build.mjs`")


@pytest.mark.parametrize(
    ("path", "page", "root"), [("/", "queue", "./"), ("/login", "login", "./"), ("/requests/abc-1", "request", "../")]
)
def test_each_page_is_a_shell_with_a_strict_csp_and_relative_links(path: str, page: str, root: str) -> None:
    answer = client().get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'self'" in csp and "base-uri 'none'" in csp
    assert answer.headers["cache-control"] == "no-store"
    html = answer.text
    assert f'<meta name="hitl-page" content="{page}">' in html
    assert f'<meta name="hitl-root" content="{root}">' in html
    # no inline script or style: every <script> has a src, there is no <style> and no on*= handler
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert "<style" not in html and not re.search(r"\son[a-z]+=", html)
    src = re.search(r'<script type="module" src="([^"]+)"', html)
    assert src and src.group(1).startswith(f"{root}static/dashboard.js?v=")


def test_the_assets_load_from_the_links_the_shell_gives() -> None:
    c = client()
    html = c.get("/requests/abc-1").text
    for link in re.findall(r'(?:src|href)="\.\./(static/[^"]+)"', html):
        assert c.get("/" + link).status_code == 200, link


def test_the_asset_version_changes_with_the_bundle(tmp_path: Path) -> None:
    for name in ("dashboard.js", "dashboard.css"):
        (tmp_path / name).write_text("/* one */")
    c = client(tmp_path)
    first = re.search(r"dashboard\.js\?v=(\w+)", c.get("/").text)
    (tmp_path / "dashboard.js").write_text("/* two, longer */")
    second = re.search(r"dashboard\.js\?v=(\w+)", c.get("/").text)
    assert first and second and first.group(1) != second.group(1)


def test_a_missing_bundle_is_a_clear_error(tmp_path: Path) -> None:
    answer = client(tmp_path).get("/")
    assert answer.status_code == 500
    assert "dashboard.js" in answer.text and "npm run build" in answer.text


def test_behind_a_prefix_links_stay_relative() -> None:
    answer = client(root_path="/hitl").get("/hitl/requests/x")
    assert answer.status_code == 200
    assert '<meta name="hitl-root" content="../">' in answer.text


def test_the_login_form_has_labelled_fields_and_escapes_what_it_echoes() -> None:
    html = client().get("/login", params={"error": "invalid", "next": "requests/abc"}).text
    assert re.search(r'<label for="login-username">Username', html)
    assert re.search(r'<label for="login-password">Password', html)
    assert 'id="login-password" name="password" type="password"' in html
    assert 'method="post" action="login"' in html
    assert "Wrong username or password." in html
    assert '<input type="hidden" name="next" value="/requests/abc">' in html
    for hostile in ("//evil.example/", "https://evil.example/", '"><script>alert(1)</script>', "/absolute"):
        page = client().get("/login", params={"next": hostile, "error": "<b>"}).text
        assert 'name="next"' not in page and "<script>alert" not in page and "<b>" not in page


def test_head_is_answered_and_post_is_not_a_page() -> None:
    c = client()
    assert c.head("/").status_code == 200
    assert c.post("/requests/x").status_code == 405
