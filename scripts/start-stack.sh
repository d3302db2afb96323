#!/usr/bin/env bash
# `npm start`: the local stack in the foreground, supervised the way production is.
#
# 1. Setup: install (npm ci) if needed, make sure Postgres/Redis answer, build, migrate.
#    START_SKIP_SETUP=1 skips all four, for a caller that did them already (the tests).
# 2. An S3-compatible store on S3_PORT (data in S3_DATA_DIR), unless S3_ENDPOINT is set.
# 3. Under `concurrently`: the API on API_PORT, gateways gw-1 on GW1_PORT and gw-2 on GW2_PORT,
#    and the worker. Output is prefixed per process: [api], [gw-1], [gw-2], [worker].
#
# A process that exits on its own (a crash, kill -9) is restarted after 1 s, 2 s, 4 s, ...
# (doubling with each exit of that process), as Kubernetes restarts a pod; the others keep serving.
#
# Ctrl-C or SIGTERM: every process gets SIGINT, the gateways drain (rooms handed over, final
# snapshots written), the S3 store stops last, exit 0. What still runs after STOP_TIMEOUT_S is
# killed (exit 1). Two quirks of concurrently 9 are handled here:
# - After SIGTERM it restarts a process that exits non-zero, and then waits for it forever.
#   After SIGINT it counts every exit as a clean stop, so SIGTERM is passed on as SIGINT.
# - A restart it had scheduled before the signal (a crash just before Ctrl-C) still happens.
#   Such a process gets its own SIGINT, and once no process is left, concurrently is ended
#   instead of waiting out the backoff.
# The S3 store runs in its own process group: a terminal's Ctrl-C signals the whole foreground
# group, and the store must outlive the gateways' final snapshots.
#
# Environment: DATABASE_URL, REDIS_URL (local defaults), JWT_SECRET (a development default
# outside production), API_PORT (3000), GW1_PORT (3101), GW2_PORT (3102), WORKER_PORT (3109, its /metrics), S3_PORT (4569),
# S3_DATA_DIR (.data/s3), START_SKIP_SETUP, STOP_TIMEOUT_S (12); everything else reaches the
# processes as it is (GATEWAY_TTL_SECONDS, LOG_LEVEL, ...).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
API_PORT=${API_PORT:-3000}
GW1_PORT=${GW1_PORT:-3101}
GW2_PORT=${GW2_PORT:-3102}
WORKER_PORT=${WORKER_PORT:-3109}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-12}

say() { echo "start: $*" >&2; }
alive() { kill -0 "$1" 2>/dev/null; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/durable_rooms}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

# ---- 1. setup ------------------------------------------------------------------------------
if [[ ${START_SKIP_SETUP:-} == 1 ]]; then
  say "START_SKIP_SETUP=1: no install, service check, build or migration"
else
  bash scripts/ensure-deps.sh
  bash scripts/ensure-services.sh
  npm run build
  npm run db:migrate
fi

if [[ -z ${JWT_SECRET:-} ]]; then
  if [[ ${NODE_ENV:-} == production ]]; then
    say "JWT_SECRET is not set and NODE_ENV=production: set JWT_SECRET"
    exit 1
  fi
  export JWT_SECRET=dev-only-insecure-jwt-secret-change-me
  say "warning: JWT_SECRET not set, using a development default (never use it in production)"
fi

for entry in dist/apps/api/src/main.js dist/apps/gateway/src/main.js dist/apps/worker/src/main.js; do
  [[ -f $entry ]] || { say "$entry not found: run \`npm run build\`"; exit 1; }
done
for port in "$API_PORT" "$GW1_PORT" "$GW2_PORT"; do
  if port_taken "$port"; then
    say "port $port is already in use: stop whatever listens there, or set API_PORT / GW1_PORT / GW2_PORT"
    exit 1
  fi
done

# ---- 2. S3 store ---------------------------------------------------------------------------
S3_PID=''
stop_s3() {
  [[ -n $S3_PID ]] && alive "$S3_PID" || return 0
  kill -TERM "$S3_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 5))
  while alive "$S3_PID" && ((SECONDS < deadline)); do sleep 0.1; done
  alive "$S3_PID" && kill -KILL "$S3_PID" 2>/dev/null
  wait "$S3_PID" 2>/dev/null || true
}
trap stop_s3 EXIT

