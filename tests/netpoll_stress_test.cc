// The netpoller under load: 4 threads, 1000 descriptor pairs, 1e6 readiness
// events (completions on Windows), counting every wake-up. Each thread both
// writes one byte at a time to random pairs and polls; the thread that gets
// a pair's token owns the pair until it parks the token again, exactly the
// protocol of include/gort/netpoll.h (a waiter is published only once it is
// suspended). Lost wake-ups show as bytes never received, duplicated ones
// as a token handed out while it was not parked.
#include <gtest/gtest.h>

#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "gort/netpoll.h"
#include "gort/time.h"
#include "netpoll_test_util.h"

namespace gort {
namespace {

constexpr int kThreads = 4;
constexpr int kPairs = 1000;
constexpr int64_t kEvents = 1000000;
constexpr uintptr_t kTokenBase = 16;

struct Stress {
  std::unique_ptr<Poller> poller;
  std::vector<testing::Pair> pairs = std::vector<testing::Pair>(kPairs);
  std::vector<PollDescId> pds = std::vector<PollDescId>(kPairs);
  std::unique_ptr<std::atomic<int>[]> parked { new std::atomic<int>[ kPairs ] };
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> wakeups{0};
  std::atomic<int64_t> ready_waits{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> errors{0};

  // Runs pair i's reader until it parks again. The caller owns the pair.
  void Own(int i) {
    for (;;) {
      int64_t n = testing::TakeRead(*poller, pds[i], &pairs[i]);
      if (n < 0) {
        errors.fetch_add(1);
        return;
      }
      received.fetch_add(n, std::memory_order_relaxed);
      if (!testing::StartRead(*poller, pds[i], &pairs[i])) {
        errors.fetch_add(1);
        return;
      }
      // Mark the token parked before publishing it: the moment Wait()
      // returns kParked another thread may already have it.
      parked[i].store(1, std::memory_order_relaxed);
      auto r = poller->Wait(pds[i], PollMode::kRead, kTokenBase + i);
      if (!r.ok()) {
        errors.fetch_add(1);
        return;
      }
      if (*r == WaitResult::kParked) return;
      parked[i].store(0, std::memory_order_relaxed);
      ready_waits.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void Worker(unsigned seed, int64_t deadline) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> pick(0, kPairs - 1);
    PollEvent ev[64];
    bool writing = true;
    while (received.load(std::memory_order_relaxed) < kEvents &&
           Nanotime() < deadline) {
      for (int k = 0; writing && k < 8; ++k) {
        if (sent.fetch_add(1, std::memory_order_relaxed) >= kEvents) {
          writing = false;
          break;
        }
        if (!testing::Send(pairs[pick(rng)].b, "x", 1)) errors.fetch_add(1);
      }
      auto n = poller->Poll(writing ? 0 : 10000000, ev, 64);
      if (!n.ok()) {
        errors.fetch_add(1);
        continue;
      }
      for (size_t j = 0; j < *n; ++j) {
        uintptr_t i = ev[j].token - kTokenBase;
        if (ev[j].token < kTokenBase || i >= static_cast<uintptr_t>(kPairs) ||
            ev[j].reason != PollReason::kReady) {
          errors.fetch_add(1);
          continue;
        }
        wakeups.fetch_add(1, std::memory_order_relaxed);
        if (parked[i].exchange(0, std::memory_order_relaxed) != 1) {
          duplicates.fetch_add(1);
          continue;  // someone else owns it: do not touch
        }
        Own(static_cast<int>(i));
      }
    }
  }
};

TEST(NetpollStress, FourThreadsThousandPairsMillionEvents) {
  testing::RaiseFdLimit();
  Stress s;
  auto p = Poller::Open();
  ASSERT_TRUE(p.ok()) << p.status();
  s.poller = std::move(*p);
  for (int i = 0; i < kPairs; ++i) {
    s.parked[i].store(0);
    ASSERT_TRUE(testing::MakePair(&s.pairs[i])) << "pair " << i;
    auto pd = s.poller->Register(s.pairs[i].a);
    ASSERT_TRUE(pd.ok()) << pd.status();
    s.pds[i] = *pd;
    ASSERT_TRUE(s.poller->Prepare(*pd, PollMode::kRead).ok());
  }
  for (int i = 0; i < kPairs; ++i) s.Own(i);
  int64_t t0 = Nanotime();
  int64_t deadline = t0 + int64_t{600} * 1000000000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, t, deadline] { s.Worker(1234 + t, deadline); });
  }
  for (std::thread& t : threads) t.join();
  double secs = (Nanotime() - t0) / 1e9;
  PollerStats st = s.poller->stats();
  int64_t sent = std::min(s.sent.load(), kEvents);
  printf("stress: %d threads, %d pairs, %.2f s: sent %" PRId64
         ", received %" PRId64 ", lost %" PRId64 ", token wake-ups %" PRId64
         ", duplicated %" PRId64 ", ready at wait %" PRId64
         ", backend events %" PRIu64 ", stale %" PRIu64 ", errors %" PRId64
         "\n",
         kThreads, kPairs, secs, sent, s.received.load(),
         sent - s.received.load(), s.wakeups.load(), s.duplicates.load(),
         s.ready_waits.load(), st.events, st.stale_events, s.errors.load());
  EXPECT_EQ(sent, kEvents);
  EXPECT_EQ(s.received.load(), kEvents);  // zero lost
  EXPECT_EQ(s.duplicates.load(), 0);      // zero duplicated
  EXPECT_EQ(s.errors.load(), 0);
  EXPECT_GT(s.wakeups.load(), 0);
  // Every pair is parked again: closing hands each token out once.
  for (int i = 0; i < kPairs; ++i) {
    EXPECT_TRUE(s.poller->Close(s.pds[i]).ok());
  }
  int closing = 0;
  PollEvent ev[256];
  for (;;) {
    auto n = s.poller->Poll(0, ev, 256);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    for (size_t j = 0; j < *n; ++j) {
      EXPECT_EQ(ev[j].reason, PollReason::kClosing);
      ++closing;
    }
  }
  EXPECT_EQ(closing, kPairs);
  s.poller.reset();
  for (testing::Pair& pr : s.pairs) testing::ClosePair(&pr);
}

}  // namespace
}  // namespace gort
