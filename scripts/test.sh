#!/usr/bin/env bash
# `npm test` (and .ci/run): install if needed, make sure Postgres/Redis answer, build, start a
# throw-away S3 store (unless S3_ENDPOINT is set), migrate the test database, run jest; then
# start a throw-away 3-master Redis Cluster (scripts/redis-cluster.sh) and run the cluster
# subset against it, with REDIS_CLUSTER_NODES set and nothing listening at REDIS_URL.
# Extra arguments go to jest:  npm test -- apps/api --testNamePattern login
#
# Test environment (override with TEST_DATABASE_URL / TEST_REDIS_URL / S3_ENDPOINT...):
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/durable_rooms_test
#   REDIS_URL=redis://127.0.0.1:6379/1
# The cluster run: TEST_REDIS_CLUSTER=auto (default: after a run without jest arguments), 1
# (always, after the jest arguments' run), 0 (never) or only (the cluster subset alone, with
# the jest arguments). REDIS_CLUSTER_PORTS (default "7201 7202 7203") moves the cluster.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

STEP=setup
S3_PID=''
S3_LOG=''
JEST_RC=''
REDIS_CLUSTER_PIDS=''
REDIS_CLUSTER_DIR=''
# shellcheck source=scripts/redis-cluster.sh
. scripts/redis-cluster.sh

# The cluster subset: every multi-key Redis call of routing and jobs, acceptance 1 end to end,
# and the outage of acceptance 6 on the cluster.
CLUSTER_SPECS=(
  libs/routing/src/routing.int-spec.ts
  apps/gateway/src/lifecycle/ownership.watcher.int-spec.ts
  libs/jobs/src/export-requests.int-spec.ts
  test/cluster.e2e-spec.ts
  test/redis-outage.e2e-spec.ts
)

finish() {
  local rc=$?
  if [[ -n $S3_PID ]] && kill -0 "$S3_PID" 2>/dev/null; then
    kill -TERM "$S3_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$S3_PID" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$S3_PID" 2>/dev/null && kill -KILL "$S3_PID" 2>/dev/null
    wait "$S3_PID" 2>/dev/null || true
  fi
  [[ -n $S3_LOG ]] && rm -f "$S3_LOG"
  redis_cluster_stop
  if [[ -n $JEST_RC ]]; then
    if [[ $JEST_RC -eq 0 ]]; then
      echo "test: PASSED (jest exit 0)"
    else
      echo "test: FAILED (jest exit $JEST_RC)"
    fi
    exit "$JEST_RC"
  fi
  echo "test: FAILED during $STEP (exit $rc), tests did not run"
  exit $((rc == 0 ? 1 : rc))
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- install --------------------------------------------------------------------------------
STEP='dependency install'
bash scripts/ensure-deps.sh

# ---- test environment -----------------------------------------------------------------------
export NODE_ENV=test
export DATABASE_URL=${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/durable_rooms_test}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/1}
export JWT_SECRET=${TEST_JWT_SECRET:-test-secret-not-for-production-0123456789}
# RATE_LIMIT_MSG_PER_SEC / AUTH_RATE_LIMIT_PER_MIN are deliberately not set: tests set their own.

STEP='service check (Postgres/Redis)'
bash scripts/ensure-services.sh

STEP='test tools (docker-compose, chromium)'
bash scripts/ensure-test-tools.sh

STEP='build'
npm run build

# ---- S3 -------------------------------------------------------------------------------------
if [[ -z ${S3_ENDPOINT:-} ]]; then
  STEP='S3 server start'
  export S3_BUCKET=${S3_BUCKET:-durable-rooms}
  S3_LOG=$(mktemp -t durable-rooms-s3.XXXXXX)
  node scripts/s3-server.mjs --tmp --port 0 --bucket "$S3_BUCKET" >"$S3_LOG" 2>&1 &
  S3_PID=$!
  S3_URL=''
  for _ in $(seq 1 100); do
    S3_URL=$(sed -n 's/^s3: listening \(http:[^ ]*\) .*/\1/p' "$S3_LOG")
    [[ -n $S3_URL ]] && break
    kill -0 "$S3_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $S3_URL ]]; then
    cat "$S3_LOG" >&2
    echo "test: the S3 server did not start" >&2
    exit 1
  fi
  export S3_ENDPOINT=$S3_URL
  export S3_REGION=us-east-1
  export S3_FORCE_PATH_STYLE=true
  export S3_ACCESS_KEY_ID=S3RVER
  export S3_SECRET_ACCESS_KEY=S3RVER
  echo "s3: ok $S3_ENDPOINT bucket=$S3_BUCKET (temporary)"
