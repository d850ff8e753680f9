#!/usr/bin/env bash
# Sets up what a preset needs, then configures and builds it.
#   scripts/build.sh [preset] [cmake --build args...]   (default: linux-x86_64)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset=${1:-linux-x86_64}
shift || true
bash scripts/setup.sh "$preset"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" "$@"
