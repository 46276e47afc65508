#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the real-browser tests
# (tests/browser). Playwright drives it via executable_path; never Playwright's own browser download.
set -u

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "ensure-chromium: $CHROMIUM is missing, not running as root and sudo is not available;" >&2
    echo "ensure-chromium: install it by hand: apt-get install -y chromium" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available (not Debian?); install Chromium at $CHROMIUM" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "ensure-chromium: installing Debian's chromium" >&2
if ! "${SUDO[@]}" apt-get install -y -q chromium; then
    echo "ensure-chromium: install failed; running apt-get update and retrying" >&2
    if ! "${SUDO[@]}" apt-get update -q || ! "${SUDO[@]}" apt-get install -y -q chromium; then
        echo "ensure-chromium: could not install chromium with apt-get (see the errors above)" >&2
        exit 1
    fi
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)" >&2
