#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser).
# Installs it with apt-get when it is missing and we are root; otherwise says
# in one line what to do. Exit status 0 means /usr/bin/chromium is there.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}  # overridable only to test this script

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $CHROMIUM is missing and apt-get is not available; install Chromium so that $CHROMIUM exists" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: $CHROMIUM is missing; install it with: sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 1
fi
echo "Installing Chromium for the browser tests (apt-get install chromium)"
log=$(mktemp)
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
    echo "error: installing chromium with apt-get failed; last lines of its output:" >&2
    tail -n 5 "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
if [ ! -x "$CHROMIUM" ]; then
    echo "error: apt-get installed chromium but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "Chromium installed: $("$CHROMIUM" --version 2>/dev/null | tail -n 1)"
