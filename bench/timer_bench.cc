// SPDX-License-Identifier: BSD-3-Clause
// Timer heap costs at 1e4 and 1e6 live timers: start (arm), stop, reset and
// fire, beside a std::priority_queue baseline with lazy deletion (the usual
// hand-rolled timer queue) in the same binary. Reports bytes per timer.
#include <algorithm>
#include <cstdint>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "gort/time.h"
#include "gort/timer.h"

namespace {

using gort::TimerHeap;
using gort::TimerId;

constexpr int64_t kSpan = 1000000000;  // deadlines spread over 1 s

gort::TimerTarget Token(uintptr_t t) {
  gort::TimerTarget target;
  target.token = t;
  return target;
}

// A heap with `n` armed timers at random deadlines; their ids in *ids.
void Fill(TimerHeap& h, size_t n, std::mt19937_64& rng,
          std::vector<TimerId>* ids) {
  (void)h.Reserve(n);
  for (size_t i = 0; i < n; ++i) {
    TimerId id = *h.Start(static_cast<int64_t>(rng() % kSpan), 0, Token(i));
    if (ids != nullptr) ids->push_back(id);
  }
}

void BM_GortStart(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TimerHeap h;
  std::mt19937_64 rng(1);
  Fill(h, n, rng, nullptr);
  // A pool of unarmed timers to arm; disarmed again (untimed) when used up.
  std::vector<TimerId> pool;
  for (size_t i = 0; i < n / 8 + 1; ++i) pool.push_back(*h.Add(Token(i)));
  std::vector<int64_t> whens(pool.size());
  for (auto& w : whens) w = static_cast<int64_t>(rng() % kSpan);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(h.Reset(pool[i], whens[i], 0));
    if (++i == pool.size()) {
      state.PauseTiming();
      for (TimerId id : pool) (void)h.Stop(id);
      i = 0;
      state.ResumeTiming();
    }
  }
}

void BM_GortStop(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TimerHeap h;
  std::mt19937_64 rng(2);
  std::vector<TimerId> ids;
  Fill(h, n, rng, &ids);
  std::shuffle(ids.begin(), ids.end(), rng);
  const size_t batch = n / 8 + 1;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(h.Stop(ids[i]));
    if (++i == batch) {
      state.PauseTiming();
      for (size_t j = 0; j < batch; ++j) {
        (void)h.Reset(ids[j], static_cast<int64_t>(rng() % kSpan), 0);
      }
      std::shuffle(ids.begin(), ids.end(), rng);
      i = 0;
      state.ResumeTiming();
    }
  }
}

// The netpoller's deadline pattern: arm a timer, then stop it soon after
// (the I/O finished first), with n other timers live. One start + one stop
// per iteration.
void BM_GortStartStop(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TimerHeap h;
  std::mt19937_64 rng(5);
  Fill(h, n, rng, nullptr);
  std::vector<TimerId> pool;
  for (size_t i = 0; i < 64; ++i) pool.push_back(*h.Add(Token(i)));
  std::vector<int64_t> whens(1 << 16);
  for (auto& w : whens) w = static_cast<int64_t>(rng() % kSpan);
  size_t i = 0;
  for (auto _ : state) {
    TimerId id = pool[i & 63];
    benchmark::DoNotOptimize(h.Reset(id, whens[i & (whens.size() - 1)], 0));
    benchmark::DoNotOptimize(h.Stop(id));
    ++i;
  }
}

void BM_GortReset(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TimerHeap h;
  std::mt19937_64 rng(3);
  std::vector<TimerId> ids;
  Fill(h, n, rng, &ids);
  std::vector<std::pair<TimerId, int64_t>> ops(1 << 16);
  for (auto& op : ops) {
    op = {ids[rng() % n], static_cast<int64_t>(rng() % kSpan)};
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& op = ops[i++ & (ops.size() - 1)];
    benchmark::DoNotOptimize(h.Reset(op.first, op.second, 0));
  }
}

