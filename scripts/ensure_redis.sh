#!/usr/bin/env bash
# The Redis store's tests run a real redis-server on a free loopback port; make sure one is installed.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "redis-server not found: installing the Debian package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq redis-server >/dev/null
    # Debian's post-install may start a system instance; the tests never use it (they start their own).
    exit 0
fi
echo "redis-server is required for the Redis store tests: install it with 'sudo apt-get install -y redis-server'" >&2
exit 1
