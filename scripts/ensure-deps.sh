#!/usr/bin/env bash
# Installs dependencies with `npm ci` (exactly package-lock.json) unless node_modules already
# holds exactly what the lockfile says. Used by `npm start` and `npm test`; run from the
# repository root.
#
# "Exactly" is compared by content, not by file times (a checkout or a merge touches
# package-lock.json without changing what it locks): npm records what it installed in
# node_modules/.package-lock.json. The tree is current when every package locked for this
# machine is installed at its locked version and integrity, and nothing else is. Optional
# packages of other platforms are locked but never installed.
set -euo pipefail

current() {
  node - <<'EOF'
const { readFileSync } = require('node:fs');
const read = (path) => JSON.parse(readFileSync(path, 'utf8')).packages;
let locked, installed;
try {
  locked = read('package-lock.json');
  installed = read('node_modules/.package-lock.json');
} catch {
  process.exit(1); // no lockfile record of an install: install
}
for (const [key, entry] of Object.entries(locked)) {
  if (key === '') continue;
  const have = installed[key];
  if (!have) {
    if (entry.optional || entry.devOptional) continue; // another platform's binary, or skipped
    process.exit(1);
  }
  if (have.version !== entry.version || have.integrity !== entry.integrity) process.exit(1);
}
for (const key of Object.keys(installed)) if (!locked[key]) process.exit(1);
EOF
}

if [[ -d node_modules ]] && current; then
  exit 0
fi
if [[ -L node_modules ]]; then
  # A shared install linked in (e.g. a git worktree): `npm ci` would empty the shared folder.
  echo "deps: node_modules is a link to $(readlink node_modules) and differs from package-lock.json: run \`npm ci\` where it lives" >&2
  exit 1
fi
echo "deps: installing dependencies (npm ci: exactly package-lock.json)" >&2
npm ci --no-audit --no-fund
