"""The wheels hitl_widget's core and its tests need under Pyodide, downloaded once into build/.

    .venv/bin/python scripts/pyodide_wheels.py [--cache build/pyodide-cache/wheels] [--manifest FILE]

npm's ``pyodide`` (js/node_modules/pyodide) ships the runtime but no package wheels. This
resolves the core's dependencies from pyproject.toml under Pyodide's markers
(``sys_platform == "emscripten"``; the notebook card's anywidget and ipywidgets left out: the
core must import without them) plus pytest, walks their requirements through the
distributions installed in this (the build) environment, and downloads each at the installed
version: the pure-Python ``py3-none-any`` wheel where there is one, else the Pyodide build
(``cp314-cp314-pyemscripten_2026_0_wasm32``, pydantic-core). Wheels already in the cache are
reused, so only a fresh machine downloads. The manifest (JSON: a list of wheel paths) is what
tests/pyodide/run.mjs unpacks.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "pyodide-cache" / "wheels"
NPM_PYODIDE = ROOT / "js" / "node_modules" / "pyodide"
#: what the tests need beyond the core's dependencies
TEST_ROOTS = ["pytest"]
#: the card's libraries: not part of the core (installed as dependencies, never imported by it)
LEFT_OUT = {"anywidget", "ipywidgets"}


def log(msg: str) -> None:
    print(f"[pyodide_wheels] {msg}", file=sys.stderr, flush=True)


def pyodide_info() -> tuple[str, str]:
    """(Python version "3.14", platform tag "pyemscripten_2026_0_wasm32") of npm's pyodide."""
    lock_path = NPM_PYODIDE / "pyodide-lock.json"
    if not lock_path.exists():
        sys.exit(f"{lock_path} is missing: run `npm ci` in js/ (make does it)")
    info = json.loads(lock_path.read_text())["info"]
    major, minor = str(info["python"]).split(".")[:2]
    return f"{major}.{minor}", f"pyemscripten_{info['abi_version']}_{info['arch']}"


def marker_environment(python_version: str) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "implementation_version": python_version,
        "os_name": "posix",
        "platform_machine": "wasm32",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Emscripten",
        "platform_version": "",
        "python_full_version": python_version + ".0",
        "python_version": python_version,
        "sys_platform": "emscripten",
        "extra": "",
    }


def applies(line: str, env: dict[str, str]) -> Requirement | None:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate(env):
        return None
    return req


def core_roots(env: dict[str, str]) -> list[str]:
    """hitl_widget's own dependencies (no extras) under Pyodide, without the card's libraries."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = []
    for line in project["dependencies"]:
        req = applies(line, env)
        if req is not None and canonicalize_name(req.name) not in LEFT_OUT:
            names.append(canonicalize_name(req.name))
    return names


def resolve(roots: list[str], env: dict[str, str]) -> dict[str, str]:
    """name -> version for ``roots`` and everything they require under Pyodide (as installed here)."""
    found: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            sys.exit(f"{name} is needed under Pyodide but not installed in this environment (its version pins the wheel)")
        found[name] = dist.version
        for line in dist.requires or []:
            req = applies(line, env)
            if req is not None:
                todo.append(req.name)
    return found


def cached(cache: Path, name: str, version: str) -> Path | None:
    for whl in sorted(cache.glob("*.whl")):
        wname, wversion, _, _ = parse_wheel_filename(whl.name)
        if wname == name and str(wversion) == version:
            return whl
    return None


def download(cache: Path, name: str, version: str, python_version: str, platform: str) -> Path:
    """The pure-Python wheel of ``name==version``, else its Pyodide build; from the cache when there."""
    whl = cached(cache, name, version)
    if whl is not None:
        return whl
    common = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", str(cache)]
    target = f"{name}=={version}"
    attempts = [
        ["--python-version", python_version, "--platform", "any", "--implementation", "py"],
        ["--python-version", python_version, "--platform", platform, "--implementation", "cp"],
    ]
    for extra in attempts:
        log(f"download {target} ({' '.join(extra)})")
        proc = subprocess.run([*common, *extra, target], capture_output=True, text=True)
        whl = cached(cache, name, version)
        if whl is not None:
            return whl
        last = proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []
    sys.exit(f"no pure-Python wheel and no {platform} wheel of {target} could be downloaded: {' '.join(last)}")


def wheels(cache: Path = CACHE) -> list[Path]:
    """Every wheel to unpack into Pyodide's site-packages, downloading what the cache lacks."""
    python_version, platform = pyodide_info()
    env = marker_environment(python_version)
    cache.mkdir(parents=True, exist_ok=True)
    versions = resolve([*core_roots(env), *TEST_ROOTS], env)
    return [download(cache, name, version, python_version, platform) for name, version in sorted(versions.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE, help="where wheels are kept (default: build/pyodide-cache/wheels)")
    parser.add_argument("--manifest", type=Path, help="write the wheel paths there as JSON (default: print them)")
    args = parser.parse_args(argv)
    paths = [str(p) for p in wheels(args.cache)]
    if args.manifest:
        args.manifest.parent.mkdir(parents=True, exist_ok=True)
        args.manifest.write_text(json.dumps(paths, indent=1) + "\n")
    else:
        print("\n".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
