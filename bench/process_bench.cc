// SPDX-License-Identifier: BSD-3-Clause
// Spawn + wait of a trivial child (/bin/true): gort (posix_spawn, a pidfd
// through the poller, waitid), gort with the SIGCHLD fallback, and plain
// posix_spawn + blocking waitpid, in the same run. Most of the cost is the
// kernel's (the exec and the child's start-up); the difference is gort's.
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "gort/netpoll.h"
#include "gort/process.h"

extern char** environ;

namespace {

constexpr uintptr_t kToken = 0x77;
constexpr const char* kTrue = "/bin/true";

void BM_PosixSpawnWaitpid(benchmark::State& state) {
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  for (auto _ : state) {
    pid_t pid;
    if (posix_spawn(&pid, kTrue, nullptr, nullptr, argv, environ) != 0) {
      state.SkipWithError("posix_spawn");
      return;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_PosixSpawnWaitpid)->UseRealTime();

void GortSpawnWait(benchmark::State& state, bool sigchld) {
  bool was = gort::internal::ForceSigchldFallbackForTest(sigchld);
  absl::StatusOr<std::unique_ptr<gort::Poller>> poller = gort::Poller::Open();
  if (!poller.ok()) {
    state.SkipWithError("poller");
    return;
  }
  gort::SpawnOptions o;
  o.path = kTrue;
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<gort::Process>> p =
        gort::Process::Spawn(**poller, o);
    if (!p.ok()) {
      state.SkipWithError("spawn");
      break;
    }
    gort::ProcessResult r;
    for (;;) {
      if (!(*p)->Wait(kToken, &r).ok()) {
        state.SkipWithError("wait");
        break;
      }
      if (r.state == gort::IoState::kDone) break;
      // Call again only once the token came out (a Poll() may return
      // none: a SIGCHLD for another child readies nobody).
      bool out = false;
      while (!out) {
        gort::PollEvent ev[4];
        absl::StatusOr<size_t> n = (*poller)->Poll(-1, ev, 4);
        for (size_t i = 0; n.ok() && i < *n; i++) out |= ev[i].token == kToken;
      }
    }
    benchmark::DoNotOptimize(r.status.code);
  }
  gort::internal::ForceSigchldFallbackForTest(was);
}

void BM_GortSpawnWaitPidfd(benchmark::State& state) {
  GortSpawnWait(state, false);
}
BENCHMARK(BM_GortSpawnWaitPidfd)->UseRealTime();

void BM_GortSpawnWaitSigchld(benchmark::State& state) {
  GortSpawnWait(state, true);
}
BENCHMARK(BM_GortSpawnWaitSigchld)->UseRealTime();

}  // namespace