if [[ -z ${S3_ENDPOINT:-} ]]; then
  S3_PORT=${S3_PORT:-4569}
  export S3_BUCKET=${S3_BUCKET:-durable-rooms}
  if port_taken "$S3_PORT"; then
    say "port $S3_PORT is already in use: stop whatever listens there, or set S3_PORT (or S3_ENDPOINT for an external store)"
    exit 1
  fi
  set -m # its own process group (see the header)
  node scripts/s3-server.mjs --port "$S3_PORT" --dir "${S3_DATA_DIR:-.data/s3}" --bucket "$S3_BUCKET" &
  S3_PID=$!
  set +m
  deadline=$((SECONDS + 20))
  until port_taken "$S3_PORT"; do
    if ! alive "$S3_PID" || ((SECONDS >= deadline)); then
      say "the S3 store did not start on 127.0.0.1:$S3_PORT (set S3_PORT, or S3_ENDPOINT for an external store)"
      exit 1
    fi
    sleep 0.2
  done
  export S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
  export S3_FORCE_PATH_STYLE=true
  export S3_ACCESS_KEY_ID=S3RVER
  export S3_SECRET_ACCESS_KEY=S3RVER
  export S3_REGION=${S3_REGION:-us-east-1}
fi

# ---- 3. supervised processes ---------------------------------------------------------------
gateway() { # ID PORT: the command line of one gateway
  echo "PORT=$2 GATEWAY_ID=$1 GATEWAY_PUBLIC_URL=http://127.0.0.1:$2 exec node dist/apps/gateway/src/main.js"
}
# `exec`: the supervised process is node itself, so signals and kill -9 reach it, not a shell.
node_modules/.bin/concurrently --names api,gw-1,gw-2,worker --prefix name \
  --restart-tries -1 --restart-after exponential \
  "PORT=$API_PORT exec node dist/apps/api/src/main.js" \
  "$(gateway gw-1 "$GW1_PORT")" \
  "$(gateway gw-2 "$GW2_PORT")" \
  "PORT=$WORKER_PORT exec node dist/apps/worker/src/main.js" &
SUPERVISOR=$!
say "api http://127.0.0.1:$API_PORT  gateways http://127.0.0.1:$GW1_PORT http://127.0.0.1:$GW2_PORT  worker metrics http://127.0.0.1:$WORKER_PORT/metrics  s3 ${S3_ENDPOINT}  (Ctrl-C to stop)"
say "supervisor pid $SUPERVISOR${S3_PID:+, s3 pid $S3_PID}"

children() { pgrep -P "$SUPERVISOR" 2>/dev/null || true; }

STOPPING=''
stop() { # REASON [EXIT_CODE]
  [[ -n $STOPPING ]] && return 0 # a terminal and npm both deliver Ctrl-C: handle it once
  STOPPING=1
  say "$1: stopping (gateways drain first)"
  local signalled deadline idle_since='' code=${2:-0} p
  signalled=" $(children | tr '\n' ' ') "
  kill -INT "$SUPERVISOR" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT_S))
  while alive "$SUPERVISOR"; do
    local running
    running=$(children)
    for p in $running; do # restarted after the stop began: concurrently never signals it
      if [[ $signalled != *" $p "* ]]; then
        kill -INT "$p" 2>/dev/null || true
        signalled="$signalled$p "
      fi
    done
    if [[ -z $running ]]; then
      # Nothing of ours runs: concurrently only waits out a restart it had scheduled.
      [[ -n $idle_since ]] || idle_since=$SECONDS
      if ((SECONDS - idle_since >= 2)); then
        kill -KILL "$SUPERVISOR" 2>/dev/null || true
        break
      fi
    fi
    if ((SECONDS >= deadline)); then
      say "still running after ${STOP_TIMEOUT_S}s, killed: $(echo $running)"
      for p in $running; do kill -KILL "$p" 2>/dev/null || true; done
      kill -KILL "$SUPERVISOR" 2>/dev/null || true
      code=1
      break
    fi
    sleep 0.2
  done
  wait "$SUPERVISOR" 2>/dev/null || true
  stop_s3
  kill "${NAP:-}" 2>/dev/null || true # the main loop's sleep: leave nothing behind
  say "stopped"
  exit "$code"
}
# The traps only note the signal, and the loop below runs `stop`: run inside a trap that lands
# during `wait`, bash 5.2 can fail to parse the command substitutions `stop` uses ("interrupt
# trap: unexpected EOF while looking for matching `)'") and exit 2 with the stack still draining.
STOP_REQUEST=''
trap 'STOP_REQUEST=SIGINT' INT
trap 'STOP_REQUEST=SIGTERM' TERM

# Wake up often enough to notice the S3 store dying; `sleep & wait` lets a signal in at once.
while [[ -z $STOP_REQUEST ]] && alive "$SUPERVISOR"; do
  if [[ -n $S3_PID ]] && ! alive "$S3_PID"; then
    stop 'the S3 store exited' 1
  fi
  sleep 1 &
  NAP=$!
  wait "$NAP" 2>/dev/null || true
done
[[ -n $STOP_REQUEST ]] && stop "$STOP_REQUEST"
code=0
wait "$SUPERVISOR" || code=$?
say "every process exited on its own (code $code)"
exit "$code"
