// SPDX-License-Identifier: BSD-3-Clause
// Netpoller costs on Linux, each beside raw epoll doing the same work in the
// same binary (Go: runtime/netpoll.go over netpoll_epoll.go):
//   RegisterClose  Poller::Register + Close vs epoll_ctl ADD + DEL;
//   PollReady/N    harvesting N ready descriptors, each with a parked waiter,
//                  vs epoll_wait on N ready descriptors;
//   WakeRoundTrip  thread ping-pong through Wake() + a blocking Poll() on two
//                  pollers vs eventfd write + epoll_wait;
//   Memory         bytes per pollDesc: its size and the heap and RSS growth
//                  for up to 100k registered descriptors, vs raw epoll;
//   Instr*         per call with one ready descriptor, in instructions
//                  (instr.h, bench/instr_callgrind.sh) and time: gort's
//                  Prepare, Wait and Poll (C++ and C ABI) beside epoll_wait
//                  and libuv's uv_run(UV_RUN_NOWAIT) (when found).
// The descriptors are AF_UNIX socketpairs (and dups of one end). Setup
// system calls that both sides share (write a byte, read it back) are
// timed but excluded from the *_ns counters, which time only the measured
// step with steady_clock; PauseTiming() would cost more than a small N.
#include <fcntl.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "gort.h"
#include "gort/netpoll.h"
#include "instr.h"

#ifdef GORT_HAVE_LIBUV
#include <uv.h>
#endif

namespace {

using gort::PollDescId;
using gort::Poller;
using gort::PollEvent;
using gort::PollMode;
using Clock = std::chrono::steady_clock;

// Events per epoll_wait in the baselines: the epoll backend's batch.
constexpr int kBatch = 128;
// Registration mask of the baselines: the epoll backend's (Go's).
constexpr uint32_t kEpollMask = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::abort();
}

int64_t Since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0)
      .count();
}

// Go (since 1.19) raises the soft descriptor limit to the hard one at
// start-up; so does this binary, once. Returns the soft limit.
rlim_t RaiseNoFile() {
  static const rlim_t limit = [] {
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) Die("getrlimit");
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) Die("setrlimit");
    }
    return rl.rlim_cur;
  }();
  return limit;
}

std::unique_ptr<Poller> OpenPoller() {
  absl::StatusOr<std::unique_ptr<Poller>> p = Poller::Open();
  if (!p.ok()) Die("Poller::Open");
  return std::move(*p);
}

int EpollCreate() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) Die("epoll_create1");
  return ep;
}

// N non-blocking socketpairs: a[i] is watched, b[i] makes it readable.
struct Pairs {
  explicit Pairs(size_t n) : a(n), b(n) {
    RaiseNoFile();
    for (size_t i = 0; i < n; ++i) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                     sv) != 0) {
        Die("socketpair");
      }
      a[i] = sv[0];
      b[i] = sv[1];
    }
  }
  ~Pairs() {
    for (int fd : a) close(fd);
    for (int fd : b) close(fd);
  }
  // One byte to each b[i]: a fresh read edge on each a[i].
  void Arm() {
    for (int fd : b) {
      if (write(fd, "x", 1) != 1) Die("write");
    }
  }
  // Reads the byte back, so the next Arm() is an edge again.
  void Disarm() {
    char c;
    for (int fd : a) {
      if (read(fd, &c, 1) != 1) Die("read");
    }
  }
  std::vector<int> a, b;
};

// --- (a) register + close -------------------------------------------------

void BM_GortRegisterClose(benchmark::State& state) {
  std::unique_ptr<Poller> p = OpenPoller();
  Pairs pair(1);
  for (auto _ : state) {
    absl::StatusOr<PollDescId> id = p->Register(pair.a[0]);
    if (!id.ok()) Die("Register");
    if (!p->Unregister(*id).ok()) Die("Close");
  }
}
BENCHMARK(BM_GortRegisterClose);

