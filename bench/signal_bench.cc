// SPDX-License-Identifier: BSD-3-Clause
// Signal delivery: raise -> token out of Poll() -> signals read, through
// gort (SignalSource on a Poller) beside a plain self-pipe handler (the
// classic: the handler writes a byte, epoll wakes, the loop reads it), in
// the same run. One thread: raise() runs the handler before it returns, so
// an iteration is the whole path's cost, kernel included.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>

#include "gort/netpoll.h"
#include "gort/signal.h"

namespace {

constexpr uintptr_t kToken = 0x51;

void BM_SelfPipe(benchmark::State& state) {
  static int wfd = -1;
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    state.SkipWithError("pipe2");
    return;
  }
  wfd = p[1];
  struct sigaction sa = {}, old;
  sa.sa_handler = [](int) {
    int e = errno;
    char c = 1;
    ssize_t n = write(wfd, &c, 1);
    (void)n;
    errno = e;
  };
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, &old);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = kToken;
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  for (auto _ : state) {
    raise(SIGUSR2);
    epoll_event out[4];
    int n = epoll_wait(ep, out, 4, -1);
    char buf[16];
    ssize_t r = read(p[0], buf, sizeof(buf));
    benchmark::DoNotOptimize(n + r);
  }
  sigaction(SIGUSR2, &old, nullptr);
  close(ep);
  close(p[0]);
  close(p[1]);
}
BENCHMARK(BM_SelfPipe);

void BM_GortSignalSource(benchmark::State& state) {
  auto poller = gort::Poller::Open();
  if (!poller.ok()) {
    state.SkipWithError("poller");
    return;
  }
  auto src = gort::SignalSource::Open(**poller);
  if (!src.ok() || !(*src)->Notify({SIGUSR1}).ok()) {
    state.SkipWithError("source");
    return;
  }
  gort::SignalResult r;
  (void)(*src)->Receive(kToken, &r);  // parks
  for (auto _ : state) {
    raise(SIGUSR1);
    gort::PollEvent evs[4];
    size_t got = 0;
    while (got == 0) got = (*(*poller)->Poll(-1, evs, 4));
    // The token is out: take the signal, then park again for the next.
    (void)(*src)->Receive(kToken, &r);
    if (r.state != gort::IoState::kDone) state.SkipWithError("not done");
    (void)(*src)->Receive(kToken, &r);
    benchmark::DoNotOptimize(r.set);
  }
  (void)(*src)->Close();
  gort::PollEvent evs[4];
  (void)(*poller)->Poll(0, evs, 4);
  (void)(*src)->Receive(kToken, &r);  // ECANCELED: nothing parked now
  (void)gort::ResetSignals({SIGUSR1});
}
BENCHMARK(BM_GortSignalSource);

}  // namespace
