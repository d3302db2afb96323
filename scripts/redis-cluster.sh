#!/usr/bin/env bash
# A throw-away Redis Cluster of three masters on loopback, from the system's `redis-server` and
# `redis-cli` (Debian package redis-server), for the cluster test mode of `npm test`.
#
#   . scripts/redis-cluster.sh; redis_cluster_start; ...; redis_cluster_stop
#       sets REDIS_CLUSTER_NODES (host:port,...), REDIS_CLUSTER_PIDS (space-separated) and
#       REDIS_CLUSTER_DIR (the nodes' data, a temp dir removed by redis_cluster_stop)
#   bash scripts/redis-cluster.sh
#       runs one in the foreground until Ctrl-C, for trying things by hand
#
# Ports: REDIS_CLUSTER_PORTS (default "7201 7202 7203"). Nothing is kept on disk beyond the temp
# dir, and every node is ended by its PID. The node timeout is 30 s: there are no replicas to
# fail over to, and an outage test that freezes every node for a few seconds must not leave the
# nodes marking each other failed when they wake up.

_rc_log() { echo "redis-cluster: $*" >&2; }

redis_cluster_stop() {
  local pid
  for pid in ${REDIS_CLUSTER_PIDS:-}; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in ${REDIS_CLUSTER_PIDS:-}; do
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
  done
  REDIS_CLUSTER_PIDS=''
  if [[ -n ${REDIS_CLUSTER_DIR:-} && -d $REDIS_CLUSTER_DIR ]]; then rm -rf "$REDIS_CLUSTER_DIR"; fi
  REDIS_CLUSTER_DIR=''
}

redis_cluster_start() {
  local ports=(${REDIS_CLUSTER_PORTS:-7201 7202 7203}) port out nodes=() deadline
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    _rc_log "redis-server and redis-cli are needed: apt-get install -y redis-server"
    return 1
  fi
  for port in "${ports[@]}"; do
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
      _rc_log "port $port is taken; choose others with REDIS_CLUSTER_PORTS=\"p1 p2 p3\""
      return 1
    fi
  done
  REDIS_CLUSTER_DIR=$(mktemp -d -t durable-rooms-redis-cluster.XXXXXX)
  REDIS_CLUSTER_PIDS=''
  for port in "${ports[@]}"; do
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$REDIS_CLUSTER_DIR/nodes-$port.conf" --cluster-node-timeout 30000 \
      --save '' --appendonly no --dir "$REDIS_CLUSTER_DIR" \
      --logfile "$REDIS_CLUSTER_DIR/redis-$port.log" &
    REDIS_CLUSTER_PIDS+="$! "
    nodes+=("127.0.0.1:$port")
  done
  for port in "${ports[@]}"; do
    deadline=$((SECONDS + 10))
    until [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; do
      if ((SECONDS >= deadline)); then
        _rc_log "node $port did not start:"
        tail -n 20 "$REDIS_CLUSTER_DIR/redis-$port.log" >&2 2>/dev/null
        redis_cluster_stop
        return 1
      fi
      sleep 0.1
    done
  done
  if ! out=$(redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes 2>&1); then
    echo "$out" >&2
    _rc_log "redis-cli --cluster create failed"
    redis_cluster_stop
    return 1
  fi
  deadline=$((SECONDS + 20))
  for port in "${ports[@]}"; do
    until redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
      if ((SECONDS >= deadline)); then
        _rc_log "the cluster did not reach cluster_state:ok"
        redis-cli -p "$port" cluster info >&2 2>/dev/null
        redis_cluster_stop
        return 1
      fi
      sleep 0.2
    done
  done
  REDIS_CLUSTER_NODES=$(IFS=,; echo "${nodes[*]}")
  export REDIS_CLUSTER_NODES REDIS_CLUSTER_PIDS REDIS_CLUSTER_DIR
  echo "redis-cluster: ok $REDIS_CLUSTER_NODES (3 masters, temporary)"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -uo pipefail
  trap 'redis_cluster_stop; exit 0' INT TERM
  trap redis_cluster_stop EXIT
  redis_cluster_start || exit 1
  echo "REDIS_CLUSTER_NODES=$REDIS_CLUSTER_NODES  (Ctrl-C stops it)"
  wait
fi