void BM_GortFire(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TimerHeap h;
  std::mt19937_64 rng(4);
  Fill(h, n, rng, nullptr);
  // Records, heap slots and tables of n live timers.
  state.counters["bytes_per_timer"] =
      static_cast<double>(h.MemoryUsage()) / static_cast<double>(n);
  uintptr_t token;
  size_t fired;
  size_t live = n;
  for (auto _ : state) {
    // One timer per iteration: the earliest, handed back as a token.
    h.Run(INT64_MAX, &token, 1, &fired);
    benchmark::DoNotOptimize(token);
    if (--live == n / 2) {
      state.PauseTiming();
      for (size_t j = 0; j < n / 2; ++j) {
        (void)h.Start(static_cast<int64_t>(rng() % kSpan), 0, Token(j));
      }
      live = n;
      state.ResumeTiming();
    }
  }
}

// --- Baseline: std::priority_queue of (when, id), lazy deletion ----------

struct Baseline {
  using Entry = std::pair<int64_t, uint64_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> q;
  std::vector<uint32_t> arming;  // current arming per timer; entry = id|arming
  void Start(uint64_t id, int64_t when) {
    q.push({when, (id << 32) | ++arming[id]});
  }
  void Stop(uint64_t id) { ++arming[id]; }
  // Drops stale entries, as any lazily-deleting queue must now and then.
  void Sweep() {
    std::vector<Entry> live;
    while (!q.empty()) {
      Entry e = q.top();
      q.pop();
      if ((e.second & 0xffffffffu) == arming[e.second >> 32]) live.push_back(e);
    }
    for (const auto& e : live) q.push(e);
  }
  bool PopLive() {
    while (!q.empty()) {
      Entry e = q.top();
      q.pop();
      if ((e.second & 0xffffffffu) == arming[e.second >> 32]) return true;
    }
    return false;
  }
};

void BM_BaselineStart(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Baseline b;
  b.arming.resize(n + n / 8 + 1);
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < n; ++i)
    b.Start(i, static_cast<int64_t>(rng() % kSpan));
  std::vector<int64_t> whens(n / 8 + 1);
  for (auto& w : whens) w = static_cast<int64_t>(rng() % kSpan);
  size_t i = 0;
  for (auto _ : state) {
    b.Start(n + i, whens[i]);
    if (++i == whens.size()) {
      state.PauseTiming();
      for (size_t j = 0; j < whens.size(); ++j) b.Stop(n + j);
      while (b.q.size() > n) b.q.pop();  // keep the size, roughly
      i = 0;
      state.ResumeTiming();
    }
  }
}

void BM_BaselineStop(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Baseline b;
  b.arming.resize(n);
  std::mt19937_64 rng(2);
  for (size_t i = 0; i < n; ++i)
    b.Start(i, static_cast<int64_t>(rng() % kSpan));
  std::vector<uint64_t> ids(1 << 16);
  for (auto& id : ids) id = rng() % n;
  size_t i = 0;
  for (auto _ : state) b.Stop(ids[i++ & (ids.size() - 1)]);
  benchmark::DoNotOptimize(b.arming.data());
}

void BM_BaselineStartStop(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Baseline b;
  b.arming.resize(n + 64);
  std::mt19937_64 rng(5);
  for (size_t i = 0; i < n; ++i)
    b.Start(i, static_cast<int64_t>(rng() % kSpan));
  std::vector<int64_t> whens(1 << 16);
  for (auto& w : whens) w = static_cast<int64_t>(rng() % kSpan);
  size_t i = 0;
  for (auto _ : state) {
    uint64_t id = n + (i & 63);
    b.Start(id, whens[i & (whens.size() - 1)]);
    b.Stop(id);
    if (b.q.size() > 2 * n) b.Sweep();  // timed, as gort's sweep is
    ++i;
  }
}

void BM_BaselineReset(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Baseline b;
  b.arming.resize(n);
  std::mt19937_64 rng(3);
  for (size_t i = 0; i < n; ++i)
    b.Start(i, static_cast<int64_t>(rng() % kSpan));
  std::vector<std::pair<uint64_t, int64_t>> ops(1 << 16);
  for (auto& op : ops) op = {rng() % n, static_cast<int64_t>(rng() % kSpan)};
  size_t i = 0;
  for (auto _ : state) {
    const auto& op = ops[i++ & (ops.size() - 1)];
    b.Stop(op.first);
    b.Start(op.first, op.second);
    if (b.q.size() > 2 * n) b.Sweep();  // timed, as gort's sweep is
  }
}

