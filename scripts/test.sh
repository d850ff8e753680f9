#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up, builds and runs gort's test suite for one or more presets
# (default: linux-x86_64, natively). Runnable presets: linux-x86_64, asan,
# tsan, linux-aarch64 and linux-riscv64 (qemu-user), windows-x86_64 (Wine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ $# -gt 0 ] || set -- linux-x86_64
for preset in "$@"; do
  echo "== $preset: setup and build"
  bash scripts/build.sh "$preset"
  echo "== $preset: tests"
  ctest --preset "$preset" -j "$(nproc)"
done
