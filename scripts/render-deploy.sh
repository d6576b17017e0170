#!/usr/bin/env bash
# Regenerates deploy/'s kustomize base from charts/rolesmith with default values. Helm renders by
# installing, so this installs the chart into a throwaway kube-sim with the real Helm library.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/venv.sh"
# The same build as `make test` and `make sandbox` (one feature set for the workspace): a no-op
# when they ran, where `-p kube-sim` alone would rebuild shared dependencies with fewer features.
"${CARGO:-cargo}" build --quiet --manifest-path "$root/Cargo.toml" --workspace --bins
KUBE_SIM_BIN="$(bash "$root/scripts/target-dir.sh")/debug/kube-sim"
export KUBE_SIM_BIN
cd "$root/tests/ship"
PYTHONDONTWRITEBYTECODE=1 "${ROLESMITH_VENV:-$root/.venv}/bin/python" render_deploy.py
