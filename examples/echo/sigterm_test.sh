#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `gort_echo serve` stops gracefully on SIGTERM, as a pod's process must:
# it says so and exits 0 (the signal arrives through a gort::SignalSource
# on the runtime's poller).
#   sigterm_test.sh <command that runs gort_echo...>
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" serve 0 >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q listening "$out" && break; sleep 0.1; done
if ! grep -q listening "$out"; then
  cat "$out"; kill -9 "$pid"; exit 1
fi
kill -TERM "$pid"
wait "$pid"
rc=$?
cat "$out"
[ "$rc" = 0 ] && grep -q "stopping on SIGTERM" "$out"
