// SPDX-License-Identifier: BSD-3-Clause
// bench_echo's load generator: `conns` loopback connections, each with one
// message of `size` bytes in flight (send it, wait for all of it to come
// back, send again), on one thread with raw epoll. It measures round trips,
// their latency, and the server process's CPU time over the same window.
#ifndef GORT_BENCH_ECHO_LOADGEN_H_
#define GORT_BENCH_ECHO_LOADGEN_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace echobench {

struct LoadSpec {
  uint16_t port = 0;
  int conns = 1;
  size_t size = 64;
  // Stop after this long (measured after a warm-up of a tenth of it)...
  double seconds = 1.0;
  // ...or, if > 0, after exactly this many round trips in all (no warm-up).
  int64_t round_trips = -1;
  pid_t server = 0;  // whose CPU time to measure (0: none)
  // Pause between a reply and the next message of a connection. Under
  // callgrind or strace the server runs 20-50x slower, so without a pause
  // the next message is always there already and the server never waits in
  // its poller: a path it does not take at full speed.
  int64_t think_ns = 0;
};

struct LoadResult {
  bool ok = false;
  int64_t round_trips = 0;  // in the measured window
  double seconds = 0;       // the window
  double p50_us = 0, p99_us = 0;
  double server_cpu_ns = 0;  // the server's CPU time in the window
};

// Connects, runs, closes every connection (the server sees them end).
LoadResult RunLoad(const LoadSpec& spec);

}  // namespace echobench

#endif  // GORT_BENCH_ECHO_LOADGEN_H_
