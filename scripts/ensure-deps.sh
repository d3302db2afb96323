#!/usr/bin/env bash
# Installs dependencies when node_modules is missing or older than package-lock.json (npm
# records what it installed in node_modules/.package-lock.json). Used by `npm start` and
# `npm test`. Run from the repository root.
set -euo pipefail

installed=node_modules/.package-lock.json
if [[ -f $installed && ! package-lock.json -nt $installed && ! package.json -nt $installed ]]; then
  exit 0
fi
echo "deps: installing dependencies (npm install from package-lock.json)" >&2
# Not `npm ci`: npm 11 rejects this lockfile for lacking other platforms' optional binaries
# (@swc/core-*, msgpackr-extract-*); `npm install` honours the lock as it is.
npm install --no-audit --no-fund
