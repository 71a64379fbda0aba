#!/usr/bin/env bash
# Usage: bench/run.sh        (normally `make bench`, which builds a release binary and starts PostgreSQL)
#
# Measures `backflow` on PostgreSQL models of N rows: wall time and peak RSS of each scenario, next
# to a floor (psql COPY out piped into psql COPY in) measured in the same run on the same data. Prints
# a table and writes bench/results.json. See bench/README.md.
#
# Needs a reachable PostgreSQL in the PG* variables (scripts/with-postgres.sh exports them), psql,
# jq and GNU time (scripts/install-deps.sh installs them).
#
# Environment:
#   BACKFLOW         the binary to measure      (default .build-bench/release/backflow)
#   BENCH_SIZES      model sizes, in rows       (default "100000 1000000")
#   BENCH_SCENARIOS  scenarios to run, in order (default "floor plan apply noop-plan
#                    plan-incremental apply-incremental apply-sqlite apply-http apply-rest
#                    plan-adbc-postgres apply-adbc-postgres apply-spark-planning
#                    noop-plan-spark-planning apply-incremental-spark-planning"; plan-out is also
#                    there; see the scenario_* functions). The Spark scenarios run the script
#                    again under scripts/with-spark.sh, which starts a Spark Connect server.
#   BENCH_RESULTS    where the JSON goes        (default bench/results.json)
#   PROTOCOL_SERVER  the test suite's HTTP protocol server as a process, for apply-http and apply-rest
#                    (default: protocol-server next to the backflow binary)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
backflow=${BACKFLOW:-$root/.build-bench/release/backflow}
sizes=${BENCH_SIZES:-100000 1000000}
scenarios=${BENCH_SCENARIOS:-floor plan apply noop-plan plan-incremental apply-incremental apply-sqlite apply-http apply-rest plan-adbc-postgres apply-adbc-postgres apply-spark-planning noop-plan-spark-planning apply-incremental-spark-planning}
results_file=${BENCH_RESULTS:-$root/bench/results.json}
# GNU time by path: the shell keyword `time` cannot report peak RSS.
time_bin=/usr/bin/time

