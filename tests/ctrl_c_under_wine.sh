#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real console Ctrl-C reaching gort's console handler under Wine:
# SignalWindows.CtrlCFromTheConsole runs under a pty (Wine gives a process a
# console only when it has a terminal; with pipes GenerateConsoleCtrlEvent
# fails with error 12), and once it is parked on its signal source this
# sends the Wine process SIGINT, which Wine turns into CTRL_C_EVENT (what
# Ctrl-C in a console does on Windows).
#   ctrl_c_under_wine.sh <wine-run> <gort_tests.exe>
set -u
run=$1 exe=$2
filter=SignalWindows.CtrlCFromTheConsole
ready=$(mktemp -u "${TMPDIR:-/tmp}/gort-ctrl-c.XXXXXX")
out=$(mktemp)
trap 'rm -f "$ready" "$out"' EXIT
GORT_CTRL_C_READY="Z:${ready//\//\\}" \
  script -qec "$run $exe --gtest_filter=$filter" /dev/null >"$out" 2>&1 &
spid=$!
for _ in $(seq 1 600); do [ -f "$ready" ] && break; sleep 0.1; done
if [ ! -f "$ready" ]; then
  echo "the test never parked on its source"; cat "$out"; kill "$spid"; exit 1
fi
# The Wine process itself: its command line starts with the .exe.
pid=
for d in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
  case "$cmd" in
    *gort_tests.exe" --gtest_filter=$filter"*)
      first=${cmd%% *}
      case "$first" in *gort_tests.exe) pid=${d#/proc/} ;; esac ;;
  esac
done
if [ -z "$pid" ]; then
  echo "no Wine process for the test"; kill "$spid"; exit 1
fi
kill -INT "$pid"
wait "$spid"
rc=$?
cat "$out"
grep -q "Ctrl-C from the console arrived as SIGINT" "$out" || exit 1
exit $rc
