"""Serve a built JupyterLite site on 127.0.0.1 (static files, with .wasm and .mjs typed for browsers).

    .venv/bin/python scripts/serve_lite.py [--port 8000] [--directory build/lite]

``make_server`` is importable (tests/browser/lite_site.py serves the site from a thread with it).
"""

from __future__ import annotations

import argparse
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


class LiteRequestHandler(SimpleHTTPRequestHandler):
    # Explicit, not left to the machine's mime.types: browsers compile .wasm streaming only as
    # application/wasm, and load module workers (.mjs) only with a JavaScript type.
    extensions_map = {  # noqa: RUF012 (SimpleHTTPRequestHandler's own class attribute)
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
        ".ipynb": "application/json",
        ".whl": "application/zip",
        ".zip": "application/zip",
    }

    def log_message(self, format: str, *args: Any) -> None:
        if not getattr(self.server, "quiet", False):
            super().log_message(format, *args)


def make_server(directory: Path, port: int = 0, *, quiet: bool = False) -> ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1:``port`` (0: a free port); call ``serve_forever``."""
    handler = functools.partial(LiteRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    server.quiet = quiet  # type: ignore[attr-defined]
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a built JupyterLite site on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--directory", type=Path, default=ROOT / "build" / "lite")
    args = parser.parse_args(argv)
    directory: Path = args.directory.resolve()
    if not (directory / "jupyter-lite.json").exists():
        sys.exit(f"{directory} is not a built JupyterLite site: run `make lite-build`")
    server = make_server(directory, args.port)
    port = server.server_address[1]
    print(f"JupyterLite: http://{HOST}:{port}/lab/index.html  (serving {directory}; Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
