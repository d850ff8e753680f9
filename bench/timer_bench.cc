// SPDX-License-Identifier: BSD-3-Clause
// Timer heap costs at 1e4 and 1e6 live timers: start (arm), stop, reset and
// fire, beside a std::priority_queue baseline with lazy deletion (the usual
// hand-rolled timer queue) in the same binary. Reports bytes per timer.
// The Instr* benchmarks (instr.h, bench/instr_callgrind.sh) count start,
// stop (random order) and fire per timer in instructions and time, for
// gort's C++ API, its C ABI and libuv (when found) side by side.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "gort.h"
#include "gort/time.h"
#include "gort/timer.h"
#include "instr.h"

#ifdef GORT_HAVE_LIBUV
#include <uv.h>
#endif

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
// `owner`: the benchmark's thread owns the heap (owner mode: no lock).
void StartStop(benchmark::State& state, bool owner) {
  const size_t n = static_cast<size_t>(state.range(0));
  TimerHeap h;
  if (!h.SetOwner(owner).ok()) std::abort();  // a fresh heap has no owner
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

void BM_GortStartStop(benchmark::State& state) { StartStop(state, false); }
// The same calls by the heap's owner, beside it in the same run.
void BM_GortStartStopOwner(benchmark::State& state) { StartStop(state, true); }

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

// --- Instruction mode: gort (C++ and C ABI) beside libuv -----------------
//
// n live timers at random deadlines; each benchmark times (and, under
// callgrind, counts) k = n/10 operations in one loop:
//   Start  arms k unarmed timers;
//   Stop   disarms k of the n, in random order;
//   Fire   fires the k earliest: k timers due, the n-k others far later
//          (token timers in batches of kFireBatch, or callbacks).
// Between iterations the operations are undone, untimed. libuv's deadlines
// are milliseconds of loop time: its timers get random timeouts in
// [0, kUvSpanMs); for Fire the loop's clock is set back by kUvDueMs while
// the k due timers are armed, so they are due when uv_run(UV_RUN_NOWAIT)
// reads the clock again.

using gort_bench::Clock;
using gort_bench::NsSince;
using gort_bench::Region;

constexpr size_t kFireBatch = 256;
constexpr int64_t kFar = int64_t{1} << 60;  // deadlines that never come

size_t InstrOps(size_t n) { return n / 10; }

void Report(benchmark::State& state, int64_t ns, size_t k) {
  state.counters["ns_per_op"] =
      static_cast<double>(ns) /
      static_cast<double>(static_cast<size_t>(state.iterations()) * k);
  state.counters["ops"] = static_cast<double>(k);
}

// The C ABI's heap, filled like Fill(); its handles in *ids.
struct CHeap {
  CHeap() {
    if (gort_timers_new(&h) != 0) std::abort();
  }
  ~CHeap() { gort_timers_free(h); }
  gort_timer_t Add(uintptr_t token) {
    gort_timer_t t;
    if (gort_timer_add_token(h, token, &t) != 0) std::abort();
    return t;
  }
  void Reset(gort_timer_t t, int64_t when) {
    if (gort_timer_reset(h, t, when, 0, nullptr) != 0) std::abort();
  }
  gort_timers_t h = 0;
};

std::vector<int64_t> Whens(size_t n, std::mt19937_64& rng, int64_t span) {
  std::vector<int64_t> w(n);
  for (auto& x : w)
    x = static_cast<int64_t>(rng() % static_cast<uint64_t>(span));
  return w;
}

// `owner`: the benchmark's thread owns the heap (TimerHeap::SetOwner).
void StartCxx(benchmark::State& state, bool owner, const char* impl) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  TimerHeap h;
  if (!h.SetOwner(owner).ok()) std::abort();  // a fresh heap has no owner
  std::mt19937_64 rng(11);
  Fill(h, n, rng, nullptr);
  std::vector<TimerId> pool;
  for (size_t i = 0; i < k; ++i) pool.push_back(*h.Add(Token(i)));
  std::vector<int64_t> whens = Whens(k, rng, kSpan);
  int64_t ns = 0;
  for (auto _ : state) {
    Region r("start n=" + std::to_string(n), impl, k);
    Clock::time_point t0 = Clock::now();
    gort_bench::On();
    for (size_t i = 0; i < k; ++i) {
      benchmark::DoNotOptimize(h.Reset(pool[i], whens[i], 0));
    }
    gort_bench::Off();
    ns += NsSince(t0);
    for (TimerId id : pool) (void)h.Stop(id);
  }
  Report(state, ns, k);
}

