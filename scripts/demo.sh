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
"$backflow" plan --show-rows 3

step "backflow plan --format markdown (the pull-request comment)"
"$backflow" plan --format markdown
