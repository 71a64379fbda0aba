#!/usr/bin/env bash
# `make bench-web`: how long `backflow serve` takes to answer on a big history: one sync with
# 10,000 runs (BENCH_WEB_RUNS) and one run with 100,000 failed rows (BENCH_WEB_FAILED), in a SQLite
# state store. A real apply makes the state and its first run; the rest of the history is copied
# from that run in SQL. Each page is fetched BENCH_WEB_REPEAT times with curl; the table gives the
# median and the slowest. A benchmark, never a test: nothing here fails on a number.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
backflow=$(realpath "${BACKFLOW:-.build/debug/backflow}")
runs=${BENCH_WEB_RUNS:-10000}
failed=${BENCH_WEB_FAILED:-100000}
repeat=${BENCH_WEB_REPEAT:-5}

work=$(mktemp -d)
server=""
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/syncs/models"
cat >"$work/backflow.yaml" <<'YAML'
version: 1
sources:
  warehouse: { type: sqlite, path: warehouse.db }
destinations:
  local: { type: sqlite, path: crm.db }
YAML
printf 'source: warehouse\nprimary_key: user_id\nquery: select user_id, email, plan from users\n' >"$work/syncs/models/users.yaml"
printf 'model: users\ndestination: local\nobject: contacts\nmatch: { email: email }\nmappings:\n  - { from: plan, to: tier }\n' \
  >"$work/syncs/big_history.yaml"
sqlite3 "$work/warehouse.db" "create table users (user_id integer, email text, plan text);
  insert into users values (1, 'a@example.com', 'pro'), (2, 'b@example.com', 'banned');"
sqlite3 "$work/crm.db" "create table contacts (email text primary key, tier text check (tier <> 'banned'));"
(cd "$work" && "$backflow" apply --auto-approve >/dev/null) || true   # one row fails: exit 1 is expected

state="$work/.backflow/state.db"
sqlite3 "$state" "
  with recursive n(i) as (select 2 union all select i + 1 from n where i < $runs)
  insert into runs (sync_id, status, error, started_at, finished_at, git_commit, rows_queried,
    planned_add, planned_change, planned_remove, attempted_add, attempted_change, attempted_remove,
    succeeded_add, succeeded_change, succeeded_remove, failed_add, failed_change, failed_remove,
    aborted_add, aborted_change, aborted_remove)
  select sync_id, status, error, started_at, finished_at, git_commit, rows_queried + i % 7,
    planned_add + i % 5, planned_change + i % 3, planned_remove, attempted_add + i % 5, attempted_change + i % 3,
    attempted_remove, succeeded_add + i % 5, succeeded_change + i % 3, succeeded_remove, failed_add,
    failed_change, failed_remove, aborted_add, aborted_change, aborted_remove
  from runs, n where runs.id = 1;
  with recursive n(i) as (select 2 union all select i + 1 from n where i < $failed)
  insert into failed_rows (run_id, sync_id, operation, row_key, reason)
  select 1, 1, 'add', 'key-' || i, 'CHECK constraint failed: tier <> ''banned'' (' || (i % 13) || ')' from n;"
echo "state: 1 sync, $(sqlite3 "$state" 'select count(*) from runs') runs; run 1 has $(sqlite3 "$state" 'select count(*) from failed_rows where run_id = 1') failed rows"

(cd "$work" && exec "$backflow" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>&1) &
server=$!
for _ in $(seq 1 600); do
  grep -q 'http://' "$work/serve.log" 2>/dev/null && break
  sleep 0.1
done
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log")

last_runs_page=$(( (runs + 49) / 50 ))
last_rows_page=$(( (failed + 99) / 100 ))
printf '\n%-34s %10s %10s %10s\n' "page" "bytes" "median s" "max s"
for path in / /syncs/1 "/syncs/1?page=$last_runs_page" /runs/1 "/runs/1?page=$last_rows_page" /errors /metrics \
  /api/syncs/1/runs "/api/runs/1?page=$last_rows_page"; do
  times=()
  for _ in $(seq 1 "$repeat"); do
    times+=("$(curl -sS -o "$work/body" -w '%{time_total}' "$base$path")")
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  median=$(echo "$sorted" | sed -n "$(( (repeat + 1) / 2 ))p")
  printf '%-34s %10s %10s %10s\n' "$path" "$(wc -c <"$work/body")" "$median" "$(echo "$sorted" | tail -1)"
done