void BM_InstrStartCxx(benchmark::State& state) {
  StartCxx(state, false, "gort-c++");
}
void BM_InstrStartCxxOwner(benchmark::State& state) {
  StartCxx(state, true, "gort-c++-own");
}

void BM_InstrStartC(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  CHeap h;
  std::mt19937_64 rng(11);
  (void)gort_timers_reserve(h.h, n + k);
  std::vector<int64_t> fill = Whens(n, rng, kSpan);
  for (size_t i = 0; i < n; ++i) h.Reset(h.Add(i), fill[i]);
  std::vector<gort_timer_t> pool;
  for (size_t i = 0; i < k; ++i) pool.push_back(h.Add(i));
  std::vector<int64_t> whens = Whens(k, rng, kSpan);
  int64_t ns = 0;
  for (auto _ : state) {
    Region r("start n=" + std::to_string(n), "gort-c", k);
    Clock::time_point t0 = Clock::now();
    gort_bench::On();
    for (size_t i = 0; i < k; ++i) {
      benchmark::DoNotOptimize(
          gort_timer_reset(h.h, pool[i], whens[i], 0, nullptr));
    }
    gort_bench::Off();
    ns += NsSince(t0);
    for (gort_timer_t t : pool) (void)gort_timer_stop(h.h, t, nullptr);
  }
  Report(state, ns, k);
}

void StopCxx(benchmark::State& state, bool owner, const char* impl) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  TimerHeap h;
  if (!h.SetOwner(owner).ok()) std::abort();  // a fresh heap has no owner
  std::mt19937_64 rng(12);
  std::vector<TimerId> ids;
  Fill(h, n, rng, &ids);
  std::shuffle(ids.begin(), ids.end(), rng);
  int64_t ns = 0;
  for (auto _ : state) {
    Region r("stop n=" + std::to_string(n), impl, k);
    Clock::time_point t0 = Clock::now();
    gort_bench::On();
    for (size_t i = 0; i < k; ++i) benchmark::DoNotOptimize(h.Stop(ids[i]));
    gort_bench::Off();
    ns += NsSince(t0);
    for (size_t i = 0; i < k; ++i) {
      (void)h.Reset(ids[i], static_cast<int64_t>(rng() % kSpan), 0);
    }
    std::shuffle(ids.begin(), ids.end(), rng);
  }
  Report(state, ns, k);
}

void BM_InstrStopCxx(benchmark::State& state) {
  StopCxx(state, false, "gort-c++");
}
void BM_InstrStopCxxOwner(benchmark::State& state) {
  StopCxx(state, true, "gort-c++-own");
}

void BM_InstrStopC(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  CHeap h;
  std::mt19937_64 rng(12);
  (void)gort_timers_reserve(h.h, n);
  std::vector<gort_timer_t> ids;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back(h.Add(i));
    h.Reset(ids.back(), static_cast<int64_t>(rng() % kSpan));
  }
  std::shuffle(ids.begin(), ids.end(), rng);
  int64_t ns = 0;
  for (auto _ : state) {
    Region r("stop n=" + std::to_string(n), "gort-c", k);
    Clock::time_point t0 = Clock::now();
    gort_bench::On();
    for (size_t i = 0; i < k; ++i) {
      benchmark::DoNotOptimize(gort_timer_stop(h.h, ids[i], nullptr));
    }
    gort_bench::Off();
    ns += NsSince(t0);
    for (size_t i = 0; i < k; ++i) {
      h.Reset(ids[i], static_cast<int64_t>(rng() % kSpan));
    }
    std::shuffle(ids.begin(), ids.end(), rng);
  }
  Report(state, ns, k);
}

