# A second hitl dashboard in the same Jupyter server, written out.
#
# Installing hitl_widget already registers one at /hitl/ (the entry point
# `jupyter_serverproxy_servers: hitl` in pyproject.toml; configure it with $HITL_DB, $HITL_POLICY,
# $HITL_PORT). A deployment that wants another one beside it (another database or policy) names
# it here:
#
#     jupyter lab --config jupyter-config/jupyter_server_config.py
#
# or copies this file into a config directory on `jupyter --paths`, e.g. /etc/jupyter/.
from hitl_widget.dashboard.jupyter_proxy import setup_hitl

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by Jupyter when it loads this file
c.ServerProxy.servers = {
    # at /hitl-staging/, with its own launcher tile
    "hitl-staging": setup_hitl(
        db="hitl-staging.db",  # or "postgresql://hitl@db.internal/hitl_staging"
        policy=None,  # or "/etc/hitl/staging-policy.toml"
        title="HITL dashboard (staging)",
    ),
}