void BM_EpollRegisterClose(benchmark::State& state) {
  int ep = EpollCreate();
  Pairs pair(1);
  uint64_t key = 1;
  for (auto _ : state) {
    epoll_event ev{};
    ev.events = kEpollMask;
    ev.data.u64 = key++;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pair.a[0], &ev) != 0) Die("epoll add");
    if (epoll_ctl(ep, EPOLL_CTL_DEL, pair.a[0], &ev) != 0) Die("epoll del");
  }
  close(ep);
}
BENCHMARK(BM_EpollRegisterClose);

// --- (b) poll with N ready descriptors ------------------------------------

// Per iteration: park a waiter on each of the N descriptors (Prepare + Wait
// -> kParked), make them all readable (untimed), Poll() until all N tokens
// are back (timed: poll_ns_per_ready), read the bytes back (untimed).
void BM_GortPollReady(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Pairs pairs(n);
  std::unique_ptr<Poller> p = OpenPoller();
  std::vector<PollDescId> ids(n);
  for (size_t i = 0; i < n; ++i) {
    absl::StatusOr<PollDescId> id = p->Register(pairs.a[i]);
    if (!id.ok()) Die("Register");
    ids[i] = *id;
  }
  std::vector<PollEvent> out(n);
  // Harvest the registration's initial write-ready edges (they hand out no
  // token, so count the backend's events until none come).
  for (uint64_t seen = ~uint64_t{0}; seen != p->stats().events;) {
    seen = p->stats().events;
    if (!p->Poll(0, out.data(), n).ok()) Die("Poll");
  }
  int64_t park_ns = 0, poll_ns = 0;
  for (auto _ : state) {
    Clock::time_point t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      if (!p->Prepare(ids[i], PollMode::kRead).ok()) Die("Prepare");
      absl::StatusOr<gort::WaitResult> w =
          p->Wait(ids[i], PollMode::kRead, (i + 1) * 8);
      if (!w.ok() || *w != gort::WaitResult::kParked) Die("Wait");
    }
    park_ns += Since(t0);
    pairs.Arm();
    t0 = Clock::now();
    size_t got = 0;
    for (int tries = 0; got < n; ++tries) {
      absl::StatusOr<size_t> k = p->Poll(0, out.data() + got, n - got);
      if (!k.ok() || tries > 1000) Die("Poll");
      got += *k;
    }
    poll_ns += Since(t0);
    benchmark::DoNotOptimize(out.data());
    pairs.Disarm();
  }
  const double ready = static_cast<double>(state.iterations() * n);
  state.counters["poll_ns_per_ready"] = static_cast<double>(poll_ns) / ready;
  state.counters["park_ns_per_fd"] = static_cast<double>(park_ns) / ready;
  state.SetItemsProcessed(static_cast<int64_t>(ready));
}
BENCHMARK(BM_GortPollReady)->Arg(1)->Arg(16)->Arg(128)->Arg(1024);

// The same set on raw epoll: epoll_wait until N read events (timed:
// poll_ns_per_ready); no waiter to park or hand out.
void BM_EpollPollReady(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Pairs pairs(n);
  int ep = EpollCreate();
  for (size_t i = 0; i < n; ++i) {
    epoll_event ev{};
    ev.events = kEpollMask;
    ev.data.u64 = i + 1;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pairs.a[i], &ev) != 0) Die("epoll add");
  }
  epoll_event evs[kBatch];
  while (epoll_wait(ep, evs, kBatch, 0) > 0) {
  }
  uint64_t sum = 0;
  int64_t poll_ns = 0;
  for (auto _ : state) {
    pairs.Arm();
    Clock::time_point t0 = Clock::now();
    size_t got = 0;
    for (int tries = 0; got < n; ++tries) {
      int max = static_cast<int>(std::min<size_t>(kBatch, n - got));
      int k = epoll_wait(ep, evs, max, 0);
      if (k < 0 || tries > 1000) Die("epoll_wait");
      for (int i = 0; i < k; ++i) {
        if (evs[i].events & EPOLLIN) {
          sum += evs[i].data.u64;
          ++got;
        }
      }
    }
    poll_ns += Since(t0);
    benchmark::DoNotOptimize(sum);
    pairs.Disarm();
  }
  close(ep);
  const double ready = static_cast<double>(state.iterations() * n);
  state.counters["poll_ns_per_ready"] = static_cast<double>(poll_ns) / ready;
  state.SetItemsProcessed(static_cast<int64_t>(ready));
}
BENCHMARK(BM_EpollPollReady)->Arg(1)->Arg(16)->Arg(128)->Arg(1024);