// Fire: ids[0..k) due at random deadlines in [0, kSpan), the rest at
// kFar + a random offset; Run(kSpan) fires exactly the k.
void FireCxx(benchmark::State& state, bool owner, const char* impl) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  TimerHeap h;
  if (!h.SetOwner(owner).ok()) std::abort();  // a fresh heap has no owner
  std::mt19937_64 rng(13);
  (void)h.Reserve(n);
  std::vector<TimerId> ids;
  for (size_t i = 0; i < n; ++i) {
    int64_t when = static_cast<int64_t>(rng() % kSpan) + (i < k ? 0 : kFar);
    ids.push_back(*h.Start(when, 0, Token(i)));
  }
  state.counters["bytes_per_timer"] =
      static_cast<double>(h.MemoryUsage()) / static_cast<double>(n);
  uintptr_t tokens[kFireBatch];
  int64_t ns = 0;
  size_t fired = 0;
  for (auto _ : state) {
    {
      Region r("fire-token n=" + std::to_string(n), impl, k);
      Clock::time_point t0 = Clock::now();
      gort_bench::On();
      for (size_t got = 0; got < k;) {
        size_t m = 0;
        h.Run(kSpan, tokens, kFireBatch, &m);
        benchmark::DoNotOptimize(tokens);
        if (m == 0) break;
        got += m;
        fired += m;
      }
      gort_bench::Off();
      ns += NsSince(t0);
    }
    for (size_t i = 0; i < k; ++i) {
      (void)h.Reset(ids[i], static_cast<int64_t>(rng() % kSpan), 0);
    }
  }
  if (fired != static_cast<size_t>(state.iterations()) * k) {
    state.SkipWithError("fired the wrong number of timers");
  }
  Report(state, ns, k);
}

void BM_InstrFireCxx(benchmark::State& state) {
  FireCxx(state, false, "gort-c++");
}
void BM_InstrFireCxxOwner(benchmark::State& state) {
  FireCxx(state, true, "gort-c++-own");
}

void BM_InstrFireC(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  CHeap h;
  std::mt19937_64 rng(13);
  (void)gort_timers_reserve(h.h, n);
  std::vector<gort_timer_t> ids;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back(h.Add(i));
    h.Reset(ids.back(),
            static_cast<int64_t>(rng() % kSpan) + (i < k ? 0 : kFar));
  }
  uintptr_t tokens[kFireBatch];
  int64_t ns = 0;
  size_t fired = 0;
  for (auto _ : state) {
    {
      Region r("fire-token n=" + std::to_string(n), "gort-c", k);
      Clock::time_point t0 = Clock::now();
      gort_bench::On();
      for (size_t got = 0; got < k;) {
        size_t m = 0;
        int64_t next = 0;
        gort_timers_run(h.h, kSpan, tokens, kFireBatch, &m, &next);
        benchmark::DoNotOptimize(tokens);
        if (m == 0) break;
        got += m;
        fired += m;
      }
      gort_bench::Off();
      ns += NsSince(t0);
    }
    for (size_t i = 0; i < k; ++i) {
      h.Reset(ids[i], static_cast<int64_t>(rng() % kSpan));
    }
  }
  if (fired != static_cast<size_t>(state.iterations()) * k) {
    state.SkipWithError("fired the wrong number of timers");
  }
  Report(state, ns, k);
}

void CountFire(void* arg, int64_t) { ++*static_cast<size_t*>(arg); }

// Callback timers fired by gort_timers_run, one per unlock (the default)
// or, with `batch` > 1, that many per unlock (gort_timers_set_batch).
void FireCallbackC(benchmark::State& state, size_t batch, const char* impl) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  CHeap h;
  if (gort_timers_set_batch(h.h, batch) != 0) std::abort();
  std::mt19937_64 rng(13);
  (void)gort_timers_reserve(h.h, n);
  size_t fired = 0;
  std::vector<gort_timer_t> ids;
  for (size_t i = 0; i < n; ++i) {
    gort_timer_t t;
    if (gort_timer_add(h.h, CountFire, &fired, &t) != 0) std::abort();
    ids.push_back(t);
    h.Reset(t, static_cast<int64_t>(rng() % kSpan) + (i < k ? 0 : kFar));
  }
  int64_t ns = 0;
  for (auto _ : state) {
    {
      Region r("fire-callback n=" + std::to_string(n), impl, k);
      Clock::time_point t0 = Clock::now();
      gort_bench::On();
      int64_t next = 0;
      do {
        size_t m = 0;
        gort_timers_run(h.h, kSpan, nullptr, 0, &m, &next);
      } while (next >= 0 && next <= kSpan);
      gort_bench::Off();
      ns += NsSince(t0);
    }
    for (size_t i = 0; i < k; ++i) {
      h.Reset(ids[i], static_cast<int64_t>(rng() % kSpan));
    }
  }
  if (fired != static_cast<size_t>(state.iterations()) * k) {
    state.SkipWithError("fired the wrong number of timers");
  }
  Report(state, ns, k);
}

