#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up what a preset needs, then configures and builds it.
#   scripts/build.sh [preset] [cmake --build args...]   (default: linux-x86_64)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset=${1:-linux-x86_64}
shift || true
bash scripts/setup.sh "$preset"
# Compiles go through ccache when it is there (setup.sh installs it), its
# cache beside the toolchains in ~/.cache/gort, so a second clone (CI's) only
# compiles what changed. base_dir and no cwd hashing: clones at other paths
# hit too (their debug info then names the first clone's build directory).
if command -v ccache >/dev/null; then
  export CCACHE_DIR="${GORT_CACHE:-$HOME/.cache/gort}/ccache"
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" "$@"
