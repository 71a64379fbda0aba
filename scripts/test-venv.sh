#!/usr/bin/env bash
# Creates .venv-test (gitignored) at the repository root with what tests run in Python, only when
# it is missing or incomplete, and prints the path of its python. Never touches the system's python.
# Used by scripts/install-deps.sh and, when the environment is missing, by the tests themselves.
#   prometheus-client  parses /metrics (WebServer tests)
#   dbt-core, dbt-postgres  run a real `dbt build` for the dbt model tests (docs/dbt.md). dbt-core is
#     pinned below 1.12: the 1.12 parser package downloads a wheel from outside the package
#     registry at install time.
#   adbc-driver-postgresql, adbc-driver-sqlite, adbc-driver-spark  the real ADBC drivers the `type: adbc`
#     source is tested with (docs/adbc.md); their shared libraries ship inside the wheels.
#   adbc-driver-snowflake, adbc-driver-bigquery  loaded without an account, to test their errors.
#   pyspark  the Spark distribution (jars, sbin/start-connect-server.sh) scripts/with-spark.sh starts.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-test"
python="$venv/bin/python"

# A lock, so tests that ask at the same time create it once.
exec 9>"$root/.venv-test.lock"
flock 9

if [ ! -x "$python" ]; then
  echo "test-venv: creating $venv" >&2
  python3 -m venv "$venv"
fi
if ! "$python" -c 'import prometheus_client' >/dev/null 2>&1; then
  echo "test-venv: installing prometheus-client" >&2
  "$python" -m pip install --quiet --disable-pip-version-check prometheus-client >&2
fi
if ! "$venv/bin/dbt" --version 2>/dev/null | grep -q postgres; then
  echo "test-venv: installing dbt-core<1.12 and dbt-postgres" >&2
  "$python" -m pip install --quiet --disable-pip-version-check 'dbt-core<1.12' dbt-postgres >&2
fi
adbc_drivers=(adbc-driver-postgresql adbc-driver-sqlite adbc-driver-spark adbc-driver-snowflake adbc-driver-bigquery)
if ! "$python" -c 'import adbc_driver_postgresql, adbc_driver_sqlite, adbc_driver_spark, adbc_driver_snowflake, adbc_driver_bigquery' \
  >/dev/null 2>&1; then
  echo "test-venv: installing ${adbc_drivers[*]}" >&2
  "$python" -m pip install --quiet --disable-pip-version-check "${adbc_drivers[@]}" >&2
fi
if ! "$python" -c 'import pyspark' >/dev/null 2>&1; then
  echo "test-venv: installing pyspark" >&2
  "$python" -m pip install --quiet --disable-pip-version-check pyspark >&2
fi
echo "$python"
