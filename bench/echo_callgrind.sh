#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Instructions and system calls per echo round trip, server process only,
# for bench_echo's three servers (gort's example, raw epoll, libuv) at 1 and
# 64 connections x 64 B messages. Deterministic counts, unlike wall time on a
# shared machine.
#
# For each server and connection count the server runs twice under the
# tool: once with the connections opened and closed without traffic (the
# baseline: start-up, accepts, closes, exit) and once with R round trips;
# per round trip = (run - baseline) / R.
#   instructions    callgrind's total Ir (user space)
#   clock reads     calls of clock_gettime, gort::Nanotime or a vDSO clock
#                   (no system call)
#   allocations     calls of malloc (operator new goes through it)
#   system calls    strace -c -f (a separate run: strace slows it down)
#
# usage: bench/echo_callgrind.sh [build dir] (default build/linux-x86_64)
# Each connection pauses 1 ms (ECHO_CG_THINK_US) between a reply and its
# next message: under the tools the server is 20-50x slower, and without the
# pause the next message would always be waiting already, so the server
# would never go back to its poller; with it, every round trip takes the
# path it takes at full speed with one connection (read, write, read
# EAGAIN, wait in the poller).
#   ECHO_CG_ROUND_TRIPS  round trips per run (default 5000)
#   ECHO_CG_SERVERS      default "epoll uv gort"; ECHO_CG_CONNS default "1 64"
#   ECHO_CG_KEEP         a directory to keep the callgrind files in
#   ECHO_CG_VG_ARGS      more callgrind options, e.g. --dump-instr=yes for
#                        per-instruction figures (callgrind_annotate, kcachegrind)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/linux-x86_64}
bin=$build/bin/bench_echo
R=${ECHO_CG_ROUND_TRIPS:-5000}
think=${ECHO_CG_THINK_US:-1000}
servers=${ECHO_CG_SERVERS:-epoll uv gort}
conns_list=${ECHO_CG_CONNS:-1 64}
[ -x "$bin" ] || { echo "no $bin: build bench_echo first"; exit 1; }
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 0; }
have_strace=yes
command -v strace >/dev/null || have_strace=no
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_one TOOL SERVER CONNS ROUNDTRIPS OUT: one server process under the
# tool while the load runs against it; waits for the server's exit.
run_one() {
  local tool=$1 srv=$2 conns=$3 rts=$4 out=$5 pf="$work/port" pid
  rm -f "$pf"
  case $tool in
    callgrind) valgrind --tool=callgrind --callgrind-out-file="$out" ${ECHO_CG_VG_ARGS:-} \
                 "$bin" --serve="$srv" --close-after="$conns" --port-file="$pf" \
                 >/dev/null 2>"$out.log" & ;;
    strace) strace -f -c -o "$out" \
              "$bin" --serve="$srv" --close-after="$conns" --port-file="$pf" \
              >/dev/null 2>"$out.log" & ;;
  esac
  pid=$!
  for _ in $(seq 600); do [ -s "$pf" ] && break; sleep 0.1; done
  [ -s "$pf" ] || { echo "server $srv did not start"; cat "$out.log"; exit 1; }
  "$bin" --load --port="$(cat "$pf")" --conns="$conns" --size=64 \
    --round-trips="$rts" --think-us="$think" >/dev/null
  wait "$pid"
}

# Total Ir of a callgrind output file.
ir() { awk '/^(summary|totals):/ {print $2; exit}' "$1"; }
# Calls of functions whose name matches $2 (a regex), from the file's
# call records ("cfn=" then "calls=N ..."), names decompressed.
calls() {
  python3 - "$1" "$2" <<'PY'
import re, sys
names, total, cur = {}, 0, None
pat = re.compile(sys.argv[2])
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("cfn="):
        m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
        if m:
            if m.group(2): names[m.group(1)] = m.group(2)
            cur = names.get(m.group(1), "")
        else:
            cur = line[4:].strip()
    elif line.startswith("fn="):
        m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
        if m and m.group(2): names[m.group(1)] = m.group(2)
    elif line.startswith("calls=") and cur is not None:
        if pat.search(cur): total += int(line.split()[0][6:])
        cur = None
print(total)
PY
}
# Total system calls in an strace -c summary.
sys_total() { awk '$NF=="total" {print $4; exit}' "$1"; }

printf '%-6s %-6s %14s %10s %12s %10s %12s\n' server conns instr/rt ratio clock/rt malloc/rt syscalls/rt
for conns in $conns_list; do
  declare -A irpr=()
  for srv in $servers; do
    run_one callgrind "$srv" "$conns" 0 "$work/cg.$srv.$conns.base"
    run_one callgrind "$srv" "$conns" "$R" "$work/cg.$srv.$conns.run"
    b=$work/cg.$srv.$conns.base r=$work/cg.$srv.$conns.run
    d_ir=$(( $(ir "$r") - $(ir "$b") ))
    d_clk=$(( $(calls "$r" 'clock_gettime|Nanotime|__vdso_') - $(calls "$b" 'clock_gettime|Nanotime|__vdso_') ))
    d_mal=$(( $(calls "$r" '^malloc$') - $(calls "$b" '^malloc$') ))
    sc=n/a
    if [ $have_strace = yes ]; then
      run_one strace "$srv" "$conns" 0 "$work/st.$srv.$conns.base"
      run_one strace "$srv" "$conns" "$R" "$work/st.$srv.$conns.run"
      sc=$(python3 -c "print(f'{($(sys_total "$work/st.$srv.$conns.run") - $(sys_total "$work/st.$srv.$conns.base"))/$R:.2f}')")
    fi
    irpr[$srv]=$(python3 -c "print($d_ir/$R)")
    ratio=-
    [ -n "${irpr[epoll]:-}" ] && ratio=$(python3 -c "print(f'{${irpr[$srv]}/${irpr[epoll]}:.2f}')")
    printf '%-6s %-6s %14.0f %10s %12.4f %10.4f %12s\n' "$srv" "$conns" \
      "${irpr[$srv]}" "$ratio" "$(python3 -c "print($d_clk/$R)")" \
      "$(python3 -c "print($d_mal/$R)")" "$sc"
    if [ -n "${ECHO_CG_KEEP:-}" ]; then
      mkdir -p "$ECHO_CG_KEEP"; cp "$r" "$b" "$ECHO_CG_KEEP/"
    fi
  done
  unset irpr
done
