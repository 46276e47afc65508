#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries are installed (/usr/lib/postgresql/*/bin/initdb) for the
# dashboard store's tests (tests/server), which start their own throwaway cluster as the postgres user.
# Nothing is started here and no system cluster is configured or used.
set -u

have_initdb() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if have_initdb && id postgres >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "ensure-postgresql: PostgreSQL is missing, not running as root and sudo is not available;" >&2
    echo "ensure-postgresql: install it by hand: apt-get install -y postgresql" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgresql: PostgreSQL is missing and apt-get is not available (not Debian?);" >&2
    echo "ensure-postgresql: install PostgreSQL so that /usr/lib/postgresql/VERSION/bin/initdb exists and a postgres user" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "ensure-postgresql: installing Debian's postgresql" >&2
if ! "${SUDO[@]}" apt-get install -y -q postgresql; then
    echo "ensure-postgresql: install failed; running apt-get update and retrying" >&2
    if ! "${SUDO[@]}" apt-get update -q || ! "${SUDO[@]}" apt-get install -y -q postgresql; then
        echo "ensure-postgresql: could not install postgresql with apt-get (see the errors above)" >&2
        exit 1
    fi
fi

if ! have_initdb; then
    echo "ensure-postgresql: apt-get finished but /usr/lib/postgresql/*/bin/initdb is still missing" >&2
    exit 1
fi
echo "ensure-postgresql: $(ls -d /usr/lib/postgresql/*/bin | tail -1)" >&2
