#!/usr/bin/env bash
# Regenerates deploy/'s kustomize base from charts/rolesmith with default values. Helm renders by
# installing, so this installs the chart into a throwaway kube-sim with the real Helm library.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/venv.sh"
cargo build --quiet --manifest-path "$root/Cargo.toml" -p kube-sim --bin kube-sim
export KUBE_SIM_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/kube-sim"
cd "$root/tests/ship"
PYTHONDONTWRITEBYTECODE=1 "${ROLESMITH_VENV:-$root/.venv}/bin/python" render_deploy.py
