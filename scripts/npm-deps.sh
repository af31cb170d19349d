#!/usr/bin/env bash
# Installs a folder's npm packages from its lockfile when missing or stale.
# Usage: scripts/npm-deps.sh DIR
set -euo pipefail
dir=$1
stamp="$dir/node_modules/.murmur-lock"
if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is needed for $dir: install Node.js 20 (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
echo "npm ci in $dir" >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
cp "$dir/package-lock.json" "$stamp"
