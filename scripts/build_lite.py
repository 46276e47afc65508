"""Build an offline JupyterLite site with hitl_widget into build/lite/.

    .venv/bin/python scripts/build_lite.py [--output-dir build/lite]

Everything the browser needs is served from the site itself; nothing is fetched from a CDN
or PyPI at run time:

* Pyodide's runtime comes from the npm package ``pyodide`` (pinned in js/package.json, at
  the version the installed jupyterlite-pyodide-kernel expects). It goes into the site's
  ``static/pyodide/``, and jupyterlite points the kernel there.
* npm's pyodide ships no package wheels, so the wheels the kernel needs are put beside it
  and listed in its ``pyodide-lock.json``: the current hitl_widget wheel (built from the
  working tree), its dependencies (makefun, tzdata, and the ``notebook`` extra: anywidget,
  ipywidgets, ...), the kernel's own packages (micropip, piplite, pyodide-kernel, the
  ipykernel and widgetsnbextension shims, ipython, jedi, comm) and everything they depend
  on. Packages Pyodide already locks keep their lock version, with ``file_name`` and
  ``sha256`` rewritten for the PyPI wheel (Pyodide checks the hash); the rest use the
  versions installed in the build environment, so the Python side matches the anywidget and
  jupyterlab_widgets frontend extensions that jupyterlite takes from that environment.
  Lock entries for wheels the site does not ship are dropped.
* pydantic (a core dependency: edits are validated with it) is the exception to "the lock's
  version": Pyodide's lock pins a pydantic-core that Pyodide built itself and PyPI does not
  carry, so pydantic, pydantic-core and the small packages pydantic pins take the build
  environment's versions (``FROM_BUILD_ENVIRONMENT``), and pydantic-core's wheel is PyPI's
  Pyodide build (platform tag ``pyemscripten_<abi>_wasm32``, e.g. pydantic-core 2.50.5 for
  pydantic 2.14.4).
* lite/jupyter-lite.json preloads the packages named in its ``loadPyodideOptions.packages``
  (hitl_widget among them) when the kernel starts, so ``import hitl_widget`` works with no
  ``%pip`` cell. The same names are the roots this script resolves the wheels from. Among
  them is pydantic-ai-slim, the example notebooks' demo agent (notebooks/demo_agent.py, the
  ``demo`` extra), with its pure-Python dependencies; a package that only Pyodide needs (so
  the build environment cannot have it installed, e.g. httpx2-jsfetch, httpx2's transport
  under Emscripten) is pinned in ``PYODIDE_ONLY``. Pyodide's own stdlib has sqlite3 (the
  data-analysis notebook's database), so no wheel is needed for it; ``check_site`` checks it
  is there (some Pyodide versions unvendor it into a package of their own).
* The site's files are every file of notebooks/ (each notebook, the demo agent, notebooks/data/
  with the SQLite database), the notebooks' kernelspec set to the Pyodide kernel's (else Lite
  asks which kernel to start).
* examples/pyodide-page/ goes to ``pyodide-page/``: a plain HTML page running Pyodide on
  the main thread, where hitl_widget asks with ``window.confirm`` / ``window.prompt``.

Wheels downloaded from PyPI are cached in build/lite-cache/wheels/; the jupyterlite input
is staged in build/lite-src/.
"""

from __future__ import annotations

import argparse
import email.parser
import fnmatch
import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from pyodide_wheels import marker_environment  # Pyodide's marker environment, shared with the Pyodide test leg

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
LITE_CONFIG_DIR = ROOT / "lite"
NOTEBOOKS = ROOT / "notebooks"
PYODIDE_PAGE = ROOT / "examples" / "pyodide-page"  # a plain page: Pyodide on the main thread, browser dialogs
STAGE = BUILD / "lite-src"  # the jupyterlite "lite dir"
WHEEL_DIR = BUILD / "wheels"  # the hitl_widget wheel built from the working tree
WHEEL_CACHE = BUILD / "lite-cache" / "wheels"  # wheels downloaded from PyPI
DEFAULT_OUTPUT = BUILD / "lite"
NPM_PYODIDE = ROOT / "js" / "node_modules" / "pyodide"