void BM_InstrFireCallbackC(benchmark::State& state) {
  FireCallbackC(state, 1, "gort-c");
}
void BM_InstrFireCallbackCBatch64(benchmark::State& state) {
  FireCallbackC(state, 64, "gort-c-batch64");
}

#ifdef GORT_HAVE_LIBUV
constexpr uint64_t kUvSpanMs = uint64_t{1} << 30;  // start/stop timeouts
constexpr uint64_t kUvDueMs = 60000;               // fire: due timers' span

// A loop and its n timers (initialized, unarmed), closed together.
struct UvLoop {
  explicit UvLoop(size_t n) : ts(n) {
    if (uv_loop_init(&loop) != 0) std::abort();
    for (auto& t : ts) uv_timer_init(&loop, &t);
  }
  ~UvLoop() {
    uv_walk(
        &loop, [](uv_handle_t* hd, void*) { uv_close(hd, nullptr); }, nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  uv_loop_t loop;
  std::vector<uv_timer_t> ts;
};

void UvNop(uv_timer_t*) {}
void UvCount(uv_timer_t* t) { ++*static_cast<size_t*>(t->data); }

void BM_InstrStartUv(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  UvLoop l(n + k);
  std::mt19937_64 rng(11);
  std::vector<uv_timer_t>& ts = l.ts;
  for (size_t i = 0; i < n; ++i) {
    uv_timer_start(&ts[i], UvNop, rng() % kUvSpanMs, 0);
  }
  std::vector<uint64_t> whens(k);
  for (auto& w : whens) w = rng() % kUvSpanMs;
  int64_t ns = 0;
  for (auto _ : state) {
    Region r("start n=" + std::to_string(n), "libuv", k);
    Clock::time_point t0 = Clock::now();
    gort_bench::On();
    for (size_t i = 0; i < k; ++i) {
      benchmark::DoNotOptimize(uv_timer_start(&ts[n + i], UvNop, whens[i], 0));
    }
    gort_bench::Off();
    ns += NsSince(t0);
    for (size_t i = 0; i < k; ++i) uv_timer_stop(&ts[n + i]);
  }
  Report(state, ns, k);
}

void BM_InstrStopUv(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  UvLoop l(n);
  std::mt19937_64 rng(12);
  std::vector<uv_timer_t>& ts = l.ts;
  std::vector<uv_timer_t*> order;
  for (auto& t : ts) {
    uv_timer_start(&t, UvNop, rng() % kUvSpanMs, 0);
    order.push_back(&t);
  }
  std::shuffle(order.begin(), order.end(), rng);
  int64_t ns = 0;
  for (auto _ : state) {
    Region r("stop n=" + std::to_string(n), "libuv", k);
    Clock::time_point t0 = Clock::now();
    gort_bench::On();
    for (size_t i = 0; i < k; ++i) {
      benchmark::DoNotOptimize(uv_timer_stop(order[i]));
    }
    gort_bench::Off();
    ns += NsSince(t0);
    for (size_t i = 0; i < k; ++i) {
      uv_timer_start(order[i], UvNop, rng() % kUvSpanMs, 0);
    }
    std::shuffle(order.begin(), order.end(), rng);
  }
  Report(state, ns, k);
}

// Arms ts[0..k) due: the loop's clock (loop->time, which uv_timer_start
// adds the timeout to) is set back kUvDueMs, the timeouts drawn from
// [0, kUvDueMs); uv_run() reads the real clock again before its timers.
void UvArmDue(uv_loop_t* loop, std::vector<uv_timer_t>& ts, size_t k,
              std::mt19937_64& rng) {
  uv_update_time(loop);
  const uint64_t now = uv_now(loop);
  loop->time = now - kUvDueMs;
  for (size_t i = 0; i < k; ++i) {
    uv_timer_start(&ts[i], UvCount, rng() % kUvDueMs, 0);
  }
  uv_update_time(loop);
}

void BM_InstrFireUv(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0)), k = InstrOps(n);
  UvLoop l(n);
  uv_update_time(&l.loop);
  if (uv_now(&l.loop) <= kUvDueMs) {
    state.SkipWithError("monotonic clock under kUvDueMs: uptime too short");
    return;
  }
  std::mt19937_64 rng(13);
  std::vector<uv_timer_t>& ts = l.ts;
  size_t fired = 0;
  for (auto& t : ts) t.data = &fired;
  for (size_t i = k; i < n; ++i) {
    uv_timer_start(&ts[i], UvCount, kUvSpanMs + rng() % kUvSpanMs, 0);
  }
  UvArmDue(&l.loop, ts, k, rng);
  // The timer itself: libuv's heap node is inside it.
  state.counters["bytes_per_timer"] = static_cast<double>(sizeof(uv_timer_t));
  int64_t ns = 0;
  for (auto _ : state) {
    {
      Region r("fire-callback n=" + std::to_string(n), "libuv", k);
      Clock::time_point t0 = Clock::now();
      gort_bench::On();
      uv_run(&l.loop, UV_RUN_NOWAIT);
      gort_bench::Off();
      ns += NsSince(t0);
    }
    UvArmDue(&l.loop, ts, k, rng);
  }
  if (fired != static_cast<size_t>(state.iterations()) * k) {
    state.SkipWithError("fired the wrong number of timers");
  }
  Report(state, ns, k);
}
#endif  // GORT_HAVE_LIBUV

