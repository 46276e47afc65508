# The hitl dashboard inside a Jupyter server at /hitl/, written out.
#
# Installing hitl_widget with the jupyter-proxy extra registers the same thing automatically
# (the entry point `jupyter_serverproxy_servers: hitl` in pyproject.toml, with $HITL_DB and
# $HITL_POLICY); use this file instead when a deployment wants another name, database or policy:
#
#     jupyter lab --config jupyter-config/jupyter_server_config.py
#
# or copy it into a directory on `jupyter --paths` (config), e.g. /etc/jupyter/.
from hitl_widget.dashboard.jupyter_proxy import setup_hitl

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by Jupyter when it loads this file
c.ServerProxy.servers = {
    "hitl": setup_hitl(
        # db="postgresql://hitl@db.internal/hitl",   # or a SQLite file path; default $HITL_DB or hitl.db
        # policy="/etc/hitl/policy.toml",             # default $HITL_POLICY, else one approval by anyone
    ),
}
