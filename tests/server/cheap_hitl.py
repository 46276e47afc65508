"""``python tests/server/cheap_hitl.py ARGS`` = ``python -m hitl_widget ARGS`` with argon2id at its cheapest parameters.

Test-only: the dashboard servers and ``hitl users add`` runs that tests start through
server_process.py hash and verify passwords at about 1 ms instead of about 0.1 s (0.7 s on a
loaded 2-core machine), as tests/server/conftest.py's ``_cheap_argon2`` does in the test process.
A login on a server started this way verifies the stored hash and rehashes it when its
parameters differ from the server's, exactly as with the real parameters; only the cost differs.
The real parameters are checked by test_store.py (``test_the_real_hasher_uses_argon2_cffis_defaults``) and
test_store_cli.py runs the CLI as shipped. Benchmarks (``cheap_passwords=False``) use the real ones.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    from argon2 import PasswordHasher

    from hitl_widget.dashboard import auth

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    auth._hasher = lambda: cheap  # type: ignore[assignment]
    sys.argv[0] = str(Path(__file__))
    runpy.run_module("hitl_widget", run_name="__main__", alter_sys=True)