// --- (c) cross-thread wake-up round trips ---------------------------------

// The main thread bumps `ping` and wakes poller 1; the helper, blocked in
// poller 1's Poll(-1), publishes `pong` and wakes poller 2, where the main
// thread blocks. One iteration is one round trip: two wake-ups, two
// blocking polls. The counters make the loops robust to early returns.
void BM_GortWakeRoundTrip(benchmark::State& state) {
  std::unique_ptr<Poller> p1 = OpenPoller(), p2 = OpenPoller();
  std::atomic<uint64_t> ping{0}, pong{0};
  std::atomic<bool> stop{false};
  std::thread helper([&] {
    PollEvent out[4];
    uint64_t seen = 0;
    for (;;) {
      if (!p1->Poll(-1, out, 4).ok()) Die("Poll");
      if (stop.load(std::memory_order_acquire)) return;
      uint64_t v = ping.load(std::memory_order_acquire);
      if (v != seen) {
        seen = v;
        pong.store(v, std::memory_order_release);
        (void)p2->Wake();
      }
    }
  });
  PollEvent out[4];
  uint64_t i = 0;
  for (auto _ : state) {
    ping.store(++i, std::memory_order_release);
    (void)p1->Wake();
    do {
      if (!p2->Poll(-1, out, 4).ok()) Die("Poll");
    } while (pong.load(std::memory_order_acquire) != i);
  }
  stop.store(true, std::memory_order_release);
  (void)p1->Wake();
  helper.join();
  gort::PollerStats s = p1->stats();
  state.counters["wakes_sent_ratio"] =
      s.wakes == 0
          ? 0.0
          : static_cast<double>(s.wakes_sent) / static_cast<double>(s.wakes);
}
BENCHMARK(BM_GortWakeRoundTrip)->UseRealTime();

// One epoll instance with a level-triggered eventfd, as the epoll backend
// has: Wake() is a write, a blocking poll epoll_wait plus a read.
struct RawWaker {
  RawWaker() : ep(EpollCreate()), efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (efd < 0) Die("eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0) Die("epoll add");
  }
  ~RawWaker() {
    close(efd);
    close(ep);
  }
  void Wake() {
    uint64_t one = 1;
    if (write(efd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN) {
      Die("eventfd write");
    }
  }
  void Block() {
    epoll_event evs[4];
    int k = epoll_wait(ep, evs, 4, -1);
    if (k < 0 && errno != EINTR) Die("epoll_wait");
    uint64_t v;
    if (k > 0 && read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
      Die("eventfd read");
    }
  }
  int ep, efd;
};

void BM_EpollWakeRoundTrip(benchmark::State& state) {
  RawWaker w1, w2;
  std::atomic<uint64_t> ping{0}, pong{0};
  std::atomic<bool> stop{false};
  std::thread helper([&] {
    uint64_t seen = 0;
    for (;;) {
      w1.Block();
      if (stop.load(std::memory_order_acquire)) return;
      uint64_t v = ping.load(std::memory_order_acquire);
      if (v != seen) {
        seen = v;
        pong.store(v, std::memory_order_release);
        w2.Wake();
      }
    }
  });
  uint64_t i = 0;
  for (auto _ : state) {
    ping.store(++i, std::memory_order_release);
    w1.Wake();
    do {
      w2.Block();
    } while (pong.load(std::memory_order_acquire) != i);
  }
  stop.store(true, std::memory_order_release);
  w1.Wake();
  helper.join();
}
BENCHMARK(BM_EpollWakeRoundTrip)->UseRealTime();

// --- (d) bytes per pollDesc -----------------------------------------------

constexpr size_t kMemoryTarget = 100000;

// Heap bytes in use (small blocks and mmap'd ones).
double HeapBytes() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd);
}

