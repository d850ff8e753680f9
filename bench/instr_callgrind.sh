#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Instructions per operation beside time per operation, in one run, for
# bench_timer's and bench_netpoll's Instr* benchmarks (issue #15: claims
# that hold on a noisy machine, where wall time does not):
#   timers, through gort's C++ API, its C ABI and libuv, at 1e4 and 1e6 live
#   timers: start, stop (random order), fire (token and callback), each over
#   n/10 operations; bytes per timer;
#   poller, per call with one ready descriptor: gort's Prepare, Wait (parks)
#   and Poll (C++ and C ABI) beside raw epoll_wait (the floor) and libuv's
#   uv_run(UV_RUN_NOWAIT).
# Instructions: each binary runs once under callgrind with
# GORT_BENCH_INSTR=1 (one iteration per benchmark) and instrumentation off
# (--instr-atstart=no --collect-atstart=no); every benchmark turns it on for
# its loop, collects only around the measured calls and dumps the counts
# (bench/instr.h), so a dump's total Ir / ops is instructions per op: user
# space only (a system call's kernel side is not in it), the same on every
# run of the same binary. The poller rows are net of the floor of the
# collection toggles around each call (the "empty" row, subtracted).
# Time: the same benchmarks natively (ns per op; for the poller, per call
# less an empty steady_clock pair), as noisy as the machine is.
# Go's runtime timers (bench/go_timers, time only) print after the timer
# table when `go` is installed (scripts/setup.sh installs golang-go).
# The libuv rows need libuv found at build time (pkg-config libuv;
# scripts/setup.sh installs libuv1-dev); without it they are missing.
#
# usage: bench/instr_callgrind.sh [build dir] (default build/linux-x86_64)
#   INSTR_BENCHES   default "timer netpoll"
#   INSTR_MIN_TIME  native --benchmark_min_time (default 0.2)
#   INSTR_KEEP=dir  keep the callgrind files and the JSON there
# Ratios are to libuv (timers) or epoll (poller), or to gort's C++ API for
# an operation without that baseline. About 30 s on two shared cores
# (mostly bench_timer's 1e6-timer fills under valgrind); .ci/run runs it
# with INSTR_MIN_TIME=0.05 after the short benchmark runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build/linux-x86_64}
benches=${INSTR_BENCHES:-timer netpoll}
min_time=${INSTR_MIN_TIME:-0.2}
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for b in $benches; do
  bin=$build/bin/bench_$b
  [ -x "$bin" ] || { echo "no $bin: build bench_$b first"; exit 1; }
  mkdir -p "$work/$b"
  GORT_BENCH_INSTR=1 valgrind --tool=callgrind --instr-atstart=no \
    --collect-atstart=no --callgrind-out-file="$work/$b/cg.out" \
    "$bin" --benchmark_filter=Instr >"$work/$b/cg.stdout" 2>"$work/$b/cg.log" ||
    { echo "bench_$b under callgrind failed:"; tail -20 "$work/$b/cg.log"; exit 1; }
  "$bin" --benchmark_filter=Instr --benchmark_min_time="$min_time" \
    --benchmark_format=json >"$work/$b/time.json" 2>"$work/$b/time.log" ||
    { echo "bench_$b failed:"; tail -20 "$work/$b/time.log"; exit 1; }