log() { echo "bench: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Preconditions: fail before any work rather than after minutes of it.

[[ -x $backflow ]] || die "no backflow binary at $backflow (build it: swift build -c release --scratch-path .build-bench)"
backflow=$(cd "$(dirname "$backflow")" && pwd)/$(basename "$backflow")
protocol_server=${PROTOCOL_SERVER:-$(dirname "$backflow")/protocol-server}
if [[ " $scenarios " == *" apply-http "* || " $scenarios " == *" apply-rest "* ]]; then
  [[ -x $protocol_server ]] ||
    die "no protocol server at $protocol_server (swift build -c release --scratch-path .build-bench builds it)"
fi
if [[ " $scenarios " == *" apply-sqlite "* ]]; then
  command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 is missing (scripts/install-deps.sh installs it)"
fi
if [[ " $scenarios " == *"-spark-"* && -z ${BACKFLOW_TEST_SPARK_URI:-} ]]; then
  # The Spark Connect server is started once, for the whole run, and always stopped; its heap is
  # the test suite's (768 MB) times four, so 5M rows sort without running out.
  BACKFLOW_SPARK_DRIVER_MEMORY=${BACKFLOW_SPARK_DRIVER_MEMORY:-3g} exec "$root/scripts/with-spark.sh" "$0" "$@"
fi
if [[ " $scenarios " == *"-adbc-"* || " $scenarios " == *"-spark-"* ]]; then
  # The ADBC PostgreSQL driver of the test venv (scripts/test-venv.sh installs it), found as a
  # user's would be through BACKFLOW_ADBC_PATH.
  adbc_python=$("$root/scripts/test-venv.sh") || die "scripts/test-venv.sh failed"
  export BACKFLOW_ADBC_PATH
  BACKFLOW_ADBC_PATH=$("$adbc_python" -c 'import os, adbc_driver_postgresql as d; print(os.path.dirname(d.__file__))') ||
    die "the test venv has no adbc_driver_postgresql"
  spark_driver=$("$adbc_python" -c 'import adbc_driver_spark as d; print(d._driver_path())') ||
    die "the test venv has no adbc_driver_spark"
fi
for tool in psql jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/install-deps.sh installs it)"
done
# BSD and busybox time have no -f; the numbers would be missing, not wrong, so check up front.
"$time_bin" -f '%e %M' -o /dev/null true 2>/dev/null || die "$time_bin is missing or not GNU time (apt-get install time)"
[[ -n ${PGDATABASE:-} ]] || die "PGDATABASE is not set; run under scripts/with-postgres.sh (make bench does)"
for size in $sizes; do
  [[ $size =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES: \"$size\" is not a positive whole number of rows"
done

# -X: no ~/.psqlrc, whose settings would change what is measured; ON_ERROR_STOP: a failed statement
# fails; client_min_messages: no "does not exist, skipping" notices from the drops.
sql() { PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$@"; }
sql -c 'select 1' >/dev/null || die "cannot connect to PostgreSQL (PGHOST=${PGHOST:-} PGDATABASE=$PGDATABASE)"

work=$(mktemp -d "${TMPDIR:-/tmp}/backflow-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl # one JSON object per measurement; assembled at the end

# ---------------------------------------------------------------------------------------------
# Data and project.

# N rows x 8 columns: id, 3 integers, 2 texts, 2 timestamps. Deterministic, so runs compare.
# VACUUM sets hint bits and the visibility map now, so the first scenario does not pay for them.
create_model_table() {
  local rows=$1 table=bench_rows_$1
  log "creating $table"
  sql <<SQL
drop table if exists $table, bench_floor_$rows;
create table $table (
  id bigint primary key,
  c1 integer, c2 integer, c3 integer,
  c4 text, c5 text,
  c6 timestamptz, c7 timestamptz
);
insert into $table
select i, (i % 1000)::integer, ((i * 7919) % 1000003)::integer, (i % 7)::integer,
       md5(i::text), 'name ' || i,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',
       timestamptz '2020-06-15 12:00:00+00' + (i % 100000) * interval '1 minute'
from generate_series(1, $rows::bigint) as i;
vacuum (analyze) $table;
SQL
  # The insert's dirty pages are flushed now, not by a checkpoint in the middle of the floor (one
  # 1M floor took 3.7 s instead of 1.7 with twice the server CPU, cause not identified). Needs
  # superuser or pg_checkpoint; harmless without.
  sql -c checkpoint 2>/dev/null || true
}

# A project whose one sync reads the whole table. State lives in the same database; libpq takes the
# host, port and user from the PG* variables, so the URLs name only the database.
#
# write_project ROWS DIR [STATE_DATABASE DESTINATION_YAML REQUESTS_YAML SOURCE_YAML]: the
# destination is the same database unless DESTINATION_YAML (a flow mapping) names another, the sync
# gets REQUESTS_YAML (a rest destination's requests:) when given, and the source reads the database
# natively unless SOURCE_YAML says otherwise; the SQLite, HTTP and ADBC scenarios keep their state in a
# database of their own, so their syncs are new and the main project's state is untouched.
write_project() {
  local rows=$1 dir=$2 state_db=${3:-$PGDATABASE} destination=${4:-"{ type: postgres, url: \"dbname=$PGDATABASE\" }"}
  local requests=${5:-} source=${6:-"{ type: postgres, url: \"dbname=$PGDATABASE\" }"}
  mkdir -p "$dir/syncs/models"
  cat >"$dir/backflow.yaml" <<YAML
version: 1
state: postgresql:///$state_db
sources:
  warehouse: $source
destinations:
  target: $destination
YAML
  cat >"$dir/syncs/models/bench_rows.yaml" <<YAML
source: warehouse
primary_key: id
table: bench_rows_$rows
YAML
  {
    echo "model: bench_rows"
    echo "destination: target"
    echo "object: bench_target"
    echo "match: { id: id }"
    echo "mappings:"
    for column in c1 c2 c3 c4 c5 c6 c7; do echo "  - { from: $column, to: $column }"; done
    echo "batch: { size: 5000, concurrency: 2 }"
    echo "on_delete: delete"
    [[ -z $requests ]] || printf '%s\n' "$requests"
  } >"$dir/syncs/bench.yaml"
  "$backflow" validate --project "$dir" >"$work/validate.out" 2>&1 ||
    { cat "$work/validate.out" >&2; die "the generated project does not validate"; }
}

# ---------------------------------------------------------------------------------------------
# Measuring.

# The server's CPU: backends are the postmaster's children, so those that have ended are in its
# cutime and cstime (/proc/PID/stat, fields 16 and 17, in clock ticks). Only for a server on this
# machine whose data directory we can read (scripts/with-postgres.sh starts one); else null.
postmaster=$(sql -At -c 'show data_directory' 2>/dev/null | xargs -I{} head -n 1 {}/postmaster.pid 2>/dev/null || true)
[[ $postmaster =~ ^[0-9]+$ && -r /proc/$postmaster/stat ]] || postmaster=
ticks_per_s=$(getconf CLK_TCK)
server_ticks() { awk '{ print $16 + $17 }' "/proc/$postmaster/stat"; }

# measure NAME CMD...: runs CMD under GNU time with stdout in $work/NAME.out and stderr in
# $work/NAME.err, and sets wall_s, rss_kb, user_s, sys_s and server_s (the CPU seconds of the
# server's processes that ended meanwhile: the command's connections, and background work such as
# autovacuum when it ends inside the window). A failing run stops the benchmark: numbers from a run
# that did not do the work are worse than none.
measure() {
  local name=$1 before children
  shift
  if [[ -n $postmaster ]]; then
    children=$(pgrep -c -P "$postmaster" || true)
    before=$(server_ticks)
  fi
  if ! "$time_bin" -f '%e %M %U %S' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"; then
    tail -n 30 "$work/$name.out" "$work/$name.err" >&2
    die "$name failed: $*"
  fi
  # GNU time writes "Command exited with non-zero status" first on failure; the last line is ours.
  read -r wall_s rss_kb user_s sys_s < <(tail -n 1 "$work/$name.time")
  server_s=null
  if [[ -n $postmaster ]]; then
    # A backend ends a moment after its client: wait (up to 3 s) until the server has no more
    # processes than before, so their CPU has been reaped into the postmaster's.
    for _ in $(seq 60); do
      (($(pgrep -c -P "$postmaster" || true) <= children)) && break
      sleep 0.05
    done
    server_s=$(awk -v t="$(($(server_ticks) - before))" -v hz="$ticks_per_s" 'BEGIN { printf "%.2f", t / hz }')
  fi
}

# record SCENARIO ROWS [EXTRA_JSON]: stores the last measurement, with EXTRA_JSON's fields merged in.
record() {
  local scenario=$1 rows=$2 extra=${3:-'{}'}
  jq -nc --arg scenario "$scenario" --argjson rows "$rows" --argjson wall "$wall_s" --argjson rss "$rss_kb" \
    --argjson user "$user_s" --argjson sys "$sys_s" --argjson server "$server_s" --argjson extra "$extra" \
    '{scenario: $scenario, rows: $rows, wall_s: $wall, peak_rss_mb: ($rss / 1024 * 10 | round / 10),
      cpu_user_s: $user, cpu_sys_s: $sys, server_cpu_s: $server} + $extra' >>"$results"
  log "$(printf '%-33s %9d rows  %8.2f s  %8.1f MB' "$scenario" "$rows" "$wall_s" "$(jq -n "$rss_kb / 1024")")"
}

# check_plan JSON_FILE ROWS [UNCHANGED]: the plan must have read every row and planned all of them as
# added (or, with UNCHANGED, found all of them unchanged and planned nothing), without errors;
# prints the counts for record.
check_plan() {
  local file=$1 rows=$2 unchanged=${3:-} seen
  seen=$(jq -c '{rows_queried: .syncs[0].rows_queried, add: .syncs[0].add, change: .syncs[0].change,
                 remove: .syncs[0].remove, unchanged: .syncs[0].unchanged,
                 status: .syncs[0].status, errors: (.errors | length)}' "$file") ||
    die "the plan output is not JSON: $(head -c 300 "$file")"
  if [[ -n $unchanged ]]; then
    jq -e --argjson n "$rows" '.rows_queried == $n and .unchanged == $n and .add == 0 and .change == 0
                               and .remove == 0 and .errors == 0' <<<"$seen" >/dev/null ||
      die "the plan did not find all $rows rows unchanged: $seen"
    jq -c '{rows_queried, unchanged}' <<<"$seen"
  else
    jq -e --argjson n "$rows" '.rows_queried == $n and .add == $n and .status == "planned" and .errors == 0' \
      <<<"$seen" >/dev/null || die "the plan did not plan all $rows rows as added: $seen"
    jq -c '{rows_queried, add}' <<<"$seen"
  fi
}

# ---------------------------------------------------------------------------------------------
# Scenarios: scenario_NAME ROWS PROJECT_DIR, each ending in one `record`. Add one by writing a
# function and naming it in BENCH_SCENARIOS.

# The floor: the same rows copied out of and back into PostgreSQL by psql, no Backflow at all.
# The target has the same columns and no index, so it measures moving the data, not indexing it.
# Peak RSS is psql's (the larger of the two).
# Every ratio is over the floor, so it is measured three times and the median run is kept.
scenario_floor() {
  local rows=$1 copied runs=()
  for attempt in 1 2 3; do
    # The target has the model's primary key, as bench_target has: the floor writes an index too.
    sql -c "drop table if exists bench_floor_$rows; create table bench_floor_$rows (like bench_rows_$rows including indexes)"
    measure "floor-$rows-$attempt" bash -c "set -o pipefail
      psql -X -q -v ON_ERROR_STOP=1 -c 'copy (select * from bench_rows_$rows) to stdout' |
        psql -X -q -v ON_ERROR_STOP=1 -c 'copy bench_floor_$rows from stdin'"
    copied=$(sql -At -c "select count(*) from bench_floor_$rows")
    [[ $copied -eq $rows ]] || die "the floor copied $copied rows, not $rows"
    runs+=("$wall_s $rss_kb $user_s $sys_s $server_s")
  done
  read -r wall_s rss_kb user_s sys_s server_s < <(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
  log "floor runs at $rows rows: $(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | sort -n | paste -sd' ') s"
  record floor "$rows"
}

# `plan` with no state: every row is read, fingerprinted and planned as added; nothing is written.
scenario_plan() {
  local rows=$1 dir=$2 seen
  measure "plan-$rows" "$backflow" plan --project "$dir" --format json
  # An assignment, not an argument: a failed check must stop the benchmark.
  seen=$(check_plan "$work/plan-$rows.out" "$rows")
  record plan "$rows" "$seen"
}

# `plan --out`: as plan, and every planned row is also written to a plan file.
scenario_plan-out() {
  local rows=$1 dir=$2 file=$2/bench.plan
  measure "plan-out-$rows" "$backflow" plan --project "$dir" --format json --out "$file"
  local seen bytes
  seen=$(check_plan "$work/plan-out-$rows.out" "$rows")
  [[ -f $file ]] || die "plan --out wrote no plan file"
  bytes=$(wc -c <"$file" | tr -d ' ')
  rm -f "$file"
  record plan-out "$rows" "$(jq -c --argjson bytes "$bytes" '. + {output_mb: ($bytes / 1048576 * 10 | round / 10)}' <<<"$seen")"
}

# check_apply OUTPUT_FILE ADD CHANGE REMOVE: apply's summary line for the sync must say it succeeded
# with exactly these planned counts; prints them as JSON for record.
check_apply() {
  local file=$1 add=$2 change=$3 remove=$4 line
  line=$(grep -E '^bench \(ID [0-9]+, run [0-9]+\): ' "$file") || die "apply printed no summary: $(tail -c 300 "$file")"
  [[ $line == *": succeeded in "* && $line == *" - $add to add, $change to change, $remove to remove; "* ]] ||
    die "apply did not send $add/$change/$remove rows: $line"
  jq -nc --argjson add "$add" --argjson change "$change" --argjson remove "$remove" '{add: $add, change: $change, remove: $remove}'
}

# `apply` with no state into an empty table with a primary key: the initial full sync (plan into a
# temporary plan file, then upsert every row by COPY and merge, snapshot recorded per batch).
scenario_apply() {
  local rows=$1 dir=$2
  sql -c "drop schema if exists backflow_state cascade; drop table if exists bench_target;
          create table bench_target (like bench_rows_$rows including all)"
  measure "apply-$rows" "$backflow" apply --project "$dir" --auto-approve
  local seen
  seen=$(check_apply "$work/apply-$rows.out" "$rows" 0 0)
  [[ $(sql -At -c "select count(*) from bench_target") -eq $rows ]] || die "apply left the target without $rows rows"
  record apply "$rows" "$seen"
}

# `plan` right after `apply`: state is up to date and nothing changed, so every row is read,
# fingerprinted and found unchanged, and nothing is planned.
scenario_noop-plan() {
  local rows=$1 dir=$2 seen
  [[ $(sql -At -c "select count(*) from bench_target") -eq $rows ]] || die "noop-plan needs apply to run before it"
  measure "noop-plan-$rows" "$backflow" plan --project "$dir" --format json
  seen=$(check_plan "$work/noop-plan-$rows.out" "$rows" unchanged)
  record noop-plan "$rows" "$seen"
}

# check_plan_counts JSON_FILE ADD CHANGE REMOVE: the plan must have planned exactly these rows, without
# errors; prints them as JSON for record.
check_plan_counts() {
  local file=$1 add=$2 change=$3 remove=$4 seen
  seen=$(jq -c '{add: .syncs[0].add, change: .syncs[0].change, remove: .syncs[0].remove,
                 status: .syncs[0].status, errors: (.errors | length)}' "$file") ||
    die "the plan output is not JSON: $(head -c 300 "$file")"
  jq -e --argjson a "$add" --argjson c "$change" --argjson r "$remove" \
    '.add == $a and .change == $c and .remove == $r and .status == "planned" and .errors == 0' <<<"$seen" >/dev/null ||
    die "the plan did not plan $add/$change/$remove rows: $seen"
  jq -c '{add, change, remove}' <<<"$seen"
}

# The incremental change, once per size: 1% of rows changed, 0.5% added, 0.5% removed. Sets
# churn_changed, churn_added and churn_removed.
churn() {
  local rows=$1 step=100
  if [[ ! -f $work/churned-$rows ]]; then
    sql <<SQL
update bench_rows_$rows set c5 = c5 || ' changed' where id % $step = 1;
delete from bench_rows_$rows where id % (2 * $step) = 2;
insert into bench_rows_$rows select id + $rows, c1, c2, c3, c4, c5, c6, c7 from bench_rows_$rows where id % (2 * $step) = 3;
vacuum (analyze) bench_rows_$rows;
SQL
    touch "$work/churned-$rows"
  fi
  churn_changed=$(sql -At -c "select count(*) from bench_rows_$rows where id % $step = 1 and id <= $rows")
  churn_removed=$(( (rows + 2 * step - 2) / (2 * step) ))
  churn_added=$(sql -At -c "select count(*) from bench_rows_$rows where id > $rows")
}

# `plan` after `apply` and the incremental change: the planning part of apply-incremental.
scenario_plan-incremental() {
  local rows=$1 dir=$2 seen
  churn "$rows"
  measure "plan-incremental-$rows" "$backflow" plan --project "$dir" --format json
  seen=$(check_plan_counts "$work/plan-incremental-$rows.out" "$churn_added" "$churn_changed" "$churn_removed")
  record plan-incremental "$rows" "$seen"
}

# After `apply`: the incremental change, then `apply` sends just those rows.
scenario_apply-incremental() {
  local rows=$1 dir=$2 seen
  churn "$rows"
  measure "apply-incremental-$rows" "$backflow" apply --project "$dir" --auto-approve
  seen=$(check_apply "$work/apply-incremental-$rows.out" "$churn_added" "$churn_changed" "$churn_removed")
  record apply-incremental "$rows" "$seen"
}

# apply_into NAME ROWS DESTINATION_YAML [REQUESTS_YAML [SOURCE_YAML]]: the initial full sync of the model into
# another destination, with state in a database of its own (created afresh, dropped afterwards), so
# the sync is new; checks the summary and sets `model` (the model's row count) and `seen` for record.
apply_into() {
  local name=$1 rows=$2 destination=$3 requests=${4:-} source=${5:-} state_db=bench_state_${1//-/_}
  sql -c "drop database if exists $state_db" -c "create database $state_db"
  write_project "$rows" "$work/project-$name-$rows" "$state_db" "$destination" "$requests" "$source"
  measure "$name-$rows" "$backflow" apply --project "$work/project-$name-$rows" --auto-approve
  model=$(sql -At -c "select count(*) from bench_rows_$rows")
  seen=$(check_apply "$work/$name-$rows.out" "$model" 0 0)
  sql -c "drop database $state_db"
}

# The initial full sync into a SQLite database file: the same model and mapping, a table with the
# same columns (id the primary key).
scenario_apply-sqlite() {
  local rows=$1 file=$work/target-$1.db model seen
  rm -f "$file"
  sqlite3 "$file" "create table bench_target (id integer primary key, c1 integer, c2 integer, c3 integer,
                   c4 text, c5 text, c6 text, c7 text)"
  apply_into apply-sqlite "$rows" "{ type: sqlite, path: \"$file\" }"
  [[ $(sqlite3 "$file" "select count(*) from bench_target") -eq $model ]] ||
    die "apply-sqlite left the SQLite table without $model rows"
  rm -f "$file"
  record apply-sqlite "$model" "$seen"
}

# into_protocol_server NAME ROWS DESTINATION_KEYS REQUESTS [SERVER_ARGS...]: the initial full sync
# into the test suite's HTTP protocol server (Sources/protocol-server runs BackflowTestSupport's
# ProtocolServer as a process on 127.0.0.1), then the server's count of what it keeps. The server's
# own work (parsing each request, storing records) is in the wall time; its memory is not in peak
# RSS, which is backflow's.
into_protocol_server() {
  local name=$1 rows=$2 keys=$3 requests=$4 url answer model seen
  shift 4
  coproc SERVER { exec "$protocol_server" "$@"; }
  read -r -t 30 url <&"${SERVER[0]}" || die "the protocol server did not start"
  [[ $url == http://127.0.0.1:* ]] || die "the protocol server printed \"$url\", not its URL"
  apply_into "$name" "$rows" "{ $keys, url: \"$url\" }" "$requests"
  echo "count bench_target" >&"${SERVER[1]}"
  read -r -t 60 answer <&"${SERVER[0]}" || die "the protocol server did not answer"
  eval "exec ${SERVER[1]}>&-"
  wait "$SERVER_PID" 2>/dev/null || true
  [[ $answer -eq $model ]] || die "$name left $answer records in the protocol server, not $model"
  record "$name" "$model" "$seen"
}

# Into the HTTP destination's own protocol.
scenario_apply-http() {
  into_protocol_server apply-http "$1" "type: http" ""
}

# Into a REST API through request templates: the protocol server run as a batch-upsert API
# (`protocol-server --rest`: POST /v1/{object}/batch/upsert with {"inputs": [{"id", "properties"}]}),
# 1,000 records per request.
scenario_apply-rest() {
  into_protocol_server apply-rest "$1" "type: rest, concurrency: 2" "requests:
  upsert:
    method: POST
    path: /v1/{{ object }}/batch/upsert
    batch: 1000
    body: { inputs: { \$each: records, \$item: { id: \"{{ record.key }}\", properties: \"{{ record.fields }}\" } } }
    result: { errors: errors, error_key: id, error_message: message }
  delete:
    method: POST
    path: /v1/{{ object }}/batch/archive
    batch: 1000
    body: { inputs: { \$each: records, \$item: { id: \"{{ record.key }}\" } } }" --rest
}

# The model read through the ADBC PostgreSQL driver (type: adbc): Arrow batches instead of COPY text.
adbc_source() { echo "{ type: adbc, driver: adbc_driver_postgresql, options: { uri: \"postgresql:///$PGDATABASE\" } }"; }

# `plan` with no state through the ADBC driver: as `plan`, the diff in Backflow.
scenario_plan-adbc-postgres() {
  local rows=$1 state_db=bench_state_adbc_plan seen
  sql -c "drop database if exists $state_db" -c "create database $state_db"
  write_project "$rows" "$work/project-adbc-$rows" "$state_db" "" "" "$(adbc_source)"
  measure "plan-adbc-postgres-$rows" "$backflow" plan --project "$work/project-adbc-$rows" --format json
  seen=$(check_plan "$work/plan-adbc-postgres-$rows.out" "$rows")
  sql -c "drop database $state_db"
  record plan-adbc-postgres "$rows" "$seen"
}

# `apply` with no state through the ADBC driver into an empty table: as `apply`.
scenario_apply-adbc-postgres() {
  local rows=$1 model seen
  sql -c "drop table if exists bench_target; create table bench_target (like bench_rows_$rows including all)"
  apply_into apply-adbc-postgres "$rows" "{ type: postgres, url: \"dbname=$PGDATABASE\" }" "" "$(adbc_source)"
  [[ $(sql -At -c "select count(*) from bench_target") -eq $model ]] || die "apply-adbc-postgres left the target without $model rows"
  record apply-adbc-postgres "$model" "$seen"
}

# Spark: the bench's model as a Parquet table in the Spark Connect server, read through
# adbc_driver_spark with warehouse planning on, state and destination in PostgreSQL.

# spark_sql STATEMENT...: runs each statement on the Spark Connect server.
spark_sql() {
  "$adbc_python" - "$BACKFLOW_TEST_SPARK_URI" "$@" <<'PY'
import sys
import adbc_driver_spark.dbapi as dbapi
with dbapi.connect(sys.argv[1]) as connection, connection.cursor() as cursor:
    for statement in sys.argv[2:]:
        cursor.execute(statement)
PY
}

# The model, the same N rows x 8 columns as PostgreSQL's, behind the view bench_model_N (so the
# churn can swap the table under it: Parquet takes no UPDATE or DELETE); once per size.
spark_model() {
  local rows=$1
  [[ -f $work/spark-model-$rows ]] && return 0
  log "creating bench_rows_$rows in Spark"
  spark_sql "DROP VIEW IF EXISTS bench_model_$rows" "DROP TABLE IF EXISTS bench_rows_$rows" \
    "CREATE TABLE bench_rows_$rows USING parquet AS
     SELECT id, CAST(id % 1000 AS INT) AS c1, CAST((id * 7919) % 1000003 AS INT) AS c2, CAST(id % 7 AS INT) AS c3,
            md5(CAST(id AS STRING)) AS c4, concat('name ', id) AS c5, timestamp_seconds(1704067200 + id) AS c6,
            timestamp_seconds(1592222400 + (id % 100000) * 60) AS c7
     FROM range(1, $rows + 1)" \
    "CREATE VIEW bench_model_$rows AS SELECT * FROM bench_rows_$rows"
  touch "$work/spark-model-$rows"
}

# The project of the Spark scenarios: state in a database of its own, kept across them.
spark_project() {
  local rows=$1 dir=$work/project-spark-$1
  write_project "$rows" "$dir" bench_state_spark "" "" \
    "{ type: adbc, driver: $spark_driver, dialect: spark, options: { uri: \"$BACKFLOW_TEST_SPARK_URI\" }, planning: { schema: bench_planner } }"
  sed -i "s/^table: bench_rows_$rows\$/table: bench_model_$rows/" "$dir/syncs/models/bench_rows.yaml"
  echo "$dir"
}

# `apply` with no state: apply stages the model in Spark, sends every row into an empty table, and
# Spark computes the copy of the snapshot it plans against next.
scenario_apply-spark-planning() {
  local rows=$1 dir seen
  spark_model "$rows"
  sql -c "drop database if exists bench_state_spark" -c "create database bench_state_spark"
  sql -c "drop table if exists bench_target; create table bench_target (like bench_rows_$rows including all)"
  spark_sql "DROP DATABASE IF EXISTS bench_planner CASCADE"
  dir=$(spark_project "$rows")
  measure "apply-spark-planning-$rows" "$backflow" apply --project "$dir" --auto-approve
  seen=$(check_apply "$work/apply-spark-planning-$rows.out" "$rows" 0 0)
  grep -q "warehouse planning" "$work/apply-spark-planning-$rows.out" &&
    die "apply-spark-planning did not write the copy: $(grep "warehouse planning" "$work/apply-spark-planning-$rows.out")"
  [[ $(sql -At -c "select count(*) from bench_target") -eq $rows ]] || die "apply-spark-planning left the target without $rows rows"
  record apply-spark-planning "$rows" "$seen"
}

# `plan` right after: the diff runs in Spark against the copy and nothing leaves it.
scenario_noop-plan-spark-planning() {
  local rows=$1 dir seen
  dir=$work/project-spark-$rows
  [[ -d $dir ]] || die "noop-plan-spark-planning needs apply-spark-planning to run before it"
  measure "noop-plan-spark-planning-$rows" "$backflow" plan --project "$dir" --format json
  seen=$(check_plan "$work/noop-plan-spark-planning-$rows.out" "$rows" unchanged)
  jq -e '.syncs[0].warnings | map(select(startswith("warehouse planning"))) | length == 0' \
    "$work/noop-plan-spark-planning-$rows.out" >/dev/null ||
    die "noop-plan-spark-planning did not plan in Spark: $(jq -c '.syncs[0].warnings' "$work/noop-plan-spark-planning-$rows.out")"
  record noop-plan-spark-planning "$rows" "$seen"
}

# After it: the same churn as apply-incremental (1% changed, 0.5% added, 0.5% removed) written as
# a new table under the view, then `apply` plans in Spark and sends just those rows.
scenario_apply-incremental-spark-planning() {
  local rows=$1 dir seen
  dir=$work/project-spark-$rows
  [[ -d $dir ]] || die "apply-incremental-spark-planning needs apply-spark-planning to run before it"
  spark_sql "DROP TABLE IF EXISTS bench_rows_${rows}_churned" \
    "CREATE TABLE bench_rows_${rows}_churned USING parquet AS
     SELECT id, c1, c2, c3, c4, IF(id % 100 = 1, concat(c5, ' changed'), c5) AS c5, c6, c7
     FROM bench_rows_$rows WHERE id % 200 <> 2
     UNION ALL SELECT id + $rows, c1, c2, c3, c4, c5, c6, c7 FROM bench_rows_$rows WHERE id % 200 = 3" \
    "CREATE OR REPLACE VIEW bench_model_$rows AS SELECT * FROM bench_rows_${rows}_churned"
  measure "apply-incremental-spark-planning-$rows" "$backflow" apply --project "$dir" --auto-approve
  seen=$(check_apply "$work/apply-incremental-spark-planning-$rows.out" $(((rows - 3) / 200 + 1)) \
    $(((rows - 1) / 100 + 1)) $(((rows - 2) / 200 + 1)))
  record apply-incremental-spark-planning "$rows" "$seen"
}

for scenario in $scenarios; do
  declare -F "scenario_$scenario" >/dev/null || die "BENCH_SCENARIOS: no scenario named $scenario"
done

# ---------------------------------------------------------------------------------------------
# Run: every scenario on every size, smallest first, each size on a fresh table dropped afterwards.

for rows in $sizes; do
  # Each size starts with no state: its syncs are new.
  sql -c "drop schema if exists backflow_state cascade; drop table if exists bench_target"
  create_model_table "$rows"
  project=$work/project-$rows
  write_project "$rows" "$project"
  for scenario in $scenarios; do
    "scenario_$scenario" "$rows" "$project"
  done
  sql -c "drop table if exists bench_rows_$rows, bench_floor_$rows, bench_target"
done
sql -c "drop database if exists bench_state_spark"

# ---------------------------------------------------------------------------------------------
# Report: rows/s and the ratio to the same size's floor are derived here, once every run is in.

memory_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo 2>/dev/null || true)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
jq -s \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)" \
  --arg version "$("$backflow" --version 2>/dev/null || true)" \
  --arg postgres "$(sql -At -c 'show server_version')" \
  --arg nproc "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)" \
  --arg memory "$memory_mb" --arg cpu "$cpu" --arg kernel "$(uname -sr)" '
  (map(select(.scenario == "floor") | {key: (.rows | tostring), value: .wall_s}) | from_entries) as $floor
  | {
      date: $date, commit: $commit, backflow_version: $version,
      machine: {nproc: ($nproc | tonumber), memory_mb: ($memory | tonumber? // null),
                cpu: $cpu, kernel: $kernel, postgres: $postgres},
      results: map(. + {
        rows_per_s: (if .wall_s > 0 then (.rows / .wall_s | round) else null end),
        floor_ratio: ($floor[.rows | tostring] as $f
                      | if $f and $f > 0 then (.wall_s / $f * 100 | round / 100) else null end)
      }),
      # Peak RSS of each scenario at its two largest sizes: it should not grow with the model.
      rss_growth: (group_by(.scenario) | map(sort_by(.rows) | select(length > 1) | .[-2:]
        | {scenario: .[0].scenario, rows: map(.rows), peak_rss_mb: map(.peak_rss_mb),
           ratio: (if .[0].peak_rss_mb > 0 then (.[1].peak_rss_mb / .[0].peak_rss_mb * 100 | round / 100) else null end)}))
    }' "$results" >"$results_file"

# number FORMAT VALUE: VALUE in FORMAT, or "-" when the field does not apply (null in the JSON).
number() { if [[ $2 == - ]]; then echo -; else printf "$1" "$2"; fi; }
{
  printf '%-33s %10s %9s %11s %8s %12s %10s %10s %10s\n' scenario rows "wall s" "rows/s" "x floor" "peak RSS MB" \
    "CPU s" "server s" "output MB"
  jq -r '.results[] | [.scenario, .rows, .wall_s, .rows_per_s, .floor_ratio, .peak_rss_mb,
                       .cpu_user_s + .cpu_sys_s, .server_cpu_s, .output_mb]
                    | map(. // "-") | @tsv' "$results_file" |
    while IFS=$'\t' read -r scenario rows wall rate ratio rss cpu server output; do
      printf '%-33s %10s %9.2f %11s %8s %12.1f %10.2f %10s %10s\n' "$scenario" "$rows" "$wall" "$rate" \
        "$(number %.2f "$ratio")" "$rss" "$cpu" "$(number %.2f "$server")" "$(number %.1f "$output")"
    done
  jq -r '.rss_growth[] | "peak RSS \(.scenario): \(.peak_rss_mb[0]) MB at \(.rows[0]) rows, \(.peak_rss_mb[1]) MB at \(.rows[1]) rows (x\(.ratio))"' "$results_file"
  jq -r '.machine | "\(.nproc) CPUs, \(.memory_mb) MB RAM, PostgreSQL \(.postgres); " ' "$results_file" |
    tr -d '\n'
  echo "results in ${results_file#"$root"/}"
}
