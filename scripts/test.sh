#!/usr/bin/env bash
# Set up this machine for baton's tests and run them: the one command of the README and of CI.
#
# The tests use real parts: bubblewrap (the sandbox) and prlimit (util-linux), a real redis-server,
# Debian's Chromium (the dashboard tests, driven by playwright-core, which downloads no browser) and git.
# Missing ones are installed through apt when this runs as root or with sudo that needs no password;
# otherwise it stops at once and prints the one command to run. Then `npm ci` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    echo "baton tests: missing ${missing[*]}; install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    echo "then run ./scripts/test.sh again" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "baton tests: missing ${missing[*]}, and this machine has no apt-get: install them with its package manager, then run ./scripts/test.sh again" >&2
    exit 1
  fi
  echo "baton tests: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq "${missing[@]}"
fi

# The project brings its own Node 24 (the npm `node` package); the machine's npm only installs it.
npm ci --no-audit --no-fund
npm test
