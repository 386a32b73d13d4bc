#!/usr/bin/env bash
# Make sure the programs the tests drive for real are installed from Debian's
# packages: Chromium for the browser tests (tests/browser), Node.js and npm for
# the axe-core those tests inject, the PostgreSQL server for the
# multi-instance tests (tests/postgres, tests/scale), and Redis and HAProxy for
# the scale-out test (tests/scale). Installs what is missing with one
# apt-get when we are root; otherwise says in one line what to do. Then installs
# axe-core from tests/browser/package-lock.json (npm ci) if it is not there.
# Exit status 0 means every program is there.
set -euo pipefail

# package:path pairs; PROGRAMS is overridable only to test this script.
PROGRAMS=${PROGRAMS:-"chromium:/usr/bin/chromium postgresql-15:/usr/lib/postgresql/15/bin/initdb nodejs:/usr/bin/node npm:/usr/bin/npm haproxy:/usr/sbin/haproxy redis-server:/usr/bin/redis-server"}
BROWSER_TESTS=${BROWSER_TESTS:-"$(cd "$(dirname "$0")/.." && pwd)/tests/browser"}

install_axe() {
    [ -f "$BROWSER_TESTS/package-lock.json" ] || return 0
    [ -f "$BROWSER_TESTS/node_modules/axe-core/axe.min.js" ] && return 0
    echo "Installing axe-core for the browser tests (npm ci)"
    local log
    log=$(mktemp)
    if ! (cd "$BROWSER_TESTS" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
        echo "error: npm ci in tests/browser failed; last lines of its output:" >&2
        tail -n 5 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

missing=()
for pair in $PROGRAMS; do
    [ -x "${pair#*:}" ] || missing+=("${pair%%:*}")
done
if [ ${#missing[@]} -eq 0 ]; then
    install_axe
    exit $?
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: ${missing[*]} missing and apt-get is not available; install them from your distribution" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: ${missing[*]} missing; install with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "Installing for the tests: ${missing[*]} (apt-get install)"
log=$(mktemp)
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    echo "error: installing ${missing[*]} with apt-get failed; last lines of its output:" >&2
    tail -n 5 "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
for pair in $PROGRAMS; do
    if [ ! -x "${pair#*:}" ]; then
        echo "error: apt-get installed ${pair%%:*} but ${pair#*:} is still missing" >&2
        exit 1
    fi
done
echo "Installed: ${missing[*]}"
install_axe
