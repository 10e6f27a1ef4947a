#!/usr/bin/env bash
# Installs the JavaScript SDK peer tests' packages into tests/js/node_modules, exactly the
# versions tests/js/package-lock.json pins (npm ci), when they are missing or the lock file
# changed since the last install; safe to run again. Called by scripts/setup.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/tests/js"
command -v npm >/dev/null || { echo "npm is required for the JavaScript SDK peer tests" >&2; exit 1; }
# npm ci leaves a copy of the lock file it installed from in node_modules/.package-lock.json.
if [ -f "$dir/node_modules/.package-lock.json" ] &&
  [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
  exit 0
fi
echo "installing the JavaScript SDK peer tests' packages (tests/js/package-lock.json)"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