done
if [ -n "${INSTR_KEEP:-}" ]; then mkdir -p "$INSTR_KEEP"; cp -r "$work"/* "$INSTR_KEEP/"; fi
# Go's own timers in the same run (time only: bench/go_timers/main.go).
go_line=
go_failed=no
if [[ " $benches " == *" timer "* ]] && command -v go >/dev/null; then
  go_line=$(cd bench/go_timers && go run . 2>&1) || go_failed=yes
fi

python3 - "$work" $benches <<'PY'
import glob, json, os, re, sys
work, benches = sys.argv[1], sys.argv[2:]

def dumps(d):
    """{(op, impl): (Ir, ops)} from the callgrind dumps in d."""
    out = {}
    for f in glob.glob(os.path.join(d, "cg.out*")):
        name = ir = None
        for line in open(f, errors="replace"):
            m = re.match(r"desc: Trigger: Client Request: (instr\|.*)", line)
            if m: name = m.group(1).strip()
            m = re.match(r"(?:summary|totals): (\d+)", line)
            if m and ir is None: ir = int(m.group(1))
        if name:
            _, op, impl, ops = name.split("|")
            out[(op, impl)] = (ir or 0, int(ops))
    return out

# Benchmark name -> (op, impl, time counter) for the native run's JSON.
def key(b, name):
    m = re.match(r"BM_Instr(Start|Stop|FireCallback|Fire)(CxxOwner|Cxx|CBatch64|C|Uv)/(\d+)$", name)
    if m:
        kind, impl, n = m.groups()
        op = {"Start": "start", "Stop": "stop", "Fire": "fire-token",
              "FireCallback": "fire-callback"}[kind]
        if kind == "Fire" and impl == "Uv": op = "fire-callback"
        impls = {"Cxx": "gort-c++", "CxxOwner": "gort-c++-own", "C": "gort-c",
                 "CBatch64": "gort-c-batch64", "Uv": "libuv"}
        return [(f"{op} n={n}", impls[impl], "ns_per_op")]
    m = re.match(r"BM_InstrGort(Cxx|C)/(\d)$", name)
    if m:
        impl = {"Cxx": "gort-c++", "C": "gort-c"}[m.group(1)]
        op, ctr = [("prepare", "prepare_ns"), ("wait (parks)", "wait_ns"),
                   ("poll (1 ready)", "poll_ns")][int(m.group(2))]
        return [(op, impl, ctr)]
    m = re.match(r"BM_Instr(Epoll|Uv)$", name)
    if m:
        return [("poll (1 ready)", {"Epoll": "epoll", "Uv": "libuv"}[m.group(1)], "poll_ns")]
    return []

order = {"gort-c++": 0, "gort-c++-own": 1, "gort-c": 2, "gort-c-batch64": 3,
         "libuv": 4, "epoll": 5}
for b in benches:
    d = os.path.join(work, b)
    cg = dumps(d)
    times, extra = {}, []
    for bm in json.load(open(os.path.join(d, "time.json")))["benchmarks"]:
        if bm.get("error_occurred"):
            print(f"{bm['name']}: {bm.get('error_message')}")
            continue
        for op, impl, ctr in key(b, bm["name"]):
            if ctr in bm: times[(op, impl)] = bm[ctr]
        if "bytes_per_timer" in bm:
            extra.append(f"{bm['name']}: bytes_per_timer {bm['bytes_per_timer']:.1f}")
    floor = 0.0
    if ("empty (toggle floor)", "-") in cg:
        ir, ops = cg.pop(("empty (toggle floor)", "-"))
        floor = ir / ops
    ref = "libuv" if b == "timer" else "epoll"
    print(f"\nbench_{b}: instructions (callgrind) and time (native) per op;"
          f" ratios to {ref}" + (f"; toggle floor {floor:.1f} instr/call subtracted" if floor else ""))
    print(f"{'op':<24} {'impl':<14} {'instr/op':>10} {'ratio':>6} {'ns/op':>9} {'ratio':>6}")
    ops_in_order = []
    for op, _ in sorted(cg, key=lambda k: list(cg).index(k)):
        if op not in ops_in_order: ops_in_order.append(op)
    def sortkey(op):
        m = re.match(r"(\S+) n=(\d+)", op)
        return (int(m.group(2)), ["start", "stop", "fire-token", "fire-callback"].index(m.group(1))) if m else \
               (0, ["prepare", "wait (parks)", "poll (1 ready)"].index(op))
    for op in sorted(ops_in_order, key=sortkey):
        rows = sorted([k for k in cg if k[0] == op], key=lambda k: order.get(k[1], 9))
        per = {}
        for k in rows:
            ir, ops = cg[k]
            per[k[1]] = ir / ops - (floor if b == "netpoll" else 0.0)
        # the reference of an op without one (prepare, wait, fire-token):
        # gort-c++ (C ABI over C++)
        r = ref if ref in per else "gort-c++"
        for k in rows:
            impl = k[1]
            t = times.get(k)
            tr = times.get((op, r))
            ratio = f"{per[impl] / per[r]:.2f}" if per.get(r) else "-"
            tratio = f"{t / tr:.2f}" if t and tr else "-"
            ts = f"{t:.1f}" if t is not None else "-"
            print(f"{op:<24} {impl:<14} {per[impl]:>10.1f} {ratio:>6} {ts:>9} {tratio:>6}")
    for e in extra: print(e)
PY
if [ -n "$go_line" ]; then
  echo
  echo "Go's runtime timers, same run (ns per op; fire in CPU ns):"
  echo "$go_line"
fi
[ "$go_failed" = no ] || { echo "bench/go_timers failed"; exit 1; }
