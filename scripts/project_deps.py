"""Print hitl_widget's dependencies from pyproject.toml, one requirement a line (for ``pip install -r``).

    python scripts/project_deps.py [EXTRA ...]

With extras, their requirements follow. For environments that use the checkout through
PYTHONPATH instead of installing it (make's ipykernel 6 venv), so a dependency added to
pyproject.toml reaches them too. Standard library only (Python >= 3.11).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    found = list(project["dependencies"])
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra {extra!r} (it has: {', '.join(sorted(optional))})")
        found.extend(optional[extra])
    return found


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1:])))
