"""Install hitl_widget as a user would: a wheel built from a clean copy of the tree, fresh venvs, real kernels.

* ``build_wheel(dest)``: the checkout's files (tracked and untracked, not ignored) copied to a
  temporary tree, js/node_modules linked in, ``pip wheel --no-deps`` there: the build hook runs
  the JS build into the copy, so the checkout's own hitl_widget/static/ (which other test legs
  read at the same time) is never rewritten.
* ``Venv.create(path)``: ``python -m venv --without-pip``; packages go in with this
  environment's pip (``pip --python``), from pip's cache and the configured index, without
  byte-compiling (the slowest part of an install, and irrelevant here).
* ``Venv.kernel()``: an ipykernel of that venv started through a kernelspec of its own, with no
  PYTHONPATH, so ``import hitl_widget`` finds the installed wheel, never the checkout.
"""

from __future__ import annotations

import contextlib
import email.parser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "kernel"))
from kernel_frontend import Frontend  # noqa: E402

INSTALL_TIMEOUT_S = 600


def run(cmd: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run ``cmd``; return its stdout; on failure raise with the tail of both streams."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would point Python at the checkout or the dev venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env.update(extra)
    return env


def build_wheel(dest: Path) -> Path:
    """hitl_widget's wheel, built from a copy of the checkout's files (the JS build included)."""
    src = dest / "src"
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT).split("\0")
    for name in filter(None, files):
        origin = ROOT / name
        if origin.is_file():
            target = src / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    (src / "js" / "node_modules").symlink_to(ROOT / "js" / "node_modules", target_is_directory=True)
    out = dest / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", out, src], timeout=600)
    (wheel,) = out.glob("hitl_widget-*.whl")
    return wheel


def wheel_requirements(wheel: Path) -> list[Requirement]:
    """The wheel's Requires-Dist without extras, for this interpreter's platform."""
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = (n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        message = email.parser.Parser().parsestr(zf.read(meta).decode())
    reqs = [Requirement(line) for line in message.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@dataclass
class Venv:
    path: Path

    @classmethod
    def create(cls, path: Path) -> Venv:
        base = getattr(sys, "_base_executable", sys.executable)
        run([base, "-m", "venv", "--without-pip", path])
        return cls(path)

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def install(self, *args: str | Path) -> None:
        pip = [sys.executable, "-m", "pip", "--python", self.python, "install", "--quiet", "--no-compile"]
        run([*pip, *args], timeout=INSTALL_TIMEOUT_S)

    def has(self, module: str) -> bool:
        code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
        return subprocess.run([self.python, "-c", code], env=clean_env(), capture_output=True).returncode == 0

    def python_run(self, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.python, "-c", code], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120)

    @contextlib.contextmanager
    def kernel(self, cwd: Path) -> Iterator[Frontend]:
        """A kernel of this venv (a kernelspec of its own) and a frontend driving it; always shut down."""
        specs = cwd / "kernelspecs"
        spec_dir = specs / "fresh"
        spec_dir.mkdir(parents=True, exist_ok=True)
        argv = [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec_dir / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "fresh", "language": "python"}))
        km = KernelManager(kernel_name="fresh", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
        km.start_kernel(cwd=str(cwd), env=clean_env(PATH=f"{self.path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"))
        client = km.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            yield Frontend(km, client)
        finally:
            client.stop_channels()
            km.shutdown_kernel(now=True)