PYODIDE_KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
#: the files of npm's pyodide that a browser loads (no sourcemaps, no node-only files)
PYODIDE_RUNTIME = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
#: the kernelspec of jupyterlite-pyodide-kernel's kernel
LITE_KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
#: hitl_widget's extras installed in the site
HITL_EXTRAS = ["notebook"]
#: the pyodide-kernel's shims (from its labextension) that the site uses instead of PyPI's packages
KERNEL_SHIMS = ["piplite", "pyodide-kernel", "ipykernel", "widgetsnbextension"]
#: locked by Pyodide at versions PyPI has no Pyodide wheel for: the build environment's versions instead
FROM_BUILD_ENVIRONMENT = {"pydantic", "pydantic-core", "typing-extensions", "typing-inspection", "annotated-types"}
#: compiled packages: PyPI's Pyodide wheel (cp tag, the lock's platform) instead of a pure-Python one
COMPILED = {"pydantic-core"}
#: required only under Pyodide (a marker ``sys_platform == 'emscripten'``), so not installed in the
#: build environment, whose versions pin everything else: pinned here
PYODIDE_ONLY = {"httpx2-jsfetch": "1.0"}
#: stdlib modules the notebooks use that some Pyodide versions unvendor into packages of their own
#: (npm's pyodide ships none): the build checks they are in this Pyodide's python_stdlib.zip
STDLIB_NEEDED = ["sqlite3"]
#: left out of the site's copy of notebooks/
NOT_SHIPPED = (".ipynb_checkpoints", "*.audit.jsonl", "__pycache__", "*.pyc", "*.sqlite-journal", "*.sqlite-wal", "*.sqlite-shm")


@dataclass
class Wheel:
    path: Path
    name: str  # canonical
    version: str
    depends: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)


def log(msg: str) -> None:
    print(f"[build_lite] {msg}", flush=True)


def run(cmd: list[str], cwd: Path = ROOT) -> None:
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, cwd=cwd, check=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the pyodide runtime ----------------------------------------------------------------


def kernel_pyodide_version() -> str:
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION  # type: ignore[import-untyped]

    return str(PYODIDE_VERSION)


def check_npm_pyodide() -> dict[str, Any]:
    """npm's pyodide is installed at the kernel's version; returns its lock."""
    pkg_json = NPM_PYODIDE / "package.json"
    if not pkg_json.exists():
        sys.exit(f"{NPM_PYODIDE} is missing: run `npm ci` in js/ (make does it)")
    have = json.loads(pkg_json.read_text())["version"]
    want = kernel_pyodide_version()
    if have != want:
        sys.exit(f"js/package.json pins pyodide {have}, but jupyterlite-pyodide-kernel expects {want}: pin pyodide@{want}")
    lock: dict[str, Any] = json.loads((NPM_PYODIDE / "pyodide-lock.json").read_text())
    return lock


def lock_python_version(lock: dict[str, Any]) -> str:
    major, minor = str(lock["info"]["python"]).split(".")[:2]
    return f"{major}.{minor}"


# -- wheels -----------------------------------------------------------------------------