else
  export S3_BUCKET=${S3_BUCKET:-durable-rooms}
  echo "s3: using $S3_ENDPOINT bucket=$S3_BUCKET"
fi

# ---- migrate + jest -------------------------------------------------------------------------
STEP='migration of the test database'
npm run db:migrate

# jest_run NAME ARGS...: one jest run; its result file is kept for the closing line.
JEST_RESULTS=()
jest_run() {
  local name=$1 json rc
  shift
  json=$(mktemp -t durable-rooms-jest.XXXXXX)
  JEST_RESULTS+=("$json")
  echo "test: jest ($name)"
  set +e
  npx jest --runInBand --json --outputFile="$json" "$@"
  rc=$?
  set -e
  return $rc
}

CLUSTER_MODE=${TEST_REDIS_CLUSTER:-auto}
if [[ $CLUSTER_MODE == auto ]]; then
  if [[ $# -eq 0 ]]; then CLUSTER_MODE=1; else CLUSTER_MODE=0; fi
fi

SINGLE_RC=0
if [[ $CLUSTER_MODE != only ]]; then
  STEP='jest'
  # The option goes last: as an array option it would take the paths after it for patterns.
  jest_run 'single Redis' "$@" --testPathIgnorePatterns '/test/cluster\.e2e-spec\.ts$' || SINGLE_RC=$?
fi

CLUSTER_RC=0
if [[ $CLUSTER_MODE == 1 || $CLUSTER_MODE == only ]]; then
  STEP='Redis Cluster start'
  redis_cluster_start
  # Nothing listens at REDIS_URL for this run: a process still using it would fail.
  CLOSED_PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  STEP='jest (Redis Cluster)'
  if [[ $CLUSTER_MODE == only && $# -gt 0 ]]; then cluster_args=("$@"); else cluster_args=("${CLUSTER_SPECS[@]}"); fi
  SINGLE_REDIS_URL=$REDIS_URL
  export REDIS_URL="redis://127.0.0.1:$CLOSED_PORT/1" ROUTING_TEST_REDIS_URL="redis://127.0.0.1:$CLOSED_PORT/2"
  jest_run "Redis Cluster $REDIS_CLUSTER_NODES, nothing at $REDIS_URL" "${cluster_args[@]}" || CLUSTER_RC=$?
  export REDIS_URL=$SINGLE_REDIS_URL
  unset ROUTING_TEST_REDIS_URL REDIS_CLUSTER_NODES
  redis_cluster_stop
fi

JEST_RC=$((SINGLE_RC != 0 ? SINGLE_RC : CLUSTER_RC))
# One plain closing line that any CI can read: "tests: N passed, N failed" (every run summed).
# A full run (no jest arguments) must skip nothing: a skipped test (it.skip, a suite that skips
# itself when a tool is missing) fails the run, named, so no suite can go quiet on a machine.
STRICT_NO_SKIP=$(( $# == 0 ? 1 : 0 ))
set +e
node -e '
  const strict = process.argv[1] === "1";
  let passed = 0, failed = 0;
  const skipped = [];
  for (const file of process.argv.slice(2)) {
    try {
      const r = JSON.parse(require("fs").readFileSync(file, "utf8"));
      passed += r.numPassedTests;
      failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
      for (const suite of r.testResults) {
        for (const t of suite.assertionResults) {
          if (t.status === "pending" || t.status === "skipped" || t.status === "todo") skipped.push(`${suite.name}: ${t.fullName}`);
        }
      }
    } catch { failed += 1; }
  }
  console.log(`tests: ${passed} passed, ${failed} failed`);
  if (strict && skipped.length > 0) {
    console.log(`test: FAILED: ${skipped.length} test(s) skipped in a full run (nothing may skip):`);
    for (const name of skipped) console.log(`  skipped: ${name}`);
    process.exit(3);
  }
' "$STRICT_NO_SKIP" "${JEST_RESULTS[@]}" 2>/dev/null
SUMMARY_RC=$?
set -e
if [[ $JEST_RC -eq 0 && $SUMMARY_RC -eq 3 ]]; then JEST_RC=1; fi
rm -f "${JEST_RESULTS[@]}"
exit "$JEST_RC"
