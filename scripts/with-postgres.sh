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

source "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
use_server_user postgres
make_server_tmp backflow-pg
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

start_postgres() {
  as_server "$bindir/pg_ctl" -D "$data" -l "$server_log" -o "-p $1" -w -t 60 start >/dev/null 2>&1
}
port_taken() { grep -q "could not bind\|already in use" "$server_log" 2>/dev/null; }

if start_on_free_port 54329 start_postgres port_taken; then
  started=1
else
  log "PostgreSQL did not start; the end of its log:"
  tail -n 30 "$server_log" >&2 2>/dev/null || true
  # pg_ctl may have given up waiting on a server that is still coming up.
  started=1
  exit 1
fi

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
