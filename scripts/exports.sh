#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Lists what a built gort shared library exports and checks that it is the C
# ABI only: gort_* (ELF, PE) or _gort_* (Mach-O). For the targets built here
# but not run (windows-aarch64, macOS), where the test suite cannot check it.
#   scripts/exports.sh LIBRARY     prints "N exports, all gort_*", or the
#                                  others and exits 1
set -uo pipefail
lib=${1:?usage: scripts/exports.sh LIBRARY}
objdump=$(command -v llvm-objdump-14 || command -v llvm-objdump) || { echo "llvm-objdump missing (Debian: llvm-14)" >&2; exit 1; }
nm=$(command -v llvm-nm-14 || command -v llvm-nm) || { echo "llvm-nm missing (Debian: llvm-14)" >&2; exit 1; }
case "$(file -bL "$lib")" in
  PE32*)
    # The export table: "Ordinal RVA Name" rows after "Export Table:".
    names=$("$objdump" -p "$lib" | sed -n '/^Export Table:/,/^$/p' |
      awk '$1 ~ /^[0-9]+$/ && NF >= 3 {print $3}') ;;
  Mach-O*)
    # External defined symbols are the dylib's exports; the C names carry
    # Mach-O's leading underscore.
    names=$("$nm" --extern-only --defined-only --just-symbol-name "$lib" | sed 's/^_//') ;;
  ELF*)
    names=$("$nm" -D --extern-only --defined-only --just-symbol-name "$lib" | sed 's/@.*//' |
      grep -vx 'GORT_[0-9.]*') ;;
  *) echo "$lib: not a PE, Mach-O or ELF file" >&2; exit 1 ;;
esac
total=$(grep -c . <<<"$names")
others=$(grep -v '^gort_' <<<"$names" | grep . )
if [ -n "$others" ]; then
  echo "$lib: $total exports, $(grep -c . <<<"$others") outside the C ABI:"
  head -n 20 <<<"$others" | sed 's/^/  /'
  exit 1
fi
if [ "$total" -lt 5 ]; then
  echo "$lib: only $total exports"
  exit 1
fi
echo "$lib: $total exports, all gort_*"
