// SPDX-License-Identifier: BSD-3-Clause
// The netpoller's contract on every OS (Go: runtime/netpoll.go): readiness
// (completion on Windows), park and wake, deadlines, close, coalesced
// wake-ups, stale handles.
#include "gort/netpoll.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gort.h"
#include "gort/errno.h"
#include "gort/time.h"
#include "netpoll_internal.h"
#include "netpoll_test_util.h"

namespace gort {
namespace {

using testing::Pair;

constexpr int64_t kMs = 1000000;

int CodeOf(const absl::Status& s) {
  auto e = Error::FromStatus(s);
  return e.has_value() ? e->code() : (s.ok() ? 0 : GORT_EUNKNOWN);
}

class NetpollTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Poller::Open();
    ASSERT_TRUE(p.ok()) << p.status();
    poller_ = std::move(*p);
  }
  void TearDown() override {
    poller_.reset();
    for (Pair& p : pairs_) testing::ClosePair(&p);
  }

  // A new pair whose `a` end is registered.
  PollDescId NewPair(Pair** out) {
    pairs_.emplace_back();
    Pair* p = &pairs_.back();
    EXPECT_TRUE(testing::MakePair(p));
    auto pd = poller_->Register(p->a);
    EXPECT_TRUE(pd.ok()) << pd.status();
    *out = p;
    return pd.ok() ? *pd : 0;
  }

  // Polls until `want` events arrived or `timeout` ns passed.
  std::vector<PollEvent> PollFor(size_t want, int64_t timeout) {
    std::vector<PollEvent> got;
    int64_t end = Nanotime() + timeout;
    while (got.size() < want) {
      int64_t left = end - Nanotime();
      if (left <= 0) break;
      PollEvent ev[16];
      auto n = poller_->Poll(left, ev, 16);
      EXPECT_TRUE(n.ok()) << n.status();
      if (!n.ok()) break;
      got.insert(got.end(), ev, ev + *n);
    }
    return got;
  }

  // Parks `token` for reads on `pd` (starting a receive on Windows).
  void ParkRead(PollDescId pd, Pair* p, uintptr_t token) {
    ASSERT_TRUE(poller_->Prepare(pd, PollMode::kRead).ok());
    ASSERT_TRUE(testing::StartRead(*poller_, pd, p));
    auto r = poller_->Wait(pd, PollMode::kRead, token);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(*r, WaitResult::kParked);
  }

  // Bodies of tests run over both the direct and the virtual backend path.
  void CheckParkThenReadiness() {
    Pair* p;
    PollDescId pd = NewPair(&p);
    ParkRead(pd, p, 0x1000);
    EXPECT_TRUE(PollFor(1, 20 * kMs).empty());  // nothing yet
    ASSERT_TRUE(testing::Send(p->b, "x", 1));
    std::vector<PollEvent> ev = PollFor(1, 5000 * kMs);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].token, 0x1000u);
    EXPECT_EQ(ev[0].mode, PollMode::kRead);
    EXPECT_EQ(ev[0].reason, PollReason::kReady);
    EXPECT_EQ(testing::TakeRead(*poller_, pd, p), 1);
    EXPECT_TRUE(PollFor(1, 20 * kMs).empty());  // exactly once
  }
  void CheckWakeUpsCoalesce() {
    PollerStats s0 = poller_->stats();
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(poller_->Wake().ok());
    PollerStats s1 = poller_->stats();
    EXPECT_EQ(s1.wakes - s0.wakes, 1000u);
    EXPECT_EQ(s1.wakes_sent - s0.wakes_sent, 1u);
    // A non-blocking poll leaves the signal for a blocking one.
    PollEvent ev[4];
    ASSERT_TRUE(poller_->Poll(0, ev, 4).ok());
    ASSERT_TRUE(poller_->Wake().ok());
    EXPECT_EQ(poller_->stats().wakes_sent - s0.wakes_sent, 1u);
    // The blocking poll returns at once and consumes it...
    int64_t t0 = Nanotime();
    auto n = poller_->Poll(-1, ev, 4);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
    EXPECT_LT(Nanotime() - t0, 5000 * kMs);
    // ...so the next blocking poll waits its full delay, and a new Wake()
    // reaches the kernel again.
    t0 = Nanotime();
    n = poller_->Poll(30 * kMs, ev, 4);
    ASSERT_TRUE(n.ok());
    EXPECT_GE(Nanotime() - t0, 25 * kMs);
    ASSERT_TRUE(poller_->Wake().ok());
    EXPECT_EQ(poller_->stats().wakes_sent - s0.wakes_sent, 2u);
  }

  std::unique_ptr<Poller> poller_;
  std::deque<Pair> pairs_;
};