double RssBytes() {
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

size_t OpenFds() {
  size_t n = 0;
  for (int fd = 0; fd < 65536; ++fd) {
    if (fcntl(fd, F_GETFD) != -1) ++n;
  }
  return n;
}

// The kernel's object per epoll registration (/proc/slabinfo's
// eventpoll_epi, readable as root), or 0. Paid by gort and raw epoll alike.
double KernelEpitemBytes() {
  std::ifstream slab("/proc/slabinfo");
  std::string line;
  while (std::getline(slab, line)) {
    std::istringstream in(line);
    std::string name;
    double active = 0, total = 0, objsize = 0;
    if (in >> name >> active >> total >> objsize && name == "eventpoll_epi") {
      return objsize;
    }
  }
  return 0;
}

// Up to kMemoryTarget dups of one socket (each a descriptor epoll watches
// apart), as many as RLIMIT_NOFILE allows after raising it; the count is
// the `descriptors` counter.
std::vector<int> DupMany(int fd) {
  size_t limit = static_cast<size_t>(std::min<rlim_t>(RaiseNoFile(), 1 << 20));
  size_t budget = limit > OpenFds() + 256 ? limit - OpenFds() - 256 : 0;
  std::vector<int> fds(std::min(kMemoryTarget, budget));
  for (int& d : fds) {
    d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0) Die("dup");
  }
  return fds;
}

