#!/usr/bin/env bash
# `make demo`: seeds the demo warehouse (SQLite) and runs Backflow over the example project.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
backflow=${1:-.build/debug/backflow}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
[[ -t 1 ]] || step() { printf '\n==> %s\n' "$*"; }

step "Seeding the demo warehouse: demo/warehouse.db"
rm -f demo/warehouse.db
sqlite3 demo/warehouse.db < demo/seed.sql
for table in $(sqlite3 demo/warehouse.db "select name from sqlite_master where type = 'table' order by name"); do
  printf '  %-26s %s rows\n' "$table" "$(sqlite3 demo/warehouse.db "select count(*) from \"$table\"")"
done

step "backflow validate: every file under syncs/ checked at once, no connection opened"
"$backflow" validate

step "backflow validate --format json (what CI tools read)"
"$backflow" validate --format json

step "A mistake, to show what a diagnostic looks like"
mkdir -p .build
broken=$(mktemp -d .build/demo-broken.XXXX)
trap 'rm -rf "$broken"' EXIT
cp -r backflow.yaml syncs "$broken"/
sed -i 's/^mode: upsert/mode: upsertt/' "$broken"/syncs/users_to_crm.yaml
sed -i 's/^destination: local/destination: locl/' "$broken"/syncs/newsletter.yaml
if "$backflow" validate --project "$broken"; then
  echo "expected the broken copy to fail validation" >&2
  exit 1
fi
echo "(exit 1, as expected)"

step "backflow plan: what apply would send, read from the warehouse and compared with state"
rm -rf .backflow out
"$backflow" plan --show-rows 3

step "backflow plan --format markdown (the pull-request comment)"
"$backflow" plan --format markdown

step "Creating the demo CRM's tables: demo/crm.db (Backflow does not create tables)"
rm -f demo/crm.db
sqlite3 demo/crm.db < demo/crm.sql

step "backflow apply --auto-approve: the first run sends every row"
"$backflow" apply --auto-approve
printf '  contacts in the CRM: %s\n' "$(sqlite3 demo/crm.db 'select count(*) from contacts')"

step "The warehouse changes: Grace upgrades, Linus deactivates, a new user signs up"
sqlite3 demo/warehouse.db <<'SQL'
update users set plan = 'enterprise' where user_id = 2;
update users set active = 0 where user_id = 5;
insert into users (user_id, email, first_name, last_name, plan, active, created_at)
  values (100, 'new.user@example.com', 'Nova', 'User', 'starter', 1, '2026-11-21T09:00:00Z');
SQL

step "backflow plan --out demo.plan: only the change"
"$backflow" plan --show-rows 3 --out .backflow/demo.plan

step "backflow apply .backflow/demo.plan: sends exactly that plan"
"$backflow" apply .backflow/demo.plan
sqlite3 -header -column demo/crm.db "select email, first_name, tier, full_name from contacts where email in ('grace.hopper@example.com', 'linus@example.org', 'new.user@example.com')"

step "backflow plan --detailed-exitcode: nothing left to do (exit 0)"
"$backflow" plan --detailed-exitcode

step "The warehouse sync logs (docs/sync-logs.md): every run, every row's outcome, queryable in SQL"
sqlite3 -header -column demo/warehouse.db <<'SQL'
select sync_id, sync_run_id, model_name, status, num_planned_add, num_planned_change, num_planned_remove,
  num_succeeded_add + num_succeeded_change + num_succeeded_remove as succeeded
from backflow_audit_sync_runs order by sync_run_id;
select op_type, row_id, status, json_extract(fields, '$.plan') as plan
from backflow_audit_sync_changelog
where sync_run_id = (select max(sync_run_id) from backflow_audit_sync_runs where sync_name = 'users_to_crm');
SQL

step "backflow runs users_to_crm: the demo sync's run history"
"$backflow" runs users_to_crm
