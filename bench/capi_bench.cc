// SPDX-License-Identifier: BSD-3-Clause
// The C ABI's own cost on its hot paths: a timer reset+stop pair and a
// poller prepare, each through gort.h (handle lookup, argument checks,
// status mapping) beside the same call on the C++ object, so the difference
// is what the C layer adds.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include "benchmark/benchmark.h"
#include "gort.h"
#include "gort/netpoll.h"
#include "gort/timer.h"

namespace {

void BM_CapiTimerResetStop(benchmark::State& state) {
  gort_timers_t heap = 0;
  gort_timer_t t = 0;
  if (gort_timers_new(&heap) != 0 || gort_timer_add_token(heap, 7, &t) != 0) {
    state.SkipWithError("gort_timers_new");
    return;
  }
  int64_t when = 1000000000;
  for (auto _ : state) {
    int pending = 0;
    benchmark::DoNotOptimize(gort_timer_reset(heap, t, when, 0, &pending));
    benchmark::DoNotOptimize(gort_timer_stop(heap, t, &pending));
  }
  gort_timers_free(heap);
}
BENCHMARK(BM_CapiTimerResetStop);

void BM_CxxTimerResetStop(benchmark::State& state) {
  gort::TimerHeap heap;
  gort::TimerTarget target;
  target.token = 7;
  gort::TimerId t = *heap.Add(target);
  int64_t when = 1000000000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(heap.Reset(t, when, 0));
    benchmark::DoNotOptimize(heap.Stop(t));
  }
}
BENCHMARK(BM_CxxTimerResetStop);

// Both sides of a socket pair registered; prepare(read) on one.
void BM_CapiPollerPrepare(benchmark::State& state) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
    state.SkipWithError("socketpair");
    return;
  }
  gort_poller_t p = 0;
  gort_pd_t pd = 0;
  if (gort_poller_open(&p) != 0 || gort_poller_register(p, sv[0], &pd) != 0) {
    state.SkipWithError("gort_poller_open");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(gort_poller_prepare(p, pd, GORT_POLL_READ));
  }
  gort_poller_unregister(p, pd);
  gort_poller_close(p);
  close(sv[0]);
  close(sv[1]);
}
BENCHMARK(BM_CapiPollerPrepare);

void BM_CxxPollerPrepare(benchmark::State& state) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
    state.SkipWithError("socketpair");
    return;
  }
  auto p = gort::Poller::Open();
  if (!p.ok()) {
    state.SkipWithError("Poller::Open");
    return;
  }
  gort::PollDescId pd = *(*p)->Register(sv[0]);
  for (auto _ : state) {
    benchmark::DoNotOptimize((*p)->Prepare(pd, gort::PollMode::kRead));
  }
  (void)(*p)->Unregister(pd);
  close(sv[0]);
  close(sv[1]);
}
BENCHMARK(BM_CxxPollerPrepare);

}  // namespace
