#!/usr/bin/env bash
# The dashboard's browser tests drive a real headless Chromium (Debian's package) through Playwright;
# make sure one is installed. Playwright's own browser download is never used.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium not found: installing the Debian package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    exit 0
fi
echo "chromium is required for the dashboard's browser tests: install it with 'sudo apt-get install -y chromium'" >&2
exit 1
