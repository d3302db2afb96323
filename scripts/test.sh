#!/usr/bin/env bash
# `npm test` (and .ci/run): install if needed, make sure Postgres/Redis answer, build, start a
# throw-away S3 store (unless S3_ENDPOINT is set), migrate the test database, run jest.
# Extra arguments go to jest:  npm test -- apps/api --testNamePattern login
#
# Test environment (override with TEST_DATABASE_URL / TEST_REDIS_URL / S3_ENDPOINT...):
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/durable_rooms_test
#   REDIS_URL=redis://127.0.0.1:6379/1
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

STEP=setup
S3_PID=''
S3_LOG=''
JEST_RC=''

finish() {
  local rc=$?
  if [[ -n $S3_PID ]] && kill -0 "$S3_PID" 2>/dev/null; then
    kill -TERM "$S3_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$S3_PID" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$S3_PID" 2>/dev/null && kill -KILL "$S3_PID" 2>/dev/null
    wait "$S3_PID" 2>/dev/null || true
  fi
  [[ -n $S3_LOG ]] && rm -f "$S3_LOG"
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

STEP='jest'
JEST_JSON=$(mktemp -t durable-rooms-jest.XXXXXX)
set +e
npx jest --runInBand --json --outputFile="$JEST_JSON" "$@"
JEST_RC=$?
set -e
# One plain closing line that any CI can read: "tests: N passed, N failed".
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`)' "$JEST_JSON" 2>/dev/null || true
rm -f "$JEST_JSON"
exit "$JEST_RC"