// The OS's own backend behind PollBackend's virtual calls, as a poller over
// any other backend (PollerAccess::Open) uses it. Poller::Open() calls it
// directly (its inline Harvest()), so these keep its virtual Wait()
// covered: readiness, and the wake-up signal a non-blocking wait leaves
// and a blocking one consumes.
class NetpollVirtualTest : public NetpollTest {
 protected:
  void SetUp() override {
    auto b = internal::NewPollBackend();
    ASSERT_TRUE(b.ok()) << b.status();
    auto p = internal::PollerAccess::Open(std::move(*b));
    ASSERT_TRUE(p.ok()) << p.status();
    poller_ = std::move(*p);
  }
};

TEST_F(NetpollVirtualTest, ParkThenReadinessHandsTokenOut) {
  CheckParkThenReadiness();
}

TEST_F(NetpollVirtualTest, WakeUpsCoalesce) { CheckWakeUpsCoalesce(); }

TEST_F(NetpollTest, BackendIsTheOsOne) {
#if defined(_WIN32)
  EXPECT_STREQ(Poller::BackendName(), "iocp");
#elif defined(__APPLE__)
  EXPECT_STREQ(Poller::BackendName(), "kqueue");
#else
  EXPECT_STREQ(Poller::BackendName(), "epoll");
#endif
  EXPECT_GT(Poller::PollDescBytes(), 0u);
}

// Park a reader, make the descriptor readable (complete its receive on
// Windows): Poll() hands the token out once, as ready.
TEST_F(NetpollTest, ParkThenReadinessHandsTokenOut) {
  CheckParkThenReadiness();
}

// Readiness that arrives before anyone waits is kept: Wait() returns
// kReady at once and consumes it.
TEST_F(NetpollTest, ReadinessBeforeWaitIsConsumedByWait) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ASSERT_TRUE(poller_->Prepare(pd, PollMode::kRead).ok());
  ASSERT_TRUE(testing::StartRead(*poller_, pd, p));
  ASSERT_TRUE(testing::Send(p->b, "xy", 2));
  // Harvest the event with nobody parked.
  int64_t end = Nanotime() + 5000 * kMs;
  for (;;) {
    PollEvent ev[4];
    auto n = poller_->Poll(10 * kMs, ev, 4);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);  // no token to hand out
    if (poller_->stats().events > 0 || Nanotime() > end) break;
  }
  auto r = poller_->Wait(pd, PollMode::kRead, 0x2000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, WaitResult::kReady);
  EXPECT_EQ(testing::TakeRead(*poller_, pd, p), 2);
}

#ifndef _WIN32
// A new socket is writable: edge-triggered registration reports it once.
TEST_F(NetpollTest, NewSocketIsWritable) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  EXPECT_TRUE(PollFor(1, 20 * kMs).empty());
  auto r = poller_->Wait(pd, PollMode::kWrite, 0x3000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, WaitResult::kReady);
  // Consumed: the next wait parks until another edge.
  r = poller_->Wait(pd, PollMode::kWrite, 0x3000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, WaitResult::kParked);
  ASSERT_TRUE(poller_->Unregister(pd).ok());
  std::vector<PollEvent> ev = PollFor(1, 1000 * kMs);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, PollReason::kClosing);
}

