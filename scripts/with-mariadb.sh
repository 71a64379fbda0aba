#!/usr/bin/env bash
# Usage: scripts/with-mariadb.sh CMD [ARG...]
#
# Starts a throwaway MariaDB server, runs CMD with BACKFLOW_TEST_MYSQL_URL and
# BACKFLOW_REQUIRE_MYSQL=1 exported, then stops the server, deletes its files and exits with CMD's
# exit status. The server keeps its data, socket and pid file in its own temporary directory,
# listens on 127.0.0.1 only, has one test user with a password that is no secret, and flushes
# lazily: it is for tests, never for data that matters. Composes with with-postgres.sh:
# `scripts/with-postgres.sh scripts/with-mariadb.sh swift test --skip-build`.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 CMD [ARG...]" >&2
  exit 64
fi

log() { echo "with-mariadb: $*" >&2; }

# Debian's mariadb-server installs mariadbd in /usr/sbin, which is not on every user's PATH;
# mysqld and mysql_install_db are the older names of the same programs.
find_program() {
  local name dir
  for name in "$@"; do
    for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
      if [[ -x $dir/$name ]]; then
        echo "$dir/$name"
        return 0
      fi
    done
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}
if ! server=$(find_program mariadbd mysqld) \
  || ! install_db=$(find_program mariadb-install-db mysql_install_db); then
  log "cannot find mariadbd and mariadb-install-db (install MariaDB: scripts/install-deps.sh)"
  exit 1
fi

source "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
use_server_user mysql
make_server_tmp backflow-my
data=$tmp/data
socket=$tmp/mysqld.sock
pid_file=$tmp/mysqld.pid
server_log=$tmp/mysqld.log
server_job=

# The pid of the running server: the pid file's, or the background job's while it has none yet.
server_pid() {
  local pid=
  [[ -f $pid_file ]] && pid=$(head -n 1 "$pid_file" 2>/dev/null || true)
  echo "${pid:-$server_job}"
}

# Waits up to $1 tenths of a second for the server process to end.
wait_for_exit() {
  local tenths=$1 pid
  while [[ $tenths -gt 0 ]]; do
    pid=$(server_pid)
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
    tenths=$((tenths - 1))
  done
  return 1
}

# Called with and without `set -e`, so no step may fail.
stop_server() {
  local pid
  pid=$(server_pid)
  if [[ -n $pid ]]; then
    # SIGTERM is a normal shutdown (innodb_fast_shutdown=2 skips the flush the data never needs).
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for_exit 150; then
      # Last resort, so a stuck server never outlives the run.
      kill -KILL "$pid" 2>/dev/null || true
      wait_for_exit 50 || true
    fi
  fi
  server_job=
  rm -f "$pid_file"
}

stop_server_on_exit

# Traversable by everyone: the server user owns it, and clients (possibly another user, such as
# root under `swift test`) must reach the socket inside it.
chmod 0755 "$tmp"

# Test-only credentials: the password lets the tests check that no error ever shows it.
user=backflow
password=backflow-test-pw
# The bootstrap starts without the grant tables loaded; FLUSH PRIVILEGES loads them, so that
# CREATE USER can run.
cat >"$tmp/init.sql" <<SQL
FLUSH PRIVILEGES;
CREATE USER '$user'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'%' WITH GRANT OPTION;
CREATE DATABASE backflow_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
SQL
if [[ $(id -u) -eq 0 ]]; then
  chown -R mysql: "$tmp"
fi

# The options both the bootstrap and the server take; --no-defaults must come first, so that
# /etc/mysql/my.cnf (its socket, datadir, log paths) is never read.
common=(
  --no-defaults
  --datadir="$data"
  --skip-name-resolve
  --character-set-server=utf8mb4
  --collation-server=utf8mb4_unicode_ci
  --innodb-buffer-pool-size=64M
  --innodb-log-file-size=16M
  --innodb-flush-log-at-trx-commit=0
  --innodb-doublewrite=0
  --innodb-flush-method=nosync
)

if ! as_server "$install_db" "${common[@]}" --auth-root-authentication-method=normal --skip-test-db \
  --extra-file="$tmp/init.sql" >"$tmp/install-db.log" 2>&1; then
  log "mariadb-install-db failed:"
  tail -n 30 "$tmp/install-db.log" >&2
  exit 1
fi

mariadb_ready() { grep -q "ready for connections" "$server_log" 2>/dev/null && [[ -S $socket ]]; }

start_mariadb() {
  rm -f "$server_log"
  as_server "$server" "${common[@]}" --port="$1" --bind-address=127.0.0.1 --socket="$socket" \
    --pid-file="$pid_file" --log-error="$server_log" --max-connections=200 --skip-log-bin \
    --innodb-fast-shutdown=2 >/dev/null 2>&1 &
  server_job=$!
  wait_for_server 600 mariadb_ready
}
port_taken() {
  grep -q "Address already in use" "$server_log" 2>/dev/null || return 1
  stop_server
}

if ! start_on_free_port 33069 start_mariadb port_taken; then
  log "MariaDB did not start; the end of its log:"
  tail -n 30 "$server_log" >&2 2>/dev/null || true
  exit 1
fi

export BACKFLOW_TEST_MYSQL_URL="mysql://$user:$password@127.0.0.1:$port/backflow_test"
export BACKFLOW_REQUIRE_MYSQL=1

run_command "$@"
