# Sourced by with-postgres.sh, with-mariadb.sh and with-spark.sh: what starting a throwaway
# server for the tests takes, whichever server it is. Expects `log` to be defined.

# Defines as_server CMD...: runs CMD in "$tmp" as the system user $1 when running as root (database
# servers refuse to run as root), as the caller otherwise. The working directory moves to the
# server's own directory because that user may not be able to read the caller's.
use_server_user() {
  local user=$1
  if [[ $(id -u) -ne 0 ]]; then
    as_server() { (cd "$tmp" && "$@"); }
    return 0
  fi
  if ! id "$user" >/dev/null 2>&1; then
    log "running as root, but there is no $user system user to run the server"
    exit 1
  fi
  server_user=$user
  if command -v runuser >/dev/null 2>&1; then
    as_server() { (cd "$tmp" && runuser -u "$server_user" -- "$@"); }
  else
    as_server() { (cd "$tmp" && su "$server_user" -s /bin/bash -c "$(printf '%q ' "$@")"); }
  fi
}

# Sets tmp to a new temporary directory named $1.XXXXXX. A socket path longer than ~107 bytes
# cannot be bound, so a long TMPDIR (macOS) falls back to /tmp.
make_server_tmp() {
  local base=${TMPDIR:-/tmp}
  [[ ${#base} -le 60 ]] || base=/tmp
  tmp=$(mktemp -d "${base%/}/$1.XXXXXX")
}

# Returns 0 once `$2` says the server (the background job $server_job) is ready, 1 if the job
# exited, 2 if it is still starting after $1 tenths of a second.
wait_for_server() {
  local tenths=$1
  while [[ $tenths -gt 0 ]]; do
    "$2" && return 0
    kill -0 "$server_job" 2>/dev/null || return 1
    sleep 0.1
    tenths=$((tenths - 1))
  done
  return 2
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sets port to the first free one from $1 up (at most 100 further) on which `$2 PORT` starts the
# server. Another process can take a port between the check and the bind, so when the start fails
# and `$3` says the port was taken, the next port is tried instead of giving up. Returns 1 when
# the start failed for another reason.
start_on_free_port() {
  local start=$2 taken=$3 last=$(($1 + 100))
  port=$1
  while :; do
    while port_in_use "$port"; do
      port=$((port + 1))
    done
    if [[ $port -gt $last ]]; then
      log "no free port between $1 and $last"
      exit 1
    fi
    if "$start" "$port"; then
      return 0
    fi
    if "$taken"; then
      port=$((port + 1))
      continue
    fi
    return 1
  done
}

# Runs CMD (the arguments) and exits with its status, the caller's EXIT trap stopping the server.
# CMD runs in the background and this script waits for it, because bash runs a trap only once a
# foreground command has ended: a TERM sent to this script alone would otherwise wait for CMD. A
# background command ignores INT and reads /dev/null, so INT is passed on as TERM and stdin is
# passed on explicitly.
run_command() {
  command_pid=
  trap 'stop_command; exit 130' INT
  trap 'stop_command; exit 143' TERM
  set +e
  "$@" <&0 &
  command_pid=$!
  wait "$command_pid"
  local status=$?
  command_pid=
  exit "$status"
}

stop_command() {
  [[ -n ${command_pid:-} ]] || return 0
  kill -TERM "$command_pid" 2>/dev/null || true
  local tenths=100
  while [[ $tenths -gt 0 ]] && kill -0 "$command_pid" 2>/dev/null; do
    sleep 0.1
    tenths=$((tenths - 1))
  done
  kill -KILL "$command_pid" 2>/dev/null || true
}

# On exit, Ctrl-C or failure: calls the caller's stop_server, removes "$tmp", keeps the status.
stop_server_on_exit() {
  trap cleanup_server EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup_server() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  stop_server
  rm -rf "$tmp"
  exit "$status"
}