// A pipe's read end, and its write end once the buffer is full then drained.
TEST_F(NetpollTest, PipeReadinessBothEnds) {
  Pair pipe;
  ASSERT_TRUE(testing::MakePipe(&pipe));
  pairs_.push_back(pipe);
  auto rpd = poller_->Register(pipe.a);
  auto wpd = poller_->Register(pipe.b);
  ASSERT_TRUE(rpd.ok() && wpd.ok());
  ASSERT_TRUE(poller_->Prepare(*rpd, PollMode::kRead).ok());
  ASSERT_EQ(*poller_->Wait(*rpd, PollMode::kRead, 0x10), WaitResult::kParked);
  // Fill the pipe, then park a writer.
  char buf[4096] = {};
  while (write(static_cast<int>(pipe.b), buf, sizeof(buf)) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  ASSERT_TRUE(poller_->Prepare(*wpd, PollMode::kWrite).ok());
  auto w = poller_->Wait(*wpd, PollMode::kWrite, 0x20);
  ASSERT_TRUE(w.ok());
  if (*w == WaitResult::kReady) {  // the registration's first edge
    w = poller_->Wait(*wpd, PollMode::kWrite, 0x20);
  }
  ASSERT_EQ(*w, WaitResult::kParked);
  // The reader was readied by the writes.
  std::vector<PollEvent> ev = PollFor(1, 5000 * kMs);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].token, 0x10u);
  // Draining makes room: the writer's token comes out.
  while (read(static_cast<int>(pipe.a), buf, sizeof(buf)) > 0) {
  }
  ev = PollFor(1, 5000 * kMs);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].token, 0x20u);
  EXPECT_EQ(ev[0].mode, PollMode::kWrite);
  EXPECT_EQ(ev[0].reason, PollReason::kReady);
  EXPECT_TRUE(poller_->Unregister(*rpd).ok());
  EXPECT_TRUE(poller_->Unregister(*wpd).ok());
}

// One Poll() with room for 1024 hands out all 200 ready waiters: a single
// kernel wait harvests up to the caller's room (beyond the 128 events an
// array on the stack holds), where it used to take two Polls (and before
// that four epoll_waits of 64).
TEST_F(NetpollTest, OnePollHarvestsEveryReadyWaiterItHasRoomFor) {
  constexpr int kPipes = 200;
  std::vector<PollDescId> pds;
  for (int i = 0; i < kPipes; i++) {
    Pair pipe;
    ASSERT_TRUE(testing::MakePipe(&pipe));
    pairs_.push_back(pipe);
    absl::StatusOr<PollDescId> pd = poller_->Register(pipe.a);
    ASSERT_TRUE(pd.ok()) << pd.status();
    ASSERT_TRUE(poller_->Prepare(*pd, PollMode::kRead).ok());
    ASSERT_EQ(*poller_->Wait(*pd, PollMode::kRead, 0x1000 + i),
              WaitResult::kParked);
    pds.push_back(*pd);
  }
  for (Pair& p : pairs_) {
    ASSERT_EQ(write(static_cast<int>(p.b), "x", 1), 1);
  }
  std::vector<PollEvent> ev(1024);
  absl::StatusOr<size_t> n = poller_->Poll(5000 * kMs, ev.data(), ev.size());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, static_cast<size_t>(kPipes));
  std::set<uintptr_t> seen;
  for (size_t i = 0; i < *n; i++) seen.insert(ev[i].token);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kPipes));
  // Two Polls at once on one poller, both with room for more than the
  // stack holds: one uses the big buffer, the other the stack's 128.
  for (int i = 0; i < kPipes; i++) {
    char c;
    ASSERT_EQ(read(static_cast<int>(pairs_[i].a), &c, 1), 1);
    ASSERT_TRUE(poller_->Prepare(pds[i], PollMode::kRead).ok());
    ASSERT_EQ(*poller_->Wait(pds[i], PollMode::kRead, 0x1000 + i),
              WaitResult::kParked);
  }
  std::atomic<size_t> total{0};
  std::atomic<bool> failed{false};
  size_t got_by[2] = {0, 0}, polls_by[2] = {0, 0};
  const absl::Time until = absl::Now() + absl::Seconds(10);
  std::vector<std::thread> th;
  for (int t = 0; t < 2; t++) {
    th.emplace_back([&, t] {
      std::vector<PollEvent> e(1024);
      // Until every token is out (bounded in time, not in calls: a Poll
      // may return early with nothing, after a wake-up).
      while (total.load() < kPipes && absl::Now() < until) {
        absl::StatusOr<size_t> got =
            poller_->Poll(20 * kMs, e.data(), e.size());
        if (!got.ok()) {
          failed = true;
          return;
        }
        total += *got;
        got_by[t] += *got;
        polls_by[t]++;
      }
    });
  }
  for (Pair& p : pairs_) {
    ASSERT_EQ(write(static_cast<int>(p.b), "x", 1), 1);
  }
  for (std::thread& t : th) t.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(total.load(), static_cast<size_t>(kPipes))
      << "thread 0: " << got_by[0] << " in " << polls_by[0]
      << " polls, thread 1: " << got_by[1] << " in " << polls_by[1];
  for (PollDescId pd : pds) EXPECT_TRUE(poller_->Unregister(pd).ok());
}

