#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh CMD [ARG...]
#
# Starts a throwaway PostgreSQL cluster, runs CMD with PGHOST, PGPORT, PGUSER, PGDATABASE,
# BACKFLOW_TEST_POSTGRES_URL and BACKFLOW_REQUIRE_POSTGRES=1 exported, then stops the cluster,
# deletes its files and exits with CMD's exit status. The cluster listens on a socket inside its
# own temporary directory and on 127.0.0.1 only, trusts every local user, and runs with fsync off:
# it is for tests, never for data that matters.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 CMD [ARG...]" >&2
  exit 64
fi

log() { echo "with-postgres: $*" >&2; }

find_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $dir && -x $dir/pg_ctl && -x $dir/initdb ]]; then
    echo "$dir"
  elif command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  else
    log "cannot find initdb and pg_ctl (install PostgreSQL: scripts/install-deps.sh)"
    return 1
  fi
}
bindir=$(find_bindir)

# The server refuses to run as root, so as root it runs as the postgres system user. The working
# directory moves to the cluster's own directory because the server user may not be able to read
# the caller's.
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    log "running as root, but there is no postgres system user to run the server"
    exit 1
  fi
  if command -v runuser >/dev/null 2>&1; then
    as_server() { (cd "$tmp" && runuser -u postgres -- "$@"); }
  else
    as_server() { (cd "$tmp" && su postgres -s /bin/bash -c "$(printf '%q ' "$@")"); }
  fi
else
  as_server() { (cd "$tmp" && "$@"); }
fi

# A socket path longer than ~107 bytes cannot be bound, so a long TMPDIR (macOS) falls back to /tmp.
tmp_base=${TMPDIR:-/tmp}
[[ ${#tmp_base} -le 60 ]] || tmp_base=/tmp
tmp=$(mktemp -d "${tmp_base%/}/backflow-pg.XXXXXX")
data=$tmp/data
socket_dir=$tmp/socket
server_log=$tmp/postgres.log
started=0

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [[ $started -eq 1 ]]; then
    if ! as_server "$bindir/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      as_server "$bindir/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1
    fi
    # Last resort, so a stuck server never outlives the run: its pid is the first line of the file.
    if [[ -f $data/postmaster.pid ]]; then
      local pid
      pid=$(head -n 1 "$data/postmaster.pid")
      [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Readable and traversable by everyone: the server user owns it, and clients (possibly another
# user, such as root under `swift test`) must reach the socket inside it.
mkdir -m 0755 "$socket_dir"
chmod 0755 "$tmp"
if [[ $(id -u) -eq 0 ]]; then
  chown -R postgres: "$tmp"
fi

if ! as_server "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
  >"$tmp/initdb.log" 2>&1; then
  log "initdb failed:"
  tail -n 30 "$tmp/initdb.log" >&2
  exit 1
fi

# Appending keeps the file's owner, so this works whether or not we are the server user.
cat >>"$data/postgresql.conf" <<CONF

# with-postgres.sh: a disposable test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
unix_socket_permissions = 0777
fsync = off
synchronous_commit = off
full_page_writes = off
# Suites run in parallel, each test with its own database and a few connections.
max_connections = 200
CONF

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Another process can take a port between the check and the bind, so a bind failure moves on to
# the next port instead of giving up.
port=54329
last_port=$((port + 100))
while :; do
  while port_in_use "$port"; do
    port=$((port + 1))
  done
  if [[ $port -gt $last_port ]]; then
    log "no free port between 54329 and $last_port"
    exit 1
  fi
  if as_server "$bindir/pg_ctl" -D "$data" -l "$server_log" -o "-p $port" -w -t 60 start \
    >/dev/null 2>&1; then
    started=1
    break
  fi
  if grep -q "could not bind\|already in use" "$server_log" 2>/dev/null; then
    port=$((port + 1))
    continue
  fi
  log "PostgreSQL did not start; the end of its log:"
  tail -n 30 "$server_log" >&2 2>/dev/null || true
  # pg_ctl may have given up waiting on a server that is still coming up.
  started=1
  exit 1
done

if ! "$bindir/psql" -X -q -h "$socket_dir" -p "$port" -U postgres -d postgres \
  -c 'create database backflow_test' >"$tmp/createdb.log" 2>&1; then
  log "could not create database backflow_test:"
  cat "$tmp/createdb.log" >&2
  exit 1
fi

# These would override the host and port below.
unset PGHOSTADDR PGSERVICE
export PGHOST=$socket_dir
export PGPORT=$port
export PGUSER=postgres
export PGDATABASE=backflow_test
export BACKFLOW_TEST_POSTGRES_URL="host=$socket_dir port=$port user=postgres dbname=backflow_test"
export BACKFLOW_REQUIRE_POSTGRES=1

set +e
"$@"
status=$?
set -e
exit "$status"
