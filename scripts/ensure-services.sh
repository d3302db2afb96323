#!/usr/bin/env bash
# Make sure Postgres (DATABASE_URL) and Redis (REDIS_URL) answer.
#
#   bash scripts/ensure-services.sh        # run: exits 0 when both answer, 1 otherwise
#   . scripts/ensure-services.sh           # source: defines ensure_services and runs it (returns its status)
#
# A loopback service that does not answer is started from the system packages
# (pg_ctlcluster / redis-server); missing packages are installed with apt-get when we are
# root, otherwise the exact commands to run are printed. Waits up to
# ENSURE_SERVICES_TIMEOUT seconds (default 30) for readiness. Prints one line per service:
#   postgres: ok 127.0.0.1:5432
#   redis: ok 127.0.0.1:6379

_es_log() { echo "$*" >&2; }

# url_parse URL DEFAULT_PORT -> sets _es_user _es_pass _es_host _es_port
_es_url_parse() {
  local url=$1 rest auth hostport
  rest=${url#*://}
  rest=${rest%%/*}
  rest=${rest%%\?*}
  _es_user='' _es_pass=''
  if [[ $rest == *@* ]]; then
    auth=${rest%@*}
    hostport=${rest##*@}
    _es_user=${auth%%:*}
    [[ $auth == *:* ]] && _es_pass=${auth#*:}
  else
    hostport=$rest
  fi
  if [[ $hostport == \[* ]]; then # [::1]:5432
    _es_host=${hostport%%]*}
    _es_host=${_es_host#[}
    hostport=${hostport#*]}
    _es_port=${hostport#:}
  elif [[ $hostport == *:* ]]; then
    _es_host=${hostport%%:*}
    _es_port=${hostport##*:}
  else
    _es_host=$hostport
    _es_port=''
  fi
  [[ -n $_es_host ]] || _es_host=127.0.0.1
  [[ -n $_es_port ]] || _es_port=$2
  # percent-decoding of user/password (common for passwords with symbols)
  _es_user=$(printf '%b' "${_es_user//%/\\x}")
  _es_pass=$(printf '%b' "${_es_pass//%/\\x}")
}

_es_is_loopback() {
  case $1 in
    localhost | 127.* | ::1 | 0:0:0:0:0:0:0:1) return 0 ;;
    *) return 1 ;;
  esac
}

_es_tcp_probe() { # host port
  local h=$1
  [[ $h == localhost ]] && h=127.0.0.1
  timeout 2 bash -c "exec 3<>/dev/tcp/$h/$2" 2>/dev/null
}

_es_pg_answers() { # host port
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -t 2 -h "$1" -p "$2" >/dev/null 2>&1
  else
    _es_tcp_probe "$1" "$2"
  fi
}

_es_redis_answers() { # host port
  if command -v redis-cli >/dev/null 2>&1; then
    local out
    out=$(timeout 3 redis-cli -h "$1" -p "$2" ping 2>&1) || true
    [[ $out == *PONG* || $out == *NOAUTH* || $out == *"Authentication required"* ]]
  else
    _es_tcp_probe "$1" "$2"
  fi
}

_es_wait() { # checkfn host port
  local deadline=$((SECONDS + ${ENSURE_SERVICES_TIMEOUT:-30}))
  while ((SECONDS < deadline)); do
    "$1" "$2" "$3" && return 0
    sleep 0.5
  done
  "$1" "$2" "$3"
}

_es_can_apt() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; }

_es_apt_updated=''
_es_apt_install() { # packages...
  _es_log "installing $* with apt-get (this takes a minute)..."
  if [[ -z $_es_apt_updated ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
    _es_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}

_es_pg_version() { # newest installed major version with a config dir or binaries
  local v
  v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [[ -n $v ]] || v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
  echo "$v"
}

# Make password-less loopback access possible for the cluster we created ourselves.
_es_pg_trust_loopback() { # version
  local hba=/etc/postgresql/$1/main/pg_hba.conf
  [[ -f $hba ]] || return 0
  if grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+(md5|scram-sha-256|password)' "$hba"; then
    _es_log "postgres: new cluster: setting loopback host lines of $hba to trust (dev only)"
    cp -p "$hba" "$hba.orig" 2>/dev/null || true
    sed -Ei 's/^([[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1\/32|::1\/128)[[:space:]]+)(md5|scram-sha-256|password)/\1trust/' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$1" main reload >&2 || true
  fi
}

_es_pg_start() { # host port -> 0 if we managed to start something; sets _es_pg_created
  local v sudo=''
  _es_pg_created=''
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z $(_es_pg_version) ]]; then
    if _es_can_apt; then
      _es_apt_install postgresql || { _es_log "postgres: apt-get install postgresql failed"; return 1; }
      _es_pg_created=1
    else
      [[ $(id -u) -eq 0 ]] || sudo='sudo '
      _es_log "postgres: not running at $1:$2 and not installed. Run:"
      _es_log "  ${sudo}apt-get update && ${sudo}apt-get install -y postgresql"
      _es_log "  ${sudo}pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
      _es_log "or point DATABASE_URL at a running server."
      return 1
    fi
  fi
  v=$(_es_pg_version)
  if [[ ! -d /etc/postgresql/$v/main ]]; then
    if [[ $(id -u) -ne 0 ]]; then
      _es_log "postgres: no cluster exists. Run: sudo pg_createcluster -p $2 $v main && sudo pg_ctlcluster --skip-systemctl-redirect $v main start"
      return 1
    fi
    _es_log "postgres: creating cluster $v/main on port $2"
    pg_createcluster -p "$2" "$v" main >&2 || return 1
    _es_pg_created=1
  fi
  if [[ -n $_es_pg_created ]]; then
    _es_pg_trust_loopback "$v"
  fi
  # already running (e.g. apt started it) on another port, or stopped: start is idempotent
  _es_log "postgres: starting cluster $v/main"
  if ! pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2; then
    if pg_ctlcluster "$v" main status >/dev/null 2>&1; then
      return 0
    fi
    [[ $(id -u) -eq 0 ]] || sudo='sudo '
    _es_log "postgres: could not start the cluster. Run: ${sudo}pg_ctlcluster --skip-systemctl-redirect $v main start"
    return 1
  fi
  return 0
}

# Can user `postgres` (or the URL's user/password) log in over TCP without a prompt?
_es_pg_auth_check() { # host port
  command -v psql >/dev/null 2>&1 || return 0
  local user=${_es_pg_user:-postgres} out
  out=$(PGPASSWORD=$_es_pg_pass PGCONNECT_TIMEOUT=5 psql -w -h "$1" -p "$2" -U "$user" -d postgres -Atc 'select 1' 2>&1) && return 0
  if [[ $out == *password* || $out == *authentication* || $out == *pg_hba.conf* ]]; then
    local v hba
    v=$(_es_pg_version)
    hba=/etc/postgresql/${v:-15}/main/pg_hba.conf
    _es_log "postgres: server answers at $1:$2 but user '$user' cannot log in: ${out%%$'\n'*}"
    _es_log "  either put the password in DATABASE_URL (postgresql://$user:PASSWORD@$1:$2/...),"
    _es_log "  or for a local dev server set the method of these lines in $hba to trust:"
    _es_log "    host    all    all    127.0.0.1/32    trust"
    _es_log "    host    all    all    ::1/128         trust"
    _es_log "  then reload: pg_ctlcluster --skip-systemctl-redirect ${v:-15} main reload"
    return 1
  fi
  # other errors (e.g. role missing) are left to the migration step, which reports them
  _es_log "postgres: warning: test login failed: ${out%%$'\n'*}"
  return 0
}

_es_ensure_postgres() {
  local url=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/durable_rooms}
  _es_url_parse "$url" 5432
  local host=$_es_host port=$_es_port
  _es_pg_user=$_es_user _es_pg_pass=$_es_pass
  if ! _es_pg_answers "$host" "$port"; then
    if ! _es_is_loopback "$host"; then
      _es_log "postgres: no answer at $host:$port (DATABASE_URL); not a local address, so not starting it"
      echo "postgres: FAILED $host:$port"
      return 1
    fi
    # a server that is starting up answers within a few seconds
    if ! ENSURE_SERVICES_TIMEOUT=3 _es_wait _es_pg_answers "$host" "$port"; then
      _es_pg_start "$host" "$port" || { echo "postgres: FAILED $host:$port"; return 1; }
      if ! _es_wait _es_pg_answers "$host" "$port"; then
        _es_log "postgres: started, but nothing answers at $host:$port after ${ENSURE_SERVICES_TIMEOUT:-30}s; check the cluster's port with: pg_lsclusters"
        echo "postgres: FAILED $host:$port"
        return 1
      fi
    fi
  fi
  _es_pg_auth_check "$host" "$port" || { echo "postgres: FAILED $host:$port (authentication)"; return 1; }
  echo "postgres: ok $host:$port"
}

_es_ensure_redis() {
  local url=${REDIS_URL:-redis://127.0.0.1:6379}
  _es_url_parse "$url" 6379
  local host=$_es_host port=$_es_port sudo=''
  if _es_redis_answers "$host" "$port"; then
    echo "redis: ok $host:$port"
    return 0
  fi
  if ! _es_is_loopback "$host"; then
    _es_log "redis: no answer at $host:$port (REDIS_URL); not a local address, so not starting it"
    echo "redis: FAILED $host:$port"
    return 1
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    if _es_can_apt; then
      _es_apt_install redis-server || { _es_log "redis: apt-get install redis-server failed"; echo "redis: FAILED $host:$port"; return 1; }
      # the package may have started its own service on 6379 already
      if ENSURE_SERVICES_TIMEOUT=3 _es_wait _es_redis_answers "$host" "$port"; then
        echo "redis: ok $host:$port"
        return 0
      fi
    else
      [[ $(id -u) -eq 0 ]] || sudo='sudo '
      _es_log "redis: not running at $host:$port and not installed. Run:"
      _es_log "  ${sudo}apt-get update && ${sudo}apt-get install -y redis-server"
      _es_log "  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $port --save \"\" --appendonly no"
      _es_log "or point REDIS_URL at a running server."
      echo "redis: FAILED $host:$port"
      return 1
    fi
  fi
  _es_log "redis: starting redis-server on port $port"
  # "-::1" (optional IPv6 bind) needs Redis >= 7; older servers get a plain IPv4 bind
  if ! { redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no >&2 &&
    ENSURE_SERVICES_TIMEOUT=5 _es_wait _es_redis_answers "$host" "$port"; }; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >&2 || true
  fi
  if ! _es_wait _es_redis_answers "$host" "$port"; then
    _es_log "redis: nothing answers at $host:$port after starting redis-server. Try by hand: redis-server --bind 127.0.0.1 --port $port --save \"\" --appendonly no"
    echo "redis: FAILED $host:$port"
    return 1
  fi
  echo "redis: ok $host:$port"
}

ensure_services() {
  local rc=0
  _es_ensure_postgres || rc=1
  _es_ensure_redis || rc=1
  return $rc
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  ensure_services
  return $?
else
  set -uo pipefail
  ensure_services
  exit $?
fi