// Close-on-exec: every descriptor a poller opens (epoll and its eventfd,
// or the kqueue).
TEST(NetpollFds, PollerDescriptorsAreCloseOnExec) {
  std::vector<bool> before(4096);
  for (int fd = 0; fd < 4096; ++fd) before[fd] = fcntl(fd, F_GETFD) >= 0;
  auto p = Poller::Open();
  ASSERT_TRUE(p.ok());
  int opened = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || before[fd]) continue;
    EXPECT_TRUE(flags & FD_CLOEXEC) << "fd " << fd;
    ++opened;
  }
#ifdef __linux__
  EXPECT_EQ(opened, 2);  // epoll + eventfd
#else
  EXPECT_EQ(opened, 1);  // kqueue
#endif
}

// Go's EINTR rule: a signal ends a timed wait early (with nothing), never
// an endless one.
TEST_F(NetpollTest, SignalsEndTimedWaitsOnly) {
  struct sigaction sa {
  }, old{};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  std::atomic<int> phase{0};
  std::atomic<int64_t> timed_took{0};
  std::thread t([&] {
    PollEvent ev[4];
    int64_t t0 = Nanotime();
    auto n = poller_->Poll(5000 * kMs, ev, 4);
    timed_took = Nanotime() - t0;
    EXPECT_TRUE(n.ok() && *n == 0);
    phase = 1;
    n = poller_->Poll(-1, ev, 4);
    EXPECT_TRUE(n.ok() && *n == 0);
    phase = 2;
  });
  pthread_t th = t.native_handle();
  for (int i = 0; i < 200 && phase.load() == 0; ++i) {
    pthread_kill(th, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(phase.load(), 1);
  EXPECT_LT(timed_took.load(), 4000 * kMs);
  for (int i = 0; i < 5; ++i) {
    pthread_kill(th, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(phase.load(), 1);  // still waiting
  ASSERT_TRUE(poller_->Wake().ok());
  t.join();
  EXPECT_EQ(phase.load(), 2);
  sigaction(SIGUSR1, &old, nullptr);
}

// Registering what epoll cannot watch gives the OS's error.
TEST_F(NetpollTest, RegisterBadDescriptors) {
  EXPECT_EQ(CodeOf(poller_->Register(-1).status()), GORT_EBADF);
  EXPECT_EQ(CodeOf(poller_->Register(1 << 30).status()), GORT_EBADF);
#ifdef __linux__
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(CodeOf(poller_->Register(fd).status()), GORT_EPERM);  // a file
  close(fd);
#endif
}
#endif  // !_WIN32

TEST_F(NetpollTest, DeadlineInThePastTimesOutAtOnce) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ASSERT_TRUE(poller_->SetDeadline(pd, -1, PollMode::kRead).ok());
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, PollMode::kRead)), GORT_ETIMEDOUT);
  EXPECT_EQ(CodeOf(poller_->Wait(pd, PollMode::kRead, 0x10).status()),
            GORT_ETIMEDOUT);
  // Writes have their own deadline.
  EXPECT_TRUE(poller_->Prepare(pd, PollMode::kWrite).ok());
  // Clearing it makes reads possible again.
  ASSERT_TRUE(poller_->SetDeadline(pd, 0, PollMode::kRead).ok());
  EXPECT_TRUE(poller_->Prepare(pd, PollMode::kRead).ok());
  EXPECT_EQ(poller_->stats().deadline_timers, 0u);
}

// A parked waiter whose deadline is moved into the past comes out at once.
TEST_F(NetpollTest, DeadlineMovedToThePastWakesParkedWaiter) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ParkRead(pd, p, 0x40);
  ASSERT_TRUE(poller_->SetDeadline(pd, -1, PollMode::kRead).ok());
  std::vector<PollEvent> ev = PollFor(1, 1000 * kMs);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].token, 0x40u);
  EXPECT_EQ(ev[0].reason, PollReason::kDeadline);
}

