#!/usr/bin/env bash
# Usage: scripts/with-spark.sh CMD [ARG...]
#
# Starts a throwaway Spark Connect server (pyspark's, from .venv-test, on Debian's OpenJDK 17),
# runs CMD with BACKFLOW_TEST_SPARK_URI (sc://127.0.0.1:PORT) and BACKFLOW_REQUIRE_SPARK=1
# exported, then stops the server, deletes its files and exits with CMD's exit status. The server
# listens on 127.0.0.1 only (gRPC and the driver alike), runs local[2] with a small heap and no
# web UI, and keeps its warehouse and metastore in its own temporary directory: it is for tests.
# BACKFLOW_SPARK_DRIVER_MEMORY sets its heap (default 768m; the benchmark's 5M rows need more).
# Composes with with-postgres.sh and with-mariadb.sh.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 CMD [ARG...]" >&2
  exit 64
fi

log() { echo "with-spark: $*" >&2; }

root=$(cd "$(dirname "$0")/.." && pwd)
python=$("$root/scripts/test-venv.sh")
spark_home=$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
if [[ ! -x $spark_home/sbin/start-connect-server.sh ]]; then
  log "pyspark at $spark_home has no sbin/start-connect-server.sh"
  exit 1
fi
java_home=$(ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -n 1 || true)
if [[ -z $java_home || ! -x $java_home/bin/java ]]; then
  log "cannot find OpenJDK 17 in /usr/lib/jvm (install it: scripts/install-deps.sh)"
  exit 1
fi

source "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
make_server_tmp backflow-spark
server_log=$tmp/server.log
server_job=

stop_server() {
  [[ -n $server_job ]] || return 0
  # The JVM is the job's child (spark-class execs java); TERM to the group reaches it.
  kill -TERM -- "-$server_job" 2>/dev/null || kill -TERM "$server_job" 2>/dev/null || true
  local tenths=150
  while [[ $tenths -gt 0 ]] && kill -0 "$server_job" 2>/dev/null; do
    sleep 0.1
    tenths=$((tenths - 1))
  done
  kill -KILL -- "-$server_job" 2>/dev/null || kill -KILL "$server_job" 2>/dev/null || true
  server_job=
}

stop_server_on_exit

spark_ready() { port_in_use "$port" && grep -q "Spark Connect server started" "$server_log" 2>/dev/null; }

start_spark() {
  rm -f "$server_log"
  # SPARK_NO_DAEMONIZE keeps the server in this job, so its pid is ours to stop; setsid gives it a
  # process group of its own.
  (
    cd "$tmp"
    export SPARK_HOME=$spark_home JAVA_HOME=$java_home SPARK_NO_DAEMONIZE=1 SPARK_LOCAL_IP=127.0.0.1 \
      SPARK_LOG_DIR=$tmp/logs SPARK_PID_DIR=$tmp SPARK_CONF_DIR=$tmp/conf
    mkdir -p "$tmp/conf" "$tmp/logs"
    exec setsid "$spark_home/sbin/start-connect-server.sh" \
      --master 'local[2]' --driver-memory "${BACKFLOW_SPARK_DRIVER_MEMORY:-768m}" \
      --conf "spark.connect.grpc.binding.port=$1" \
      --conf spark.connect.grpc.binding.address=127.0.0.1 \
      --conf spark.driver.bindAddress=127.0.0.1 \
      --conf spark.driver.host=127.0.0.1 \
      --conf spark.ui.enabled=false \
      --conf spark.sql.session.timeZone=UTC \
      --conf spark.sql.shuffle.partitions=2 \
      --conf "spark.sql.warehouse.dir=$tmp/warehouse" \
      --conf "spark.driver.extraJavaOptions=-Dderby.system.home=$tmp/derby"
  ) >"$server_log" 2>&1 &
  server_job=$!
  port=$1
  wait_for_server 1800 spark_ready
}
port_taken() {
  grep -q "Address already in use\|Failed to bind" "$server_log" 2>/dev/null || return 1
  stop_server
}

started_at=$SECONDS
if ! start_on_free_port 15102 start_spark port_taken; then
  log "the Spark Connect server did not start; the end of its log:"
  tail -n 30 "$server_log" >&2 2>/dev/null || true
  exit 1
fi
log "Spark Connect server on 127.0.0.1:$port (started in $((SECONDS - started_at)) s)"

export BACKFLOW_TEST_SPARK_URI="sc://127.0.0.1:$port"
export BACKFLOW_REQUIRE_SPARK=1

run_command "$@"
