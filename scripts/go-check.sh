#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Go package (bindings/go/gort) and the Go example (examples/go) against
# an INSTALLED tree, as a cgo user meets it: cmake --install into a scratch
# prefix, PKG_CONFIG_PATH naming only that prefix, then for the shared
# library (gort.pc, the default) and the static one (gort-static.pc,
# -tags gort_static): go vet, go test, go test -race; the static test
# binary must not need libgort.so; the example is built both ways and run.
# Debian's Go (setup.sh installs golang-go); no module is downloaded
# (GOPROXY=off, GOFLAGS=-mod=mod); Go's caches live in $GORT_CACHE/go.
#
# windows-x86_64: the package's test binary cross-compiled with mingw-w64
# (GOOS=windows, CGO_ENABLED=1) against the installed Windows tree's
# gort.pc (libgort.dll) and run under Wine (scripts/wine-run), with go vet.
# The static library is not tried there: the mingw Abseil's
# absl_symbolize.pc names "dbghelp" without -l, which cgo refuses.
#
#   scripts/go-check.sh [linux-x86_64|windows-x86_64]   (builds it first)
# Ends with "go: N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
preset=${1:-linux-x86_64}
case "$preset" in
  linux-x86_64) targets=() ;;
  # What the install needs (the tests and benchmarks are not).
  windows-x86_64) targets=(--target gort_shared gort_static gort-probe) ;;
  *) echo "go-check.sh: linux-x86_64 or windows-x86_64" >&2; exit 2 ;;
esac
bash scripts/build.sh "$preset" "${targets[@]}" >/dev/null ||
  { echo "build of $preset failed" >&2; exit 1; }
command -v go >/dev/null || { echo "go-check.sh: no go (scripts/setup.sh installs golang-go)" >&2; exit 1; }

work=$root/build/$preset/go-check
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
cmake --install "build/$preset" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }
libdir=$prefix/lib
cache=${GORT_CACHE:-$HOME/.cache/gort}/go
mkdir -p "$cache"
export PKG_CONFIG_PATH=$libdir/pkgconfig
export GOCACHE=$cache/build GOPATH=$cache/path GOMODCACHE=$cache/path/pkg/mod
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GO111MODULE=on CGO_ENABLED=1
# The shared tests find libgort.so.0 in the prefix through their rpath.
export CGO_LDFLAGS="-Wl,-rpath,$libdir"
# gort-static.pc requires Debian's Abseil, whose absl_base.pc links
# libatomic as "-Wl,--push-state,--as-needed -latomic -Wl,--pop-state":
# Go 1.19's cgo refuses those flags from pkg-config unless allowed.
export CGO_LDFLAGS_ALLOW='-Wl,--(push|pop)-state.*'
pkg=$root/bindings/go/gort
example=$root/examples/go
echo "go: $(go version), prefix $prefix"
pass=0
fail=0

check() {
  local name=$1
  shift
  if "$@" >"$work/$name.log" 2>&1; then
    pass=$((pass + 1))
    printf '  ok    %s%s\n' "$name" "$(summary "$work/$name.log")"
  else
    fail=$((fail + 1))
    printf '  FAIL  %s\n' "$name"
    sed 's/^/        /' "$work/$name.log" | tail -n 40
  fi
}
# "(N tests passed)" for go test -v logs.
summary() {
  local n
  n=$(grep -c '^--- PASS' "$1")
  [ "$n" = 0 ] || printf ' (%s tests passed)' "$n"
}
needed() { readelf -d "$1" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' | tr '\n' ' '; }

if [ "$preset" = windows-x86_64 ]; then
  # Abseil's .pc files for mingw (gort.pc's Requires.private).
  export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH:${GORT_CACHE:-$HOME/.cache/gort}/deps/windows-x86_64/lib/pkgconfig
  export GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc
  unset CGO_LDFLAGS
  check vet-windows bash -c "cd '$pkg' && go vet ."
  win_test() {
    local dir=$work/windows
    mkdir -p "$dir"
    (cd "$pkg" && go test -c -o "$dir/gort.test.exe" .) || return 1
    cp "$prefix/bin/libgort.dll" "$dir/"
    echo "DLLs of gort.test.exe: $(x86_64-w64-mingw32-objdump -p "$dir/gort.test.exe" |
      sed -n 's/.*DLL Name: //p' | tr '\n' ' ')"
    (cd "$dir" && timeout 120 "$root/scripts/wine-run" ./gort.test.exe -test.v -test.count=1)
  }
  check test-windows-wine win_test
  grep -h '^DLLs of' "$work/test-windows-wine.log" | sed 's/^/  /'
  echo "go: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
fi

gofmt_clean() {
  local out
  out=$(gofmt -l "$pkg" "$example")
  [ -z "$out" ] || { echo "not gofmt'ed: $out"; return 1; }
}
check gofmt gofmt_clean

# go test -v under a timeout; each run from scratch (-count=1).
gotest() { (cd "$pkg" && timeout 120 go test -count=1 -v "$@" .); }
check vet-shared bash -c "cd '$pkg' && go vet . && cd '$example' && go vet ."
check vet-static bash -c "cd '$pkg' && go vet -tags gort_static . && cd '$example' && go vet -tags gort_static ."
check test-shared gotest
check test-shared-race gotest -race
check test-static gotest -tags gort_static
check test-static-race gotest -tags gort_static -race

# The test binaries: the shared one needs libgort.so.0, the static one not.
links() {
  local tags=$1 want=$2 exe=$work/gort${1:+-static}.test
  (cd "$pkg" && go test -c ${tags:+-tags "$tags"} -o "$exe" .) || return 1
  echo "NEEDED of $exe: $(needed "$exe")"
  if [ "$want" = shared ]; then
    needed "$exe" | grep -qw 'libgort\.so\.0'
  else
    ! needed "$exe" | grep -q libgort
  fi
}
check test-binary-shared-needs-libgort links "" shared
check test-binary-static-no-libgort links gort_static static
grep -h '^NEEDED' "$work"/test-binary-*.log | sed 's/^/  /'

example_run() {
  local tags=$1 exe=$work/gortecho${1:+-static}
  (cd "$example" && go build ${tags:+-tags "$tags"} -o "$exe" .) || return 1
  timeout 60 "$exe" -clients 8 -bytes 262144
}
check example-shared example_run ""
check example-static example_run gort_static

echo "go: $pass passed, $fail failed"
[ "$fail" = 0 ]