TEST_F(NetpollTest, DeadlineFiresWhileParked) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  int64_t t0 = Nanotime();
  ASSERT_TRUE(poller_->SetDeadline(pd, 30 * kMs, PollMode::kRead).ok());
  ParkRead(pd, p, 0x50);
  EXPECT_EQ(poller_->stats().deadline_timers, 1u);
  PollEvent ev[4];
  auto n = poller_->Poll(-1, ev, 4);  // the deadline bounds the wait
  while (n.ok() && *n == 0) n = poller_->Poll(-1, ev, 4);
  ASSERT_TRUE(n.ok());
  int64_t took = Nanotime() - t0;
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(ev[0].token, 0x50u);
  EXPECT_EQ(ev[0].reason, PollReason::kDeadline);
  EXPECT_GE(took, 30 * kMs);
  printf("deadline 30 ms fired after %.3f ms\n", took / 1e6);
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, PollMode::kRead)), GORT_ETIMEDOUT);
  EXPECT_EQ(poller_->stats().deadline_timers, 0u);
}

TEST_F(NetpollTest, ExtendingDeadlineWhileParked) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  int64_t t0 = Nanotime();
  ASSERT_TRUE(poller_->SetDeadline(pd, 30 * kMs, PollMode::kRead).ok());
  ParkRead(pd, p, 0x60);
  ASSERT_TRUE(poller_->SetDeadline(pd, 300 * kMs, PollMode::kRead).ok());
  EXPECT_EQ(poller_->stats().deadline_timers, 1u);
  // The first deadline's time passes without a wake-up.
  EXPECT_TRUE(PollFor(1, 100 * kMs).empty());
  std::vector<PollEvent> ev = PollFor(1, 10000 * kMs);
  int64_t took = Nanotime() - t0;
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, PollReason::kDeadline);
  EXPECT_GE(took, 300 * kMs);
}

// Equal read and write deadlines share one timer; both waiters time out.
TEST_F(NetpollTest, EqualDeadlinesShareOneTimer) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  // Harvest the registration's first edge (a new socket is writable), which
  // Prepare() then forgets, so a writer can park.
  EXPECT_TRUE(PollFor(1, 20 * kMs).empty());
  ASSERT_TRUE(poller_->SetDeadline(pd, 40 * kMs, PollMode::kReadWrite).ok());
  EXPECT_EQ(poller_->stats().deadline_timers, 1u);
  ParkRead(pd, p, 0x70);
  ASSERT_TRUE(poller_->Prepare(pd, PollMode::kWrite).ok());
  auto w = poller_->Wait(pd, PollMode::kWrite, 0x71);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(*w, WaitResult::kParked);
  std::vector<PollEvent> ev = PollFor(2, 10000 * kMs);
  ASSERT_EQ(ev.size(), 2u);
  for (const PollEvent& e : ev) EXPECT_EQ(e.reason, PollReason::kDeadline);
  EXPECT_NE(ev[0].mode, ev[1].mode);
  EXPECT_EQ(poller_->stats().deadline_timers, 0u);
  // Different deadlines need two timers; setting one equal again, one.
  ASSERT_TRUE(poller_->SetDeadline(pd, 1000 * kMs, PollMode::kRead).ok());
  ASSERT_TRUE(poller_->SetDeadline(pd, 2000 * kMs, PollMode::kWrite).ok());
  EXPECT_EQ(poller_->stats().deadline_timers, 2u);
  ASSERT_TRUE(poller_->SetDeadline(pd, 3000 * kMs, PollMode::kReadWrite).ok());
  EXPECT_EQ(poller_->stats().deadline_timers, 1u);
  ASSERT_TRUE(poller_->SetDeadline(pd, 0, PollMode::kReadWrite).ok());
  EXPECT_EQ(poller_->stats().deadline_timers, 0u);
}

TEST_F(NetpollTest, AbslDurationDeadlines) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ASSERT_TRUE(
      poller_->SetDeadline(pd, absl::ZeroDuration(), PollMode::kRead).ok());
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, PollMode::kRead)), GORT_ETIMEDOUT);
  ASSERT_TRUE(
      poller_->SetDeadline(pd, absl::InfiniteDuration(), PollMode::kRead).ok());
  EXPECT_TRUE(poller_->Prepare(pd, PollMode::kRead).ok());
  ASSERT_TRUE(poller_->SetDeadline(pd, absl::Hours(1), PollMode::kRead).ok());
  EXPECT_EQ(poller_->stats().deadline_timers, 1u);
}