#define GORT_INSTR_BENCH(fn) \
  BENCHMARK(fn)->Arg(10000)->Arg(1000000)->Apply(gort_bench::InstrIterations)
GORT_INSTR_BENCH(BM_InstrStartCxx);
GORT_INSTR_BENCH(BM_InstrStartCxxOwner);
GORT_INSTR_BENCH(BM_InstrStartC);
GORT_INSTR_BENCH(BM_InstrStopCxx);
GORT_INSTR_BENCH(BM_InstrStopCxxOwner);
GORT_INSTR_BENCH(BM_InstrStopC);
GORT_INSTR_BENCH(BM_InstrFireCxx);
GORT_INSTR_BENCH(BM_InstrFireCxxOwner);
GORT_INSTR_BENCH(BM_InstrFireC);
GORT_INSTR_BENCH(BM_InstrFireCallbackC);
GORT_INSTR_BENCH(BM_InstrFireCallbackCBatch64);
#ifdef GORT_HAVE_LIBUV
GORT_INSTR_BENCH(BM_InstrStartUv);
GORT_INSTR_BENCH(BM_InstrStopUv);
GORT_INSTR_BENCH(BM_InstrFireUv);
#else
void BM_InstrUv(benchmark::State& state) {
  state.SkipWithError("libuv not found at build time (pkg-config libuv)");
}
BENCHMARK(BM_InstrUv);
#endif

#define GORT_TIMER_BENCH(fn) BENCHMARK(fn)->Arg(10000)->Arg(1000000)
GORT_TIMER_BENCH(BM_GortStart);
GORT_TIMER_BENCH(BM_BaselineStart);
GORT_TIMER_BENCH(BM_GortStop);
GORT_TIMER_BENCH(BM_BaselineStop);
GORT_TIMER_BENCH(BM_GortStartStop);
GORT_TIMER_BENCH(BM_GortStartStopOwner);
GORT_TIMER_BENCH(BM_BaselineStartStop);
GORT_TIMER_BENCH(BM_GortReset);
GORT_TIMER_BENCH(BM_BaselineReset);
GORT_TIMER_BENCH(BM_GortFire);
GORT_TIMER_BENCH(BM_BaselineFire);

}  // namespace