void BM_GortMemory(benchmark::State& state) {
  Pairs pair(1);
  std::vector<int> fds = DupMany(pair.a[0]);
  const double n = static_cast<double>(fds.size());
  std::vector<PollDescId> ids(fds.size());
  for (auto _ : state) {
    double heap0 = HeapBytes();
    std::unique_ptr<Poller> p = OpenPoller();
    double heap1 = HeapBytes(), rss1 = RssBytes();
    Clock::time_point t0 = Clock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      absl::StatusOr<PollDescId> id = p->Register(fds[i]);
      if (!id.ok()) Die("Register");
      ids[i] = *id;
    }
    double register_ns = static_cast<double>(Since(t0));
    state.counters["heap_B_per_pd"] = (HeapBytes() - heap1) / n;
    state.counters["rss_B_per_pd"] = (RssBytes() - rss1) / n;
    state.counters["register_ns"] = register_ns / n;
    state.counters["poller_fixed_B"] = heap1 - heap0;
    state.PauseTiming();
    for (PollDescId id : ids) (void)p->Unregister(id);
    p.reset();
    state.ResumeTiming();
  }
  state.counters["descriptors"] = n;
  state.counters["pollDesc_B"] = static_cast<double>(Poller::PollDescBytes());
  state.counters["kernel_epitem_B"] = KernelEpitemBytes();
  for (int d : fds) close(d);
}
BENCHMARK(BM_GortMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

// Raw epoll with the same descriptors: no user-space state at all, so the
// heap and RSS growth show what gort adds.
void BM_EpollMemory(benchmark::State& state) {
  Pairs pair(1);
  std::vector<int> fds = DupMany(pair.a[0]);
  const double n = static_cast<double>(fds.size());
  for (auto _ : state) {
    int ep = EpollCreate();
    double heap1 = HeapBytes(), rss1 = RssBytes();
    Clock::time_point t0 = Clock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      epoll_event ev{};
      ev.events = kEpollMask;
      ev.data.u64 = i + 1;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) Die("epoll add");
    }
    double register_ns = static_cast<double>(Since(t0));
    state.counters["heap_B_per_pd"] = (HeapBytes() - heap1) / n;
    state.counters["rss_B_per_pd"] = (RssBytes() - rss1) / n;
    state.counters["register_ns"] = register_ns / n;
    state.PauseTiming();
    close(ep);
    state.ResumeTiming();
  }
  state.counters["descriptors"] = n;
  state.counters["kernel_epitem_B"] = KernelEpitemBytes();
  for (int d : fds) close(d);
}
BENCHMARK(BM_EpollMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

// --- (e) per call with one ready descriptor: instructions and time --------
//
// kInstrRounds rounds on one socketpair. gort, per round: Prepare(read),
// Wait(read) parks the token, (a byte written to the peer), Poll(0) hands
// the one token out, (the byte read back). Raw epoll: (write) epoll_wait(0)
// returns the one event (read). libuv: (write) uv_run(UV_RUN_NOWAIT) calls
// the uv_poll_t's callback once (read). The argument picks the call that
// is counted under callgrind (0 Prepare, 1 Wait, 2 Poll); all are timed,
// steady_clock around each call less the cost of an empty pair measured in
// the same loop. Instructions are user space only: the kernel's epoll_wait
// is the same work for all and not in the counts; the *empty* row is the
// floor of the toggles around one call.

using gort_bench::Region;

constexpr size_t kInstrRounds = 10000;
const char* const kCallName[] = {"prepare", "wait (parks)", "poll (1 ready)"};

void Byte(int fd, bool write_it) {
  char c = 'x';
  ssize_t r = write_it ? write(fd, &c, 1) : read(fd, &c, 1);
  if (r != 1) Die(write_it ? "write" : "read");
}

// Per-call times of the three calls and of an empty timed pair.
struct CallTimes {
  int64_t ns[3] = {0, 0, 0};
  int64_t empty = 0;
  size_t calls = 0;
  void Report(benchmark::State& state, int ncalls) const {
    const double c = static_cast<double>(calls);
    const double e = static_cast<double>(empty) / c;
    static const char* const key[] = {"prepare_ns", "wait_ns", "poll_ns"};
    for (int i = 3 - ncalls; i < 3; ++i) {
      state.counters[key[i]] = static_cast<double>(ns[i]) / c - e;
    }
    state.counters["clock_pair_ns"] = e;
  }
};

// Calls f() timed into *ns, counted under callgrind when `counted`.
// The clock reads stay outside the counted span; the toggles (a few
// instructions natively) are inside the timed one.
template <typename F>
void Call(bool counted, int64_t* ns, F&& f) {
  Clock::time_point t0 = Clock::now();
  if (counted) gort_bench::On();
  f();
  if (counted) gort_bench::Off();
  *ns += Since(t0);
}

void EmptyPair(CallTimes* t) {
  Clock::time_point t0 = Clock::now();
  benchmark::ClobberMemory();
  t->empty += Since(t0);
}

void BM_InstrEmpty(benchmark::State& state) {
  for (auto _ : state) {
    Region r("empty (toggle floor)", "-", kInstrRounds);
    for (size_t i = 0; i < kInstrRounds; ++i) {
      gort_bench::On();
      gort_bench::Off();
    }
  }
}
BENCHMARK(BM_InstrEmpty)->Apply(gort_bench::InstrIterations);

// gort's three calls as `impl`: prep(), wait() -> parked, poll() -> 1.
template <typename Prep, typename Wait, typename PollFn>
void GortRounds(benchmark::State& state, const char* impl, const Pairs& pair,
                Prep&& prep, Wait&& wait, PollFn&& poll) {
  const int which = static_cast<int>(state.range(0));
  CallTimes t;
  for (auto _ : state) {
    Region r(kCallName[which], impl, kInstrRounds);
    for (size_t i = 0; i < kInstrRounds; ++i) {
      Call(which == 0, &t.ns[0], prep);
      Call(which == 1, &t.ns[1], wait);
      Byte(pair.b[0], true);
      Call(which == 2, &t.ns[2], poll);
      Byte(pair.a[0], false);
      EmptyPair(&t);
    }
    t.calls += kInstrRounds;
  }
  t.Report(state, 3);
}

void BM_InstrGortCxx(benchmark::State& state) {
  Pairs pair(1);
  std::unique_ptr<Poller> p = OpenPoller();
  absl::StatusOr<PollDescId> id = p->Register(pair.a[0]);
  if (!id.ok()) Die("Register");
  PollEvent out[4];
  // The registration's write-ready edge: no waiter, no token.
  if (!p->Poll(0, out, 4).ok()) Die("Poll");
  GortRounds(
      state, "gort-c++", pair,
      [&] {
        if (!p->Prepare(*id, PollMode::kRead).ok()) Die("Prepare");
      },
      [&] {
        absl::StatusOr<gort::WaitResult> w = p->Wait(*id, PollMode::kRead, 8);
        if (!w.ok() || *w != gort::WaitResult::kParked) Die("Wait");
      },
      [&] {
        absl::StatusOr<size_t> k = p->Poll(0, out, 4);
        if (!k.ok() || *k != 1 || out[0].token != 8) Die("Poll");
      });
}
BENCHMARK(BM_InstrGortCxx)
    ->DenseRange(0, 2)
    ->Apply(gort_bench::InstrIterations);

void BM_InstrGortC(benchmark::State& state) {
  Pairs pair(1);
  gort_poller_t p = 0;
  gort_pd_t pd = 0;
  if (gort_poller_open(&p) != 0) Die("gort_poller_open");
  if (gort_poller_register(p, pair.a[0], &pd) != 0) Die("gort_poller_register");
  gort_poll_event_t out[4];
  size_t got = 0;
  if (gort_poller_poll(p, 0, out, 4, &got) != 0) Die("gort_poller_poll");
  GortRounds(
      state, "gort-c", pair,
      [&] {
        if (gort_poller_prepare(p, pd, GORT_POLL_READ) != 0) Die("prepare");
      },
      [&] {
        if (gort_poller_wait(p, pd, GORT_POLL_READ, 8) != GORT_POLL_PARKED) {
          Die("wait");
        }
      },
      [&] {
        if (gort_poller_poll(p, 0, out, 4, &got) != 0 || got != 1 ||
            out[0].token != 8) {
          Die("poll");
        }
      });
  gort_poller_unregister(p, pd);
  gort_poller_close(p);
}
BENCHMARK(BM_InstrGortC)->DenseRange(0, 2)->Apply(gort_bench::InstrIterations);

// A baseline with only the poll call: poll() must take the one event.
template <typename PollFn>
void PollRounds(benchmark::State& state, const char* impl, const Pairs& pair,
                PollFn&& poll) {
  CallTimes t;
  for (auto _ : state) {
    Region r(kCallName[2], impl, kInstrRounds);
    for (size_t i = 0; i < kInstrRounds; ++i) {
      Byte(pair.b[0], true);
      Call(true, &t.ns[2], poll);
      Byte(pair.a[0], false);
      EmptyPair(&t);
    }
    t.calls += kInstrRounds;
  }
  t.Report(state, 1);
}

void BM_InstrEpoll(benchmark::State& state) {
  Pairs pair(1);
  int ep = EpollCreate();
  epoll_event ev{};
  ev.events = kEpollMask;
  ev.data.u64 = 8;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, pair.a[0], &ev) != 0) Die("epoll add");
  epoll_event evs[kBatch];
  while (epoll_wait(ep, evs, kBatch, 0) > 0) {
  }
  PollRounds(state, "epoll", pair, [&] {
    if (epoll_wait(ep, evs, kBatch, 0) != 1 || evs[0].data.u64 != 8) {
      Die("epoll_wait");
    }
  });
  close(ep);
}
BENCHMARK(BM_InstrEpoll)->Apply(gort_bench::InstrIterations);

#ifdef GORT_HAVE_LIBUV
void BM_InstrUv(benchmark::State& state) {
  Pairs pair(1);
  uv_loop_t loop;
  uv_poll_t h;
  size_t calls = 0;
  if (uv_loop_init(&loop) != 0) Die("uv_loop_init");
  if (uv_poll_init(&loop, &h, pair.a[0]) != 0) Die("uv_poll_init");
  h.data = &calls;
  uv_poll_start(&h, UV_READABLE, [](uv_poll_t* hd, int, int) {
    ++*static_cast<size_t*>(hd->data);
  });
  uv_run(&loop, UV_RUN_NOWAIT);
  size_t want = 0;
  PollRounds(state, "libuv", pair, [&] {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (calls != ++want) Die("uv_run");
  });
  uv_close(reinterpret_cast<uv_handle_t*>(&h), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}
BENCHMARK(BM_InstrUv)->Apply(gort_bench::InstrIterations);
#else
void BM_InstrUv(benchmark::State& state) {
  state.SkipWithError("libuv not found at build time (pkg-config libuv)");
}
BENCHMARK(BM_InstrUv);
#endif

}  // namespace