// Close while parked: each waiter comes out with kClosing, exactly once, and
// the handle goes stale.
TEST_F(NetpollTest, CloseWhileParkedGivesClosingExactlyOnce) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ParkRead(pd, p, 0x80);
  ASSERT_TRUE(poller_->SetDeadline(pd, 50 * kMs, PollMode::kRead).ok());
  ASSERT_TRUE(poller_->Unregister(pd).ok());
  std::vector<PollEvent> ev = PollFor(2, 200 * kMs);  // the deadline too
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].token, 0x80u);
  EXPECT_EQ(ev[0].reason, PollReason::kClosing);
  EXPECT_EQ(poller_->stats().deadline_timers, 0u);
  EXPECT_EQ(CodeOf(poller_->Unregister(pd)), GORT_EBADF);
}

// Evict from another thread wakes a Poll() blocked with no timeout.
TEST_F(NetpollTest, EvictFromAnotherThreadWakesBlockedPoll) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ParkRead(pd, p, 0x90);
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_TRUE(poller_->Evict(pd).ok());
  });
  PollEvent ev[4];
  auto n = poller_->Poll(-1, ev, 4);
  while (n.ok() && *n == 0) n = poller_->Poll(-1, ev, 4);
  t.join();
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(ev[0].reason, PollReason::kClosing);
  // Evicted but not closed: calls fail with ECANCELED, Evict is idempotent.
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, PollMode::kRead)), GORT_ECANCELED);
  EXPECT_EQ(CodeOf(poller_->Wait(pd, PollMode::kWrite, 0x91).status()),
            GORT_ECANCELED);
  EXPECT_TRUE(poller_->Evict(pd).ok());
  EXPECT_TRUE(poller_->SetDeadline(pd, 10 * kMs, PollMode::kRead).ok());
  EXPECT_TRUE(poller_->Unregister(pd).ok());
}

TEST_F(NetpollTest, WakeUpsCoalesce) { CheckWakeUpsCoalesce(); }

TEST_F(NetpollTest, WakeFromAnotherThreadInterruptsBlockedPoll) {
  for (int round = 0; round < 20; ++round) {
    std::atomic<bool> returned{false};
    std::thread t([&] {
      PollEvent ev[4];
      auto n = poller_->Poll(-1, ev, 4);
      EXPECT_TRUE(n.ok());
      returned = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE(poller_->Wake().ok());
    t.join();
    EXPECT_TRUE(returned);
  }
}

TEST_F(NetpollTest, StaleHandleGivesEbadf) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ASSERT_TRUE(poller_->Unregister(pd).ok());
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, PollMode::kRead)), GORT_EBADF);
  EXPECT_EQ(CodeOf(poller_->Wait(pd, PollMode::kRead, 0x10).status()),
            GORT_EBADF);
  EXPECT_EQ(CodeOf(poller_->SetDeadline(pd, 1, PollMode::kRead)), GORT_EBADF);
  EXPECT_EQ(CodeOf(poller_->Evict(pd)), GORT_EBADF);
  EXPECT_EQ(CodeOf(poller_->Unregister(pd)), GORT_EBADF);
  EXPECT_EQ(CodeOf(poller_->Overlapped(pd, PollMode::kRead).status()),
            GORT_EBADF);
  // The slot is reused with a new sequence: the old handle stays stale.
  auto again = poller_->Register(p->b);  // a Windows handle keeps its port
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, pd);
  EXPECT_EQ(*again & 0xffffffffu, pd & 0xffffffffu);
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, PollMode::kRead)), GORT_EBADF);
  EXPECT_TRUE(poller_->Prepare(*again, PollMode::kRead).ok());
  // Handles never handed out.
  for (PollDescId bad : {PollDescId{0}, PollDescId{1}, PollDescId{~0ull},
                         (PollDescId{2} << 32) | 1, PollDescId{0xffffffff}}) {
    EXPECT_EQ(CodeOf(poller_->Prepare(bad, PollMode::kRead)), GORT_EBADF)
        << bad;
  }
}

