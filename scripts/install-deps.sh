#!/usr/bin/env bash
# Installs what building and testing Backflow needs on Debian/Ubuntu: the C libraries the
# systemLibrary targets link against, PostgreSQL and MariaDB servers for the integration tests, jq
# and GNU time for `make bench`, Chromium for the web UI's browser test, the Python modules the
# schema tests use, OpenJDK 17 for the Spark Connect server scripts/with-spark.sh starts, and the
# virtual environment the /metrics, dbt and ADBC tests use (scripts/test-venv.sh). Safe to run repeatedly; does nothing when all is present.
set -euo pipefail

packages=(
  libyaml-dev libpq-dev libsqlite3-dev libmariadb-dev postgresql mariadb-server sqlite3 tzdata jq time chromium
  openjdk-17-jre-headless
)

# CI runs as root without sudo; a developer machine usually has sudo instead.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-deps: need root or sudo to run: $*" >&2
    return 1
  fi
}

is_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

apt_updated=0
apt_install() {
  if [[ $apt_updated -eq 0 ]]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  # Noninteractive so tzdata does not stop to ask for a time zone.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
for package in "${packages[@]}"; do
  is_installed "$package" || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-deps: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

python_ok() { python3 -c 'import jsonschema, yaml' >/dev/null 2>&1; }
if ! python_ok; then
  echo "install-deps: installing jsonschema and pyyaml for python3"
  if ! python3 -m pip install --quiet jsonschema pyyaml || ! python_ok; then
    echo "install-deps: pip failed; falling back to apt" >&2
    apt_install python3-jsonschema python3-yaml
  fi
  if ! python_ok; then
    echo "install-deps: python3 still cannot import jsonschema and yaml" >&2
    exit 1
  fi
fi

# prometheus-client, dbt, the ADBC drivers and pyspark, in .venv-test (gitignored), never in the system's python.
"$(dirname "$0")/test-venv.sh" >/dev/null
