#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The C ABI guard: compares libgort.so's ABI (libabigail's abidw over the
# DWARF of the linux-x86_64 preset's -g build, gort_* interfaces only) with
# the committed baseline bindings/c/abi/libgort.so.0.abi, using abidiff.
#
#   scripts/abi-check.sh               build linux-x86_64, then compare
#   scripts/abi-check.sh --lib FILE    compare FILE (a -g libgort.so) instead
#   scripts/abi-check.sh --update      rewrite the baseline (at a release)
#
# An incompatible change (a function removed or its type changed, a struct's
# layout changed, the SONAME changed) fails. A compatible one (functions
# added) passes and says so: the baseline moves at the next release. The rule
# a break follows is in README.md ("ABI stability").
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
baseline=bindings/c/abi/libgort.so.0.abi
lib=
update=no
while [ $# -gt 0 ]; do
  case "$1" in
    --lib) lib=$2; shift 2 ;;
    --update) update=yes; shift ;;
    *) echo "usage: scripts/abi-check.sh [--lib FILE] [--update]" >&2; exit 2 ;;
  esac
done
command -v abidw >/dev/null || { echo "abidw missing: scripts/setup.sh linux-x86_64 installs abigail-tools" >&2; exit 1; }
if [ -z "$lib" ]; then
  bash scripts/build.sh linux-x86_64 --target gort_shared >/dev/null || { echo "build failed" >&2; exit 1; }
  lib=build/linux-x86_64/libgort.so.0
fi
lib=$(readlink -f "$lib")
out=build/abi
mkdir -p "$out"
current=$out/libgort.so.0.abi
# Only what gort.h declares: the interfaces exported, the types they reach.
abidw --no-corpus-path --no-comp-dir-path --short-locs --exported-interfaces-only \
  --headers-dir bindings/c/include --drop-private-types \
  --out-file "$current" "$lib" || { echo "abidw failed on $lib" >&2; exit 1; }
functions=$(grep -c "<elf-symbol name='gort_" "$current")
echo "ABI of $lib: $functions gort_* functions"
if [ "$update" = yes ]; then
  cp "$current" "$baseline"
  echo "baseline $baseline updated"
  exit 0
fi
abidiff --no-show-locs "$baseline" "$current" >"$out/abidiff.txt" 2>&1
rc=$?
cat "$out/abidiff.txt"
# abidiff's status is a bit mask: 1 error, 2 usage error, 4 ABI change,
# 8 incompatible ABI change.
if [ $((rc & 3)) != 0 ]; then
  echo "abi: abidiff failed (status $rc)"
  exit 1
elif [ $((rc & 8)) != 0 ]; then
  echo "abi: INCOMPATIBLE change against $baseline (status $rc): see README.md, ABI stability"
  exit 1
elif [ $((rc & 4)) != 0 ]; then
  echo "abi: compatible change against $baseline (the interface grew): the baseline moves at the next release"
else
  echo "abi: identical to $baseline"
fi