TEST_F(NetpollTest, DoubleWaitAndBadArgumentsAreErrors) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  ParkRead(pd, p, 0x100);
  EXPECT_EQ(CodeOf(poller_->Wait(pd, PollMode::kRead, 0x101).status()),
            GORT_EBUSY);
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, PollMode::kRead)), GORT_EBUSY);
  for (uintptr_t bad : {0, 1, 2}) {
    EXPECT_EQ(CodeOf(poller_->Wait(pd, PollMode::kWrite, bad).status()),
              GORT_EINVAL);
  }
  EXPECT_EQ(CodeOf(poller_->Wait(pd, PollMode::kReadWrite, 0x10).status()),
            GORT_EINVAL);
  EXPECT_EQ(CodeOf(poller_->Prepare(pd, static_cast<PollMode>(7))),
            GORT_EINVAL);
  EXPECT_EQ(CodeOf(poller_->SetDeadline(pd, 1, static_cast<PollMode>(0))),
            GORT_EINVAL);
  PollEvent ev[1];
  EXPECT_EQ(CodeOf(poller_->Poll(0, nullptr, 4).status()), GORT_EINVAL);
  EXPECT_EQ(CodeOf(poller_->Poll(0, ev, 0).status()), GORT_EINVAL);
  // The parked waiter is still there and comes out on close.
  ASSERT_TRUE(poller_->Unregister(pd).ok());
  std::vector<PollEvent> got = PollFor(1, 1000 * kMs);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].token, 0x100u);
}

// More runnable waiters than the output holds: none is lost.
TEST_F(NetpollTest, OutputOverflowKeepsWaiters) {
  constexpr int kN = 10;
  std::vector<PollDescId> pds;
  for (int i = 0; i < kN; ++i) {
    Pair* p;
    pds.push_back(NewPair(&p));
    ParkRead(pds.back(), p, 0x1000 + i);
  }
  for (PollDescId pd : pds) ASSERT_TRUE(poller_->Evict(pd).ok());
  std::vector<uintptr_t> seen;
  PollEvent ev[3];
  int64_t end = Nanotime() + 5000 * kMs;
  while (seen.size() < kN && Nanotime() < end) {
    auto n = poller_->Poll(10 * kMs, ev, 3);
    ASSERT_TRUE(n.ok());
    ASSERT_LE(*n, 3u);
    for (size_t i = 0; i < *n; ++i) seen.push_back(ev[i].token);
  }
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(seen[i], 0x1000u + i);
}

#ifdef __linux__
// Go's rounding of a poll delay to epoll_wait's milliseconds: never 0 for a
// positive delay, and whole milliseconds up to 1e15 ns (a 1-hour delay once
// became an 11-day wait here).
TEST(NetpollEpoll, DelayRounding) {
  using internal::EpollDelayMillis;
  EXPECT_EQ(EpollDelayMillis(-1), -1);
  EXPECT_EQ(EpollDelayMillis(INT64_MIN), -1);
  EXPECT_EQ(EpollDelayMillis(0), 0);
  EXPECT_EQ(EpollDelayMillis(1), 1);
  EXPECT_EQ(EpollDelayMillis(999999), 1);
  EXPECT_EQ(EpollDelayMillis(1000000), 1);
  EXPECT_EQ(EpollDelayMillis(2999999), 2);
  EXPECT_EQ(EpollDelayMillis(int64_t{3600} * 1000000000), 3600000);
  EXPECT_EQ(EpollDelayMillis(999999999999999), 999999999);
  EXPECT_EQ(EpollDelayMillis(1000000000000000), 1000000000);
  EXPECT_EQ(EpollDelayMillis(INT64_MAX), 1000000000);
}
#endif

#ifdef __linux__
// An event harvested for a closed pollDesc is dropped, never delivered to
// the descriptor that reuses its slot. On Linux an epoll registration
// outlives close() while a dup() of the descriptor is open, so events for
// the old key keep coming after Close() failed to deregister it.
TEST_F(NetpollTest, StaleEventsForAClosedPollDescAreDropped) {
  Pair* p;
  PollDescId pd = NewPair(&p);
  int keep = dup(static_cast<int>(p->a));
  ASSERT_GE(keep, 0);
  close(static_cast<int>(p->a));              // the embedder closed too early
  ASSERT_TRUE(poller_->Unregister(pd).ok());  // EPOLL_CTL_DEL: EBADF, ignored
  Pair* q;
  PollDescId pd2 = NewPair(&q);  // reuses the slot
  EXPECT_EQ(pd2 & 0xffffffffu, pd & 0xffffffffu);
  ParkRead(pd2, q, 0x200);
  uint64_t stale0 = poller_->stats().stale_events;
  ASSERT_TRUE(testing::Send(p->b, "z", 1));  // readies the old registration
  std::vector<PollEvent> ev = PollFor(1, 200 * kMs);
  EXPECT_TRUE(ev.empty());
  EXPECT_GE(poller_->stats().stale_events, stale0 + 1);
  p->a = keep;  // closed by TearDown
}
#endif

}  // namespace
}  // namespace gort
