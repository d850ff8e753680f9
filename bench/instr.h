// SPDX-License-Identifier: BSD-3-Clause
// Instruction-count mode shared by bench_timer and bench_netpoll (issue #15:
// claims that hold on a noisy machine). The Instr* benchmarks run a fixed
// number of operations per iteration; under callgrind (bench/
// instr_callgrind.sh: --instr-atstart=no --collect-atstart=no) each one
// turns instrumentation on for its loop, collects only around the measured
// calls, and dumps the counts as "instr|<op>|<impl>|<ops>", so a dump's
// total Ir / ops is the instructions per operation. Outside valgrind the
// client requests are a few no-op instructions and the benchmarks report
// time per operation (ns_per_op) instead.
//   GORT_BENCH_INSTR=1  one iteration per benchmark (what the script sets)
#ifndef GORT_BENCH_INSTR_H_
#define GORT_BENCH_INSTR_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "benchmark/benchmark.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define GORT_HAVE_CALLGRIND 1
#endif
#endif
#ifndef GORT_HAVE_CALLGRIND
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(name) (void)(name)
#endif

namespace gort_bench {

inline bool InstrMode() {
  static const bool on = [] {
    const char* v = std::getenv("GORT_BENCH_INSTR");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}

// For ->Apply(): one iteration per benchmark in instruction mode, so each
// benchmark leaves exactly one dump.
inline void InstrIterations(benchmark::internal::Benchmark* b) {
  if (InstrMode()) b->Iterations(1);
}

// One instrumented region: Begin() before the loop (instrumentation on,
// counts zeroed, collection still off), On()/Off() around each measured
// span, End() dumps the counts under the region's name.
class Region {
 public:
  Region(std::string op, std::string impl, uint64_t ops)
      : name_("instr|" + op + "|" + impl + "|" + std::to_string(ops)) {
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
  }
  ~Region() {
    CALLGRIND_DUMP_STATS_AT(name_.c_str());
    CALLGRIND_STOP_INSTRUMENTATION;
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

 private:
  std::string name_;
};

// Collection on and off (callgrind's toggle): the instructions between the
// two are counted, plus the few of the requests themselves (the *empty*
// rows measure that floor).
inline void On() { CALLGRIND_TOGGLE_COLLECT; }
inline void Off() { CALLGRIND_TOGGLE_COLLECT; }

using Clock = std::chrono::steady_clock;
inline int64_t NsSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0)
      .count();
}

}  // namespace gort_bench

#endif  // GORT_BENCH_INSTR_H_
