#!/usr/bin/env bash
# Creates .venv-test (gitignored) at the repository root with what tests run in Python, only when
# it is missing or incomplete, and prints the path of its python. Never touches the system's python.
# Used by scripts/install-deps.sh and, when the environment is missing, by the tests themselves.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-test"
python="$venv/bin/python"

# A lock, so tests that ask at the same time create it once.
exec 9>"$root/.venv-test.lock"
flock 9

if ! "$python" -c 'import prometheus_client' >/dev/null 2>&1; then
  echo "test-venv: creating $venv with prometheus-client" >&2
  python3 -m venv "$venv"
  "$python" -m pip install --quiet --disable-pip-version-check prometheus-client >&2
fi
echo "$python"