def build_hitl_wheel() -> Path:
    """Build the hitl_widget wheel from the working tree (the JS build runs in its build hook)."""
    WHEEL_DIR.mkdir(parents=True, exist_ok=True)
    for old in WHEEL_DIR.glob("hitl_widget-*.whl"):
        old.unlink()
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(WHEEL_DIR), "."])
    (wheel,) = WHEEL_DIR.glob("hitl_widget-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        if "hitl_widget/static/widget.js" not in zf.namelist():
            sys.exit(f"{wheel.name} has no hitl_widget/static/widget.js: the JS build did not run")
    return wheel


def pyodide_platform(lock: dict[str, Any]) -> str:
    """The wheel platform tag of Pyodide's compiled packages, e.g. ``pyemscripten_2026_0_wasm32``."""
    return f"pyemscripten_{lock['info']['abi_version']}_{lock['info']['arch']}"


def pip_download(name: str, version: str, python_version: str, platform: str | None = None) -> Path:
    """A wheel of ``name==version`` from PyPI, cached in build/lite-cache/wheels/.

    Pure Python (``py3-none-any``) unless ``platform`` names a Pyodide platform tag, for a
    compiled package's Pyodide build.
    """
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    want = platform or "any"

    def cached() -> Path | None:
        for whl in WHEEL_CACHE.glob("*.whl"):
            wname, wversion, _, tags = parse_wheel_filename(whl.name)
            if wname == name and str(wversion) == version and any(t.platform == want for t in tags):
                return whl
        return None

    whl = cached()
    if whl is None:
        # --platform any --implementation py: the py3-none-any wheel even where compiled ones exist (psygnal)
        run([
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, "--platform", want, "--implementation", "cp" if platform else "py",
            "-d", str(WHEEL_CACHE), f"{name}=={version}",
        ])  # fmt: skip
        whl = cached()
        if whl is None:
            sys.exit(f"pip downloaded no {want} wheel for {name}=={version}")
    return whl


def kernel_shim_wheels() -> dict[str, Path]:
    """The pyodide-kernel labextension's own wheels (piplite, pyodide-kernel, the ipykernel shim, ...)."""
    pypi = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / PYODIDE_KERNEL_PLUGIN.split(":")[0] / "static" / "pypi"
    found: dict[str, Path] = {}
    for whl in sorted(pypi.glob("*.whl")):  # sorted: widgetsnbextension 4.0.999 wins over 3.6.999
        found[str(parse_wheel_filename(whl.name)[0])] = whl
    missing = [n for n in KERNEL_SHIMS if n not in found]
    if missing:
        sys.exit(f"{pypi} lacks {missing}: is jupyterlite-pyodide-kernel installed in this environment?")
    return {n: found[n] for n in KERNEL_SHIMS}


def read_metadata(whl: Path) -> tuple[str, list[str], list[str]]:
    """(version, Requires-Dist lines, top-level import names) of a wheel."""
    with zipfile.ZipFile(whl) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
    tops: set[str] = set()
    for n in names:
        top = n.split("/")[0]
        if top.endswith((".dist-info", ".data")):
            continue
        if "/" in n:
            if n.endswith("/__init__.py") and n.count("/") == 1:
                tops.add(top)
        elif n.endswith(".py"):
            tops.add(n[:-3])
    return str(meta["Version"]), list(meta.get_all("Requires-Dist") or []), sorted(tops)


def wheel_requirements(whl: Path, extras: list[str], python_version: str) -> list[str]:
    """Canonical names of what ``whl`` (with ``extras``) requires under Pyodide."""
    _, requires, _ = read_metadata(whl)
    env = marker_environment(python_version)
    names: list[str] = []
    for line in requires:
        req = Requirement(line)
        marker: Marker | None = req.marker
        if marker is None or any(marker.evaluate({**env, "extra": e}) for e in ["", *extras]):
            names.append(canonicalize_name(req.name))
    return names


# -- the lock ---------------------------------------------------------------------------


def resolve(
    roots: list[str], pyodide_lock: dict[str, Any], hitl_wheel: Path, python_version: str
) -> tuple[dict[str, Wheel], dict[str, dict[str, Any]]]:
    """Every wheel the roots need, and the lock entries for them."""
    locked: dict[str, dict[str, Any]] = {canonicalize_name(k): v for k, v in pyodide_lock["packages"].items()}
    shims = kernel_shim_wheels()
    wheels: dict[str, Wheel] = {}
    entries: dict[str, dict[str, Any]] = {}
    todo: list[str] = [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in wheels:
            continue
        if name == "hitl-widget":
            path, extras = hitl_wheel, HITL_EXTRAS
        elif name in shims:
            path, extras = shims[name], []
        elif name in locked and name not in FROM_BUILD_ENVIRONMENT:
            path, extras = pip_download(name, str(locked[name]["version"]), python_version), []
        elif name in PYODIDE_ONLY:
            path, extras = pip_download(name, PYODIDE_ONLY[name], python_version), []
        else:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                sys.exit(f"{name} is needed in the site but not installed in the build environment (its version pins it)")
            platform = pyodide_platform(pyodide_lock) if name in COMPILED else None
            path, extras = pip_download(name, version, python_version, platform), []
        version, _, imports = read_metadata(path)
        if name in locked and name not in shims and name not in FROM_BUILD_ENVIRONMENT:
            entry = dict(locked[name])  # Pyodide's entry: its depends and imports, our file
            depends = [str(canonicalize_name(d)) for d in entry["depends"]]
        else:
            depends = wheel_requirements(path, extras, python_version)
            entry = {
                "name": name,
                "version": version,
                "install_dir": "site",
                "package_type": "package",
                "imports": imports,
                "depends": depends,
                "unvendored_tests": False,
            }
        entry["file_name"] = path.name
        entry["sha256"] = sha256(path)
        wheels[name] = Wheel(path=path, name=name, version=version, depends=depends, imports=imports)
        entries[name] = entry
        todo.extend(d for d in depends if d not in wheels)
    return wheels, entries


# -- staging and building ---------------------------------------------------------------


def read_lite_config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads((LITE_CONFIG_DIR / "jupyter-lite.json").read_text())
    return config


def preloaded_packages(config: dict[str, Any]) -> list[str]:
    settings = config["jupyter-config-data"]["litePluginSettings"][PYODIDE_KERNEL_PLUGIN]
    return list(settings["loadPyodideOptions"]["packages"])


def use_lite_kernel(notebook: Path) -> None:
    """Give the site's copy of a notebook the Pyodide kernel's kernelspec.

    The repo's notebooks name ``python3`` (ipykernel); Lite would ask which kernel to start.
    """
    nb = json.loads(notebook.read_text())
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != LITE_KERNELSPEC["name"]:
        nb.setdefault("metadata", {})["kernelspec"] = LITE_KERNELSPEC
        notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def stage(
    pyodide_lock: dict[str, Any], wheels: dict[str, Wheel], entries: dict[str, dict[str, Any]], config: dict[str, Any]
) -> None:
    """build/lite-src/: jupyterlite's input (config, notebooks, static/pyodide with wheels and lock)."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    pyodide_dir = STAGE / "static" / "pyodide"
    pyodide_dir.mkdir(parents=True)
    for other in sorted(LITE_CONFIG_DIR.glob("*.json")):
        if other.name != "jupyter-lite.json":
            shutil.copy2(other, STAGE / other.name)
    (STAGE / "jupyter-lite.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.copytree(NOTEBOOKS, STAGE / "files", ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    for notebook in (STAGE / "files").rglob("*.ipynb"):
        use_lite_kernel(notebook)
    for name in PYODIDE_RUNTIME:
        shutil.copy2(NPM_PYODIDE / name, pyodide_dir / name)
    for whl in wheels.values():
        shutil.copy2(whl.path, pyodide_dir / whl.path.name)
    lock = {"info": pyodide_lock["info"], "packages": dict(sorted(entries.items()))}
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1) + "\n")


def jupyter_lite_build(output_dir: Path) -> None:
    jupyter = Path(sys.executable).parent / "jupyter"
    run([
        str(jupyter), "lite", "build", "--no-sourcemaps",
        "--lite-dir", str(STAGE), "--contents", str(STAGE / "files"), "--output-dir", str(output_dir),
    ], cwd=STAGE)  # fmt: skip


def check_site(output_dir: Path, wheels: dict[str, Wheel]) -> None:
    """The built site points the kernel at its own pyodide and ships every locked wheel intact."""
    config = json.loads((output_dir / "jupyter-lite.json").read_text())
    settings = config["jupyter-config-data"]["litePluginSettings"][PYODIDE_KERNEL_PLUGIN]
    if settings.get("pyodideUrl") != "./static/pyodide/pyodide.mjs":
        sys.exit(f"the site's pyodideUrl is {settings.get('pyodideUrl')!r}, not the local ./static/pyodide/pyodide.mjs")
    pyodide_dir = output_dir / "static" / "pyodide"
    lock = json.loads((pyodide_dir / "pyodide-lock.json").read_text())
    for name, entry in lock["packages"].items():
        whl = pyodide_dir / entry["file_name"]
        if not whl.exists() or sha256(whl) != entry["sha256"]:
            sys.exit(f"{whl} is missing or does not match its lock entry ({name})")
    contents = json.loads((output_dir / "api" / "contents" / "all.json").read_text())
    if not any(c["name"].endswith(".ipynb") for c in contents["content"]):
        sys.exit("no notebook in the site's contents (is jupyter_server installed in the build environment?)")
    relative = [p.relative_to(NOTEBOOKS) for p in shipped_files()]
    missing = [str(p) for p in relative if not (output_dir / "files" / p).is_file()]
    if missing:
        sys.exit(f"files of notebooks/ missing from the site's files/: {missing}")
    with zipfile.ZipFile(pyodide_dir / "python_stdlib.zip") as zf:
        stdlib = set(zf.namelist())
    for name in STDLIB_NEEDED:
        if f"{name}/__init__.py" not in stdlib:
            sys.exit(
                f"Pyodide's python_stdlib.zip has no {name} (this Pyodide unvendors it into a package of its own, "
                "which npm's pyodide does not ship): the notebooks that use it would fail in the site"
            )
    with zipfile.ZipFile(pyodide_dir / wheels["hitl-widget"].path.name) as zf:
        if "hitl_widget/static/widget.js" not in zf.namelist():
            sys.exit("the site's hitl_widget wheel has no widget.js")


def shipped_files() -> list[Path]:
    """Every file of notebooks/ that goes into the site (notebooks, the demo agent, data)."""

    def left_out(path: Path) -> bool:
        return any(fnmatch.fnmatch(part, pattern) for part in path.relative_to(NOTEBOOKS).parts for pattern in NOT_SHIPPED)

    return [path for path in sorted(NOTEBOOKS.rglob("*")) if path.is_file() and not left_out(path)]


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT, help="where the site goes (default: build/lite)")
    parser.add_argument(
        "--leave-out", action="append", default=[], metavar="PACKAGE",
        help="a preloaded package (and what only it needs) left out of the site, to measure what it costs "
        "(e.g. pydantic-ai-slim: the notebooks' demo agent then cannot run); repeatable",
    )  # fmt: skip
    args = parser.parse_args(argv)
    output_dir: Path = args.output_dir.resolve()
    started = time.monotonic()

    pyodide_lock = check_npm_pyodide()
    python_version = lock_python_version(pyodide_lock)
    config = read_lite_config()
    if args.leave_out:
        settings = config["jupyter-config-data"]["litePluginSettings"][PYODIDE_KERNEL_PLUGIN]
        preload = settings["loadPyodideOptions"]["packages"]
        unknown = [n for n in args.leave_out if n not in preload]
        if unknown:
            sys.exit(f"--leave-out {unknown}: not preloaded by lite/jupyter-lite.json ({preload})")
        settings["loadPyodideOptions"]["packages"] = [n for n in preload if n not in args.leave_out]
    hitl_wheel = build_hitl_wheel()
    wheels, entries = resolve(preloaded_packages(config), pyodide_lock, hitl_wheel, python_version)
    log(f"{len(wheels)} wheels for Pyodide {pyodide_lock['info']['python']}: " + ", ".join(sorted(wheels)))
    stage(pyodide_lock, wheels, entries, config)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    jupyter_lite_build(output_dir)
    shutil.copytree(PYODIDE_PAGE, output_dir / PYODIDE_PAGE.name)
    check_site(output_dir, wheels)
    size_mb = dir_size(output_dir) / 1e6
    log(f"built {output_dir} ({size_mb:.1f} MB) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
