#!/usr/bin/env bash
# `npm start`: install if needed, make sure Postgres/Redis answer, build, migrate, then run the
# local stack in the foreground: S3 store (unless S3_ENDPOINT is set), API :3000, gateways
# gw-1 :3101 and gw-2 :3102, and the worker (when built). Output is prefixed per process.
# Ctrl-C / SIGTERM: SIGTERM to every child (gateways drain and snapshot), wait up to
# STOP_TIMEOUT_S (30) seconds, SIGKILL stragglers, stop S3, exit 0.
# A child that dies on its own stops the rest and exits 1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-30}

say() { echo "start: $*" >&2; }

# ---- 1. dependencies, services, build, migrations ------------------------------------------
bash scripts/ensure-deps.sh

export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/durable_rooms}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

bash scripts/ensure-services.sh
npm run build
npm run db:migrate

if [[ -z ${JWT_SECRET:-} ]]; then
  if [[ ${NODE_ENV:-} == production ]]; then
    say "JWT_SECRET is not set and NODE_ENV=production: set JWT_SECRET"
    exit 1
  fi
  export JWT_SECRET=dev-only-insecure-jwt-secret-change-me
  say "warning: JWT_SECRET not set, using a development default (never use it in production)"
fi

# ---- 2. process management ---------------------------------------------------------------
NAMES=() PIDS=()
S3_PID=''
STOPPING=''

have_setsid=''
command -v setsid >/dev/null 2>&1 && have_setsid=1

# spawn NAME cmd... : runs cmd in its own session (so a terminal Ctrl-C reaches only this
# script, which then sends exactly one SIGTERM), output prefixed with [NAME], line-buffered.
# The prefixer ignores INT/TERM and ends at EOF, so late shutdown logs are not lost.
SPAWNED_PID=''
spawn() {
  local name=$1
  shift
  if [[ -n $have_setsid ]]; then
    setsid "$@" > >(trap '' INT TERM; exec awk -v p="[$name] " '{ print p $0; fflush() }') 2>&1 &
  else
    "$@" > >(trap '' INT TERM; exec awk -v p="[$name] " '{ print p $0; fflush() }') 2>&1 &
  fi
  SPAWNED_PID=$!
}

alive() { kill -0 "$1" 2>/dev/null; }

# wait_pids TIMEOUT pid... : returns when all are gone or TIMEOUT seconds passed
wait_pids() {
  local timeout=$1 p any
  shift
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    any=''
    for p in "$@"; do alive "$p" && any=1; done
    [[ -z $any ]] && return 0
    sleep 0.25
  done
  return 1
}

