from pathlib import Path

import pytest
from fresh import build_wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hitl_widget's wheel built from a clean copy of this checkout (once per session)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))
