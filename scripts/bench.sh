#!/usr/bin/env bash
# `npm run bench`: install if needed, make sure Postgres/Redis answer, build, reset and migrate
# the bench database, then run bench/main.ts (TypeScript through bench/register.js, @swc/core),
# which starts its own stack (API + 2 gateways from dist/, its own S3 server unless S3_ENDPOINT
# is set), runs the scenarios, stops every process it started, prints a table and writes
# bench-results/bench-<timestamp>.json and bench-results/latest.json.
# `npm run bench -- soak [--rooms N ...]` runs the soak instead (bench/soak-main.ts: one gateway,
# rooms churned through it; writes bench-results/soak-<timestamp>.json).
# `npm run bench -- compare [--reps 3] [--seconds 5] [--load-procs 1] [scenario ...]` runs the
# product against the baseline Socket.IO peer instead (bench/compare-main.ts, issue 9; writes
# bench-results/compare-<timestamp>.json and compare-latest.json; see BENCHMARKS.md).
# `npm run bench -- fleet [--gateways N --rooms N ...]` runs the multi-gateway simulation instead
# (bench/fleet-main.ts: memory per room and socket on one gateway, then a rolling restart of N
# gateways under traffic; writes bench-results/fleet-<timestamp>.json).
#
# Bench environment (override with BENCH_DATABASE_URL / BENCH_REDIS_URL / S3_ENDPOINT...):
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/durable_rooms_bench  (dropped and re-created each run)
#   REDIS_URL=redis://127.0.0.1:6379/3                                     (flushed each run)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

STEP=setup
trap 'rc=$?; [[ $rc -ne 0 && $STEP != bench ]] && echo "bench: FAILED during $STEP (exit $rc)" >&2; exit $rc' EXIT

STEP='dependency install'
bash scripts/ensure-deps.sh

export NODE_ENV=test
export DATABASE_URL=${BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/durable_rooms_bench}
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/3}
export JWT_SECRET=${BENCH_JWT_SECRET:-bench-secret-not-for-production-0123456789}

STEP='service check (Postgres/Redis)'
bash scripts/ensure-services.sh

STEP='build'
npm run build

STEP='reset of the bench database'
node -r ./bench/register.js bench/reset-db.ts
STEP='migration of the bench database'
node scripts/db-migrate.mjs

STEP=bench
if [[ ${1:-} == soak ]]; then
  shift
  exec node -r ./bench/register.js bench/soak-main.ts "$@"
fi
if [[ ${1:-} == compare ]]; then
  shift
  exec node -r ./bench/register.js bench/compare-main.ts "$@"
fi
if [[ ${1:-} == fleet ]]; then
  shift
  exec node -r ./bench/register.js bench/fleet-main.ts "$@"
fi
exec node -r ./bench/register.js bench/main.ts "$@"
