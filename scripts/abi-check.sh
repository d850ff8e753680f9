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
# Any change to what the baseline has fails: a function removed or its type
# changed, a struct's layout changed (also growth at its end, which the
# commit that makes it records with --update and in CHANGELOG.md), the
# SONAME changed. Functions added only pass, and it says so: the baseline
# moves at the next release. The rules are in README.md ("ABI stability").
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
# 8 incompatible change. abidiff sets 8 only for removals: a changed struct
# layout or parameter type is a plain 4. So a change is compatible only when
# every summary counts nothing removed and nothing changed (functions added).
removed_or_changed=$(grep -E 'changes summary:' "$out/abidiff.txt" |
  grep -oE '[0-9]+ (Removed|Changed)' | awk '{s += $1} END {print s + 0}')
if [ $((rc & 3)) != 0 ]; then
  echo "abi: abidiff failed (status $rc)"
  exit 1
elif [ $((rc & 8)) != 0 ] || { [ $((rc & 4)) != 0 ] && [ "$removed_or_changed" != 0 ]; } ||
     grep -q 'SONAME changed' "$out/abidiff.txt"; then
  echo "abi: INCOMPATIBLE change against $baseline (status $rc): see README.md, ABI stability"
  exit 1
elif [ $((rc & 4)) != 0 ]; then
  echo "abi: compatible change against $baseline (functions added only): the baseline moves at the next release"
else
  echo "abi: identical to $baseline"
fi
