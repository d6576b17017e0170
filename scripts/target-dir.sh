#!/usr/bin/env bash
# Prints the directory cargo builds into, resolved by cargo itself: CARGO_TARGET_DIR,
# build.target-dir from a cargo config, or target/ in the workspace. Every script that runs a
# binary cargo built asks here, so none of them looks in target/ while cargo wrote elsewhere.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"${CARGO:-cargo}" metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
