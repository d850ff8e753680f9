#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Uses gort as a new user would: installs a built preset into a scratch prefix
# (cmake --install), then builds and runs consumers against that prefix only:
#   - C99 (-std=c99 -pedantic -Werror) through pkg-config: gort.pc (shared),
#     gort.pc with --static, gort-static.pc (libgort.a from the C driver)
#   - CMake projects through find_package: C-only and C++, static and shared
#   - the shared library alone: its NEEDED entries are libc's (no Abseil, no
#     libstdc++), it exports gort_* only, and a C consumer builds (CMake and
#     pkg-config) where Abseil's headers, CMake package and pkg-config files
#     are hidden and runs where Abseil's, libstdc++'s and libgcc_s's shared
#     libraries are hidden too (a private mount namespace: unshare -m)
#
#   scripts/consumers.sh [preset]     (default linux-x86_64; builds it first)
# Ends with "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
preset=${1:-linux-x86_64}
if [ "$preset" != linux-x86_64 ]; then
  echo "consumers.sh: only linux-x86_64 runs here (native, self-contained libgort.so)" >&2
  exit 2
fi
bash scripts/build.sh "$preset" >/dev/null || { echo "build of $preset failed" >&2; exit 1; }

work=$root/build/$preset/consumers
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
cmake --install "build/$preset" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }
libdir=$prefix/lib
export PKG_CONFIG_PATH=$libdir/pkgconfig
# Only the prefix: no CMake package or pkg-config file from elsewhere is used.
export CMAKE_PREFIX_PATH=$prefix
tests=$root/tests
cflags_c99=(-std=c99 -pedantic -Wall -Wextra -Werror)
pass=0
fail=0
failed=()

# check NAME COMMAND...: runs one check, its output in $work/NAME.log.
check() {
  local name=$1
  shift
  if "$@" >"$work/$name.log" 2>&1; then
    pass=$((pass + 1))
    printf '  ok    %s\n' "$name"
  else
    fail=$((fail + 1))
    failed+=("$name")
    printf '  FAIL  %s\n' "$name"
    sed 's/^/        /' "$work/$name.log" | tail -n 30
  fi
}

# --- The shared library on its own ------------------------------------------
so=$libdir/libgort.so.0
needed=$(readelf -d "$so" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' | tr '\n' ' ')
exports=$(readelf -W --dyn-syms "$so" | awk '$7 != "UND" && $8 ~ /^gort_/' | wc -l)
echo "libgort.so NEEDED: $needed"
echo "libgort.so exports: $exports gort_* functions"
only_libc() {
  local n
  for n in $needed; do
    case "$n" in
      libc.so.6|libm.so.6|ld-linux-*.so.*) ;;
      *) echo "libgort.so needs $n (only libc's libraries are allowed)"; return 1 ;;
    esac
  done
  [ -n "$needed" ]
}
check shared-needs-only-libc only_libc
check shared-exports-only-gort cmake -DREADELF=readelf -DLIB="$so" -P "$tests/check_exports.cmake"

# --- C99 through pkg-config ---------------------------------------------------
# run_c99 NAME PKG-CONFIG-ARGS...: compiles both C programs with the C driver.
run_c99() {
  local name=$1
  shift
  local flags
  flags=$(pkg-config --cflags --libs "$@") || return 1
  echo "pkg-config $*: $flags"
  local src
  for src in "$tests/c_api_c99_test.c" "$tests/consumers/runtime.c"; do
    local exe=$work/$name-$(basename "$src" .c)
    # shellcheck disable=SC2086
    cc "${cflags_c99[@]}" "$src" $flags -Wl,-rpath,"$libdir" -o "$exe" || return 1
    "$exe" || return 1
  done
}
# The program links libgort.so (NEEDED), or does not (static).
links_shared() { readelf -d "$1" | grep -q 'NEEDED.*\[libgort\.so\.0\]'; }
c99_shared() { run_c99 c99-pc-shared gort && links_shared "$work/c99-pc-shared-runtime"; }
c99_shared_static_flag() { run_c99 c99-pc-static-flag --static gort; }
c99_static() {
  run_c99 c99-pc-static gort-static || return 1
  ! links_shared "$work/c99-pc-static-runtime" || { echo "gort-static.pc linked libgort.so"; return 1; }
}
check c99-pkgconfig-shared c99_shared
check c99-pkgconfig-shared-with-static-flag c99_shared_static_flag
check c99-pkgconfig-static c99_static