void BM_BaselineFire(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Baseline b;
  b.arming.resize(n);
  std::mt19937_64 rng(4);
  for (size_t i = 0; i < n; ++i)
    b.Start(i, static_cast<int64_t>(rng() % kSpan));
  state.counters["bytes_per_timer"] =
      static_cast<double>(b.q.size() * sizeof(Baseline::Entry) +
                          b.arming.size() * sizeof(uint32_t)) /
      static_cast<double>(n);
  size_t live = n;
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.PopLive());
    if (--live == n / 2) {
      state.PauseTiming();
      for (size_t j = 0; j < n / 2; ++j) {
        b.Start(rng() % n, static_cast<int64_t>(rng() % kSpan));
      }
      live = n;
      state.ResumeTiming();
    }
  }
}

// Tail latency of single calls at n live timers: every timer stopped in
// random order, then every one re-armed at a random deadline, each call
// timed on its own. Reports the mean, p99.9 and max per call (us) for
// Stop and for Reset: a sweep of stopped entries done inside one call
// shows as its max.
void BM_GortStopResetTail(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TimerHeap h;
  std::mt19937_64 rng(7);
  std::vector<TimerId> ids;
  Fill(h, n, rng, &ids);
  std::vector<int64_t> stop_ns, reset_ns;
  stop_ns.reserve(n);
  reset_ns.reserve(n);
  for (auto _ : state) {
    std::shuffle(ids.begin(), ids.end(), rng);
    for (TimerId id : ids) {
      int64_t t0 = gort::Nanotime();
      benchmark::DoNotOptimize(h.Stop(id));
      stop_ns.push_back(gort::Nanotime() - t0);
    }
    std::shuffle(ids.begin(), ids.end(), rng);
    for (TimerId id : ids) {
      int64_t when = static_cast<int64_t>(rng() % kSpan);
      int64_t t0 = gort::Nanotime();
      benchmark::DoNotOptimize(h.Reset(id, when, 0));
      reset_ns.push_back(gort::Nanotime() - t0);
    }
  }
  auto report = [&](std::vector<int64_t>& v, const char* name) {
    if (v.empty()) return;
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (int64_t x : v) sum += static_cast<double>(x);
    std::string k(name);
    state.counters[k + "_mean_us"] = sum / static_cast<double>(v.size()) / 1e3;
    state.counters[k + "_p999_us"] =
        static_cast<double>(v[v.size() * 999 / 1000]) / 1e3;
    state.counters[k + "_max_us"] = static_cast<double>(v.back()) / 1e3;
    // Calls over 10 us: one is a sweep done in a single call, or the
    // thread was preempted (compare runs on a quiet machine).
    state.counters[k + "_over10us"] = static_cast<double>(
        v.end() - std::upper_bound(v.begin(), v.end(), int64_t{10000}));
  };
  int64_t stop_total = 0;
  for (int64_t x : stop_ns) stop_total += x;
  report(stop_ns, "stop");
  report(reset_ns, "reset");
  // The machine's floor: timed empty calls for as long as the stops took,
  // beside them. Calls over 10 us here are interrupts, preemption or the
  // hypervisor, not the heap: compare the *_over10us counts.
  std::vector<int64_t> empty_ns;
  empty_ns.reserve(n);
  for (int64_t spent = 0; spent < stop_total;) {
    int64_t t0 = gort::Nanotime();
    benchmark::ClobberMemory();
    int64_t d = gort::Nanotime() - t0;
    empty_ns.push_back(d);
    spent += d + 30;  // and the loop's own time, about
  }
  report(empty_ns, "empty");
}
BENCHMARK(BM_GortStopResetTail)
    ->Arg(10000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

#define GORT_TIMER_BENCH(fn) BENCHMARK(fn)->Arg(10000)->Arg(1000000)
GORT_TIMER_BENCH(BM_GortStart);
GORT_TIMER_BENCH(BM_BaselineStart);
GORT_TIMER_BENCH(BM_GortStop);
GORT_TIMER_BENCH(BM_BaselineStop);
GORT_TIMER_BENCH(BM_GortStartStop);
GORT_TIMER_BENCH(BM_BaselineStartStop);
GORT_TIMER_BENCH(BM_GortReset);
GORT_TIMER_BENCH(BM_BaselineReset);
GORT_TIMER_BENCH(BM_GortFire);
GORT_TIMER_BENCH(BM_BaselineFire);

}  // namespace