stop_all() { # stops app children, then S3; never touches other processes
  local i p live=()
  for i in "${!PIDS[@]}"; do
    p=${PIDS[$i]}
    if alive "$p"; then
      kill -TERM "$p" 2>/dev/null || true
      live+=("$p")
    fi
  done
  if ((${#live[@]})); then
    say "sent SIGTERM to ${#live[@]} process(es), waiting up to ${STOP_TIMEOUT_S}s for them to drain"
    if ! wait_pids "$STOP_TIMEOUT_S" "${live[@]}"; then
      for i in "${!PIDS[@]}"; do
        p=${PIDS[$i]}
        if alive "$p"; then
          say "${NAMES[$i]} (pid $p) still running after ${STOP_TIMEOUT_S}s: SIGKILL"
          kill -KILL "$p" 2>/dev/null || true
        fi
      done
    fi
  fi
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n $S3_PID ]] && alive "$S3_PID"; then
    kill -TERM "$S3_PID" 2>/dev/null || true
    wait_pids 10 "$S3_PID" || kill -KILL "$S3_PID" 2>/dev/null || true
    wait "$S3_PID" 2>/dev/null || true
  fi
  sleep 0.2 # let the prefixers flush the last lines
}

on_signal() {
  [[ -n $STOPPING ]] && return 0 # npm forwards the terminal's SIGINT too: handle once
  STOPPING=1
  say "$1 received: stopping the stack"
  stop_all
  say "stopped"
  exit 0
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
# if this script fails before the monitor loop, do not leave children behind
trap '[[ -n $STOPPING ]] || { STOPPING=1; stop_all; }' EXIT

entry() { # first existing file among the arguments
  local f
  for f in "$@"; do
    if [[ -f $f ]]; then
      echo "$f"
      return 0
    fi
  done
  return 1
}

# ---- 3. S3 store ---------------------------------------------------------------------------
if [[ -z ${S3_ENDPOINT:-} ]]; then
  S3_PORT=${S3_PORT:-4569}
  export S3_BUCKET=${S3_BUCKET:-durable-rooms}
  if (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; then
    say "port $S3_PORT is already in use: stop whatever listens there, or set S3_PORT (or S3_ENDPOINT for an external store)"
    exit 1
  fi
  spawn s3 node scripts/s3-server.mjs --port "$S3_PORT"
  S3_PID=$SPAWNED_PID
  deadline=$((SECONDS + 20))
  until (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; do
    if ! alive "$S3_PID" || ((SECONDS >= deadline)); then
      say "the S3 server did not start on 127.0.0.1:$S3_PORT (port in use? set S3_PORT, or S3_ENDPOINT for an external store)"
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

# ---- 4. apps -------------------------------------------------------------------------------
API_MAIN=$(entry dist/apps/api/src/main.js dist/apps/api/main.js) || { say "dist/apps/api/src/main.js not found after the build"; exit 1; }
GW_MAIN=$(entry dist/apps/gateway/src/main.js dist/apps/gateway/main.js) || { say "dist/apps/gateway/src/main.js not found after the build"; exit 1; }
WORKER_MAIN=$(entry dist/apps/worker/src/main.js dist/apps/worker/main.js) || WORKER_MAIN=''

start_app() { # NAME env... -- cmd...
  local name=$1
  shift
  local envs=()
  while [[ $1 != -- ]]; do
    envs+=("$1")
    shift
  done
  shift
  spawn "$name" env "${envs[@]}" "$@"
  NAMES+=("$name")
  PIDS+=("$SPAWNED_PID")
}

start_app api PORT=3000 -- node "$API_MAIN"
start_app gw-1 PORT=3101 GATEWAY_ID=gw-1 GATEWAY_PUBLIC_URL=http://127.0.0.1:3101 -- node "$GW_MAIN"
start_app gw-2 PORT=3102 GATEWAY_ID=gw-2 GATEWAY_PUBLIC_URL=http://127.0.0.1:3102 -- node "$GW_MAIN"
if [[ -n $WORKER_MAIN ]]; then
  start_app worker -- node "$WORKER_MAIN"
else
  say "no worker build found (dist/apps/worker/src/main.js): running without the worker"
fi

say "api http://127.0.0.1:3000  gateways http://127.0.0.1:3101 http://127.0.0.1:3102  s3 ${S3_ENDPOINT}  (Ctrl-C to stop)"
say "pids: $(for i in "${!PIDS[@]}"; do printf '%s=%s ' "${NAMES[$i]}" "${PIDS[$i]}"; done)${S3_PID:+s3=$S3_PID}"

# ---- 5. monitor ----------------------------------------------------------------------------
while :; do
  dead=''
  for i in "${!PIDS[@]}"; do
    if ! alive "${PIDS[$i]}"; then
      dead=$i
      break
    fi
  done
  if [[ -z $dead && -n $S3_PID ]] && ! alive "$S3_PID"; then dead=s3; fi
  if [[ -n $dead ]]; then
    [[ -n $STOPPING ]] && exit 0
    STOPPING=1
    if [[ $dead == s3 ]]; then
      name=s3 pid=$S3_PID
    else
      name=${NAMES[$dead]} pid=${PIDS[$dead]}
    fi
    code=0
    wait "$pid" 2>/dev/null || code=$?
    say "$name (pid $pid) exited unexpectedly with code $code: stopping the rest"
    stop_all
    exit 1
  fi
  # `wait -n` returns as soon as any child exits (or a signal arrives); the timeout-free
  # fallback for older bash is a short sleep.
  if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 3))); then
    wait -n 2>/dev/null || true
  else
    sleep 1
  fi
done
