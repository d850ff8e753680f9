// SPDX-License-Identifier: BSD-3-Clause
// Error translation: gort's table lookup (raw -> portable code, and the
// message) beside the C library's strerror() as a baseline, in one run.
#include <cerrno>
#include <cstring>

#include "benchmark/benchmark.h"
#include "gort.h"

namespace {

constexpr int kErrnos[] = {ENOENT, EAGAIN, ECONNRESET, EADDRINUSE, EACCES,
                           EINVAL, EPIPE,  ETIMEDOUT,  EBADF,      EINTR};

void BM_GortErrFromSys(benchmark::State& state) {
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(gort_err_from_sys(kErrnos[i++ % 10]));
  }
}
BENCHMARK(BM_GortErrFromSys);

void BM_GortStrerror(benchmark::State& state) {
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        gort_strerror(gort_err_from_sys(kErrnos[i++ % 10])));
  }
}
BENCHMARK(BM_GortStrerror);

void BM_BaselineLibcStrerror(benchmark::State& state) {
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(std::strerror(kErrnos[i++ % 10]));
  }
}
BENCHMARK(BM_BaselineLibcStrerror);

}  // namespace
