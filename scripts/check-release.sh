#!/usr/bin/env bash
# Checks a release archive (`make release` runs it): its SHA-256 file agrees, the binary links no
# Swift library (only the system's: glibc, libpq, libsqlite3, libmariadb and what they need), it
# knows its commit, and from an empty environment (`env -i`) it runs validate, plan and apply on a
# temporary copy of the demo project.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
archive=${1:?usage: check-release.sh dist/backflow-VERSION-linux-ARCH.tar.gz [COMMIT]}
# The commit the binary must name: the one make release built from, else HEAD.
expected=${2:-$(git -C "$root" rev-parse HEAD)}
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")

fail() { echo "check-release: $*" >&2; exit 1; }

(cd "$(dirname "$archive")" && sha256sum --check --quiet "$(basename "$archive").sha256") \
  || fail "$archive does not match its .sha256"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$archive"
binary=$(echo "$work"/backflow-*/backflow)
[ -x "$binary" ] || fail "no backflow binary in $archive"

libraries=$(ldd "$binary")
echo "$libraries"
if echo "$libraries" | grep -Ei 'swift|Foundation|dispatch|BlocksRuntime|not found'; then
  fail "the binary needs a Swift runtime library or a library that is missing (above)"
fi
# Every library it needs is the system's: glibc, libpq, libsqlite3, libmariadb, and their own.
unexpected=$(echo "$libraries" | awk '$3 ~ /^\// && $3 !~ /^\/(usr\/)?lib(64)?\// { print $3 }')
[ -z "$unexpected" ] || fail "libraries from outside the system's directories: $unexpected"

commit=$(env -i "$binary" version --format json)
echo "$commit"
echo "$commit" | grep -q "\"commit\": \"$expected\"" || fail "backflow version does not name commit $expected"

# The demo project, copied (its warehouse and CRM made as `make demo` makes them), from an empty
# environment: no PATH, HOME or Swift anywhere.
project="$work/demo-project"
mkdir -p "$project/demo"
cp -r "$root/backflow.yaml" "$root/syncs" "$project/"
sqlite3 "$project/demo/warehouse.db" < "$root/demo/seed.sql"
sqlite3 "$project/demo/crm.db" < "$root/demo/crm.sql"
cd "$work"
env -i "$binary" validate --project "$project"
env -i "$binary" plan --project "$project" > "$work/plan.txt" || fail "plan failed: $(cat "$work/plan.txt")"
env -i "$binary" apply --project "$project" --auto-approve
set +e
env -i "$binary" plan --project "$project" --detailed-exitcode > "$work/plan-after.txt"
status=$?
set -e
[ "$status" -eq 0 ] || fail "a plan after apply still has changes (exit $status): $(cat "$work/plan-after.txt")"
echo "check-release: $(basename "$archive") is self-contained and runs validate, plan and apply"