# --- CMake projects through find_package --------------------------------------
# cmake_project NAME DIR LINK EXECUTABLES...: configures, builds, runs.
cmake_project() {
  local name=$1 dir=$2 link=$3
  shift 3
  local b=$work/$name
  cmake -S "$dir" -B "$b" -G Ninja -DGORT_LINK="$link" -DCMAKE_BUILD_TYPE=Release || return 1
  cmake --build "$b" || return 1
  local exe
  for exe in "$@"; do
    "$b/$exe" || return 1
  done
  if [ "$link" = static ]; then
    ! links_shared "$b/$1" || { echo "$name linked libgort.so"; return 1; }
  else
    links_shared "$b/$1" || { echo "$name did not link libgort.so"; return 1; }
  fi
}
check cmake-c-shared cmake_project cmake-c-shared "$tests/consumers/c" shared c99 runtime
check cmake-c-static cmake_project cmake-c-static "$tests/consumers/c" static c99 runtime
check cmake-cxx-shared cmake_project cmake-cxx-shared "$tests/consumers/cxx" shared cxx
check cmake-cxx-static cmake_project cmake-cxx-static "$tests/consumers/cxx" static cxx

# --- The C ABI without Abseil on the machine ----------------------------------
# In a private mount namespace, empty directories and /dev/null are mounted
# over Abseil's headers, CMake package, pkg-config files and shared libraries
# (build step), and over libstdc++ and libgcc_s too (run step: cmake itself
# needs libstdc++, the consumers must not).
multiarch=$(cc -print-multiarch)
syslib=/usr/lib/$multiarch
cat >"$work/hide.sh" <<HIDE
set -e
empty=\$(mktemp -d)
hide_dir() { [ ! -d "\$1" ] || mount --bind "\$empty" "\$1"; }
hide_files() { local f; for f in "\$@"; do [ ! -e "\$f" ] || mount --bind /dev/null "\$f"; done; }
hide_dir /usr/include/absl
hide_dir $syslib/cmake/absl
hide_files $syslib/pkgconfig/absl_*.pc $syslib/libabsl_*.so*
if [ "\${HIDE_CXX_RUNTIME:-0}" = 1 ]; then hide_files $syslib/libstdc++.so.6* $syslib/libgcc_s.so.1; fi
# The view is real: nothing of Abseil is left to find.
[ ! -e /usr/include/absl/base/config.h ]
! pkg-config --exists absl_base
"\$@"
HIDE
without_absl_build() {
  unshare -m bash "$work/hide.sh" bash -c '
    set -e
    # gort::gort needs Abseil: asked for, it is not found here.
    if cmake -S "$1/consumers/c" -B "$2/noabsl-static" -G Ninja -DGORT_LINK=static >"$2/noabsl-static.log" 2>&1; then
      echo "find_package(gort COMPONENTS static) succeeded without Abseil"; exit 1
    fi
    grep -q "needs Abseil" "$2/noabsl-static.log"
    cmake -S "$1/consumers/c" -B "$2/noabsl-cmake" -G Ninja -DGORT_LINK=shared
    cmake --build "$2/noabsl-cmake"
    flags=$(pkg-config --cflags --libs gort)
    cc -std=c99 -pedantic -Wall -Wextra -Werror "$1/consumers/runtime.c" $flags \
      -Wl,-rpath,"$3" -o "$2/noabsl-pc-runtime"
  ' _ "$tests" "$work" "$libdir"
}
without_absl_run() {
  HIDE_CXX_RUNTIME=1 unshare -m bash "$work/hide.sh" bash -c '
    set -e
    ! ldd "$1/noabsl-cmake/runtime" | grep -E "absl|stdc\+\+|gcc_s"
    "$1/noabsl-cmake/c99"
    "$1/noabsl-cmake/runtime"
    "$1/noabsl-pc-runtime"
  ' _ "$work"
}
check shared-without-abseil-build without_absl_build
check shared-without-abseil-or-libstdcxx-run without_absl_run

echo "consumers: $pass passed, $fail failed"
[ "$fail" = 0 ]
