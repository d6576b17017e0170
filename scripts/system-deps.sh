#!/usr/bin/env bash
# Installs the Debian packages the shipping tests need: lua5.1 (the Lua dialect Argo CD runs
# health checks in). Idempotent and silent when everything is present; runs as root (or sudo).
set -euo pipefail
missing=()
command -v lua5.1 >/dev/null 2>&1 || missing+=(lua5.1)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "system-deps: need root to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Skip the index refresh when the package is already known: it is the slow part.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt and debconf chat on stderr even with -qq: keep it, show it only when something fails.
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }; }
# Skip the index refresh when the package is already known: it is the slow part.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  quiet $sudo apt-get update -qq
fi
quiet $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "system-deps: installed ${missing[*]}" >&2
