// SPDX-License-Identifier: BSD-3-Clause
// Poller and timer-heap handles of the C ABI: closing one while other
// threads call through it (the close waits for them, later calls get
// GORT_EBADF, nothing touches freed memory), closing a poller another thread
// is blocked in, freeing a heap from its own callback (GORT_EBUSY), and
// handles of one table never accepted by the other.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "gort.h"

namespace {

using std::chrono::milliseconds;

// Starts `threads` threads that call `call(i)` (a gort code) until it gives
// GORT_EBADF, counting calls and codes other than 0 and GORT_EBADF.
template <typename Call>
void HammerUntilBadf(int threads, Call call, std::atomic<bool>* started,
                     std::vector<std::thread>* out, std::atomic<int64_t>* calls,
                     std::atomic<int>* unexpected) {
  for (int i = 0; i < threads; ++i) {
    out->emplace_back([=] {
      for (;;) {
        int rc = call(i);
        calls->fetch_add(1, std::memory_order_relaxed);
        started->store(true);
        if (rc == GORT_EBADF) return;
        if (rc != 0) unexpected->fetch_add(1);
      }
    });
  }
}

TEST(CApiHandles, PollerClosedWhileOtherThreadsCallThroughIt) {
  for (int round = 0; round < 20; ++round) {
    gort_poller_t p = 0;
    ASSERT_EQ(gort_poller_open(&p), 0);
    std::atomic<bool> started{false};
    std::atomic<int64_t> calls{0};
    std::atomic<int> unexpected{0};
    std::vector<std::thread> threads;
    HammerUntilBadf(
        4,
        [p](int i) -> int {
          gort_poll_event_t ev[4];
          size_t got = 0;
          switch (i % 4) {
            case 0:
              return gort_poller_wake(p);
            case 1:
              return gort_poller_poll(p, 0, ev, 4, &got);
            case 2: {
              // A stale pollDesc: EBADF too, so tell the two apart.
              int rc = gort_poller_prepare(p, 1, GORT_POLL_READ);
              if (rc != GORT_EBADF) return rc;
              return gort_poller_wake(p);
            }
            default:
              return gort_poller_poll(p, 1000000, ev, 4, &got);
          }
        },
        &started, &threads, &calls, &unexpected);
    while (!started.load()) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(2));
    EXPECT_EQ(gort_poller_close(p), 0);
    for (auto& t : threads) t.join();
    EXPECT_EQ(unexpected.load(), 0);
    EXPECT_EQ(gort_poller_wake(p), GORT_EBADF);
    EXPECT_EQ(gort_poller_close(p), GORT_EBADF);
  }
}

// gort_poller_poll(-1) blocks until something happens: closing the poller
// must wake it (it returns 0 with no events, or GORT_EBADF), never hang.
TEST(CApiHandles, ClosingAPollerWakesAThreadBlockedInPoll) {
  for (int round = 0; round < 10; ++round) {
    gort_poller_t p = 0;
    ASSERT_EQ(gort_poller_open(&p), 0);
    std::atomic<bool> entered{false};
    std::promise<int> result;
    std::future<int> done = result.get_future();
    std::thread blocked([&] {
      gort_poll_event_t ev[4];
      size_t got = 0;
      int rc = 0;
      do {
        entered.store(true);
        rc = gort_poller_poll(p, -1, ev, 4, &got);
      } while (rc == 0);  // woken early: poll again until the handle is gone
      result.set_value(rc);
    });
    while (!entered.load()) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(round % 3));
    std::future<int> closed =
        std::async(std::launch::async, [p] { return gort_poller_close(p); });
    ASSERT_EQ(closed.wait_for(std::chrono::seconds(30)),
              std::future_status::ready)
        << "gort_poller_close hangs on a thread blocked in poll";
    EXPECT_EQ(closed.get(), 0);
    ASSERT_EQ(done.wait_for(std::chrono::seconds(30)),
              std::future_status::ready)
        << "the blocked poll never returned";
    EXPECT_EQ(done.get(), GORT_EBADF);
    blocked.join();
  }
}

TEST(CApiHandles, HeapFreedWhileOtherThreadsCallThroughIt) {
  for (int round = 0; round < 20; ++round) {
    gort_timers_t heap = 0;
    ASSERT_EQ(gort_timers_new(&heap), 0);
    std::vector<gort_timer_t> timers(4);
    for (auto& t : timers) ASSERT_EQ(gort_timer_add_token(heap, 0x10, &t), 0);
    std::atomic<bool> started{false};
    std::atomic<int64_t> calls{0};
    std::atomic<int> unexpected{0};
    std::vector<std::thread> threads;
    HammerUntilBadf(
        4,
        [heap, &timers](int i) -> int {
          int pending = 0;
          int rc = gort_timer_reset(heap, timers[i], 1000 + i, 0, &pending);
          if (rc != 0) return rc;
          rc = gort_timer_stop(heap, timers[i], &pending);
          if (rc != 0) return rc;
          uintptr_t tokens[2];
          size_t n = 0;
          return gort_timers_run(heap, 0, tokens, 2, &n, nullptr);
        },
        &started, &threads, &calls, &unexpected);
    while (!started.load()) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(2));
    EXPECT_EQ(gort_timers_free(heap), 0);
    for (auto& t : threads) t.join();
    EXPECT_EQ(unexpected.load(), 0);
    int64_t when = 0;
    EXPECT_EQ(gort_timers_next_when(heap, &when), GORT_EBADF);
    EXPECT_EQ(gort_timers_free(heap), GORT_EBADF);
  }
}

struct SelfFree {
  gort_timers_t heap = 0;
  int rc = 1;
};

void FreeOwnHeap(void* arg, int64_t) {
  auto* s = static_cast<SelfFree*>(arg);
  s->rc = gort_timers_free(s->heap);
}

// Run pins the heap on this thread: freeing it from its own callback would
// wait for itself forever (or, before pinning, free the heap under Run).
TEST(CApiHandles, FreeingAHeapFromItsOwnCallbackIsBusy) {
  SelfFree s;
  ASSERT_EQ(gort_timers_new(&s.heap), 0);
  gort_timer_t t = 0;
  ASSERT_EQ(gort_timer_add(s.heap, FreeOwnHeap, &s, &t), 0);
  ASSERT_EQ(gort_timer_reset(s.heap, t, 5, 0, nullptr), 0);
  size_t n = 0;
  ASSERT_EQ(gort_timers_run(s.heap, 10, nullptr, 0, &n, nullptr), 0);
  EXPECT_EQ(s.rc, GORT_EBUSY);
  // Outside the callback the heap frees normally.
  EXPECT_EQ(gort_timers_free(s.heap), 0);
  EXPECT_EQ(gort_timers_free(s.heap), GORT_EBADF);
}

struct MakesAHeap {
  std::atomic<bool> in_callback{false};
  int rc = 1;
};

void MakeAndFreeAHeap(void* arg, int64_t) {
  auto* m = static_cast<MakesAHeap*>(arg);
  m->in_callback.store(true);
  // Let the other thread start freeing this callback's heap (it then waits
  // for this Run), then use the table: the wait must not hold its lock.
  std::this_thread::sleep_for(milliseconds(50));
  gort_timers_t other = 0;
  m->rc = gort_timers_new(&other);
  if (m->rc == 0) m->rc = gort_timers_free(other);
}

// A callback that makes (and frees) another heap while a second thread
// frees the callback's own heap: the free waits for the callback, which
// must be able to use the table meanwhile.
TEST(CApiHandles, CallbackUsesTheTableWhileItsHeapIsBeingFreed) {
  MakesAHeap m;
  gort_timers_t heap = 0;
  ASSERT_EQ(gort_timers_new(&heap), 0);
  gort_timer_t t = 0;
  ASSERT_EQ(gort_timer_add(heap, MakeAndFreeAHeap, &m, &t), 0);
  ASSERT_EQ(gort_timer_reset(heap, t, 5, 0, nullptr), 0);
  std::future<int> run = std::async(std::launch::async, [heap] {
    size_t n = 0;
    return gort_timers_run(heap, 10, nullptr, 0, &n, nullptr);
  });
  while (!m.in_callback.load()) std::this_thread::yield();
  std::future<int> freed =
      std::async(std::launch::async, [heap] { return gort_timers_free(heap); });
  if (freed.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    std::fprintf(stderr,
                 "deadlock: gort_timers_free waits for a callback "
                 "that waits for the handle table\n");
    std::_Exit(1);
  }
  EXPECT_EQ(freed.get(), 0);
  EXPECT_EQ(run.get(), 0);
  EXPECT_EQ(m.rc, 0);
}

// Handles of pollers are not heap handles and the other way round, and a
// closed object's handle does not name the next object in its slot.
TEST(CApiHandles, HandlesAreUniqueAcrossPollersAndHeaps) {
  std::vector<gort_poller_t> pollers(8);
  std::vector<gort_timers_t> heaps(8);
  for (auto& p : pollers) ASSERT_EQ(gort_poller_open(&p), 0);
  for (auto& h : heaps) ASSERT_EQ(gort_timers_new(&h), 0);
  std::set<uint64_t> all(pollers.begin(), pollers.end());
  all.insert(heaps.begin(), heaps.end());
  EXPECT_EQ(all.size(), pollers.size() + heaps.size());
  for (gort_poller_t p : pollers) {
    int64_t when = 0;
    EXPECT_EQ(gort_timers_next_when(p, &when), GORT_EBADF) << p;
  }
  for (gort_timers_t h : heaps) {
    EXPECT_EQ(gort_poller_wake(h), GORT_EBADF) << h;
  }
  // Reuse of a slot: the new object's handle differs from the old one's.
  gort_poller_t first = pollers[0];
  ASSERT_EQ(gort_poller_close(first), 0);
  gort_poller_t again = 0;
  ASSERT_EQ(gort_poller_open(&again), 0);
  EXPECT_NE(again, first);
  EXPECT_EQ(gort_poller_wake(first), GORT_EBADF);
  pollers[0] = again;
  for (gort_poller_t p : pollers) EXPECT_EQ(gort_poller_close(p), 0);
  for (gort_timers_t h : heaps) EXPECT_EQ(gort_timers_free(h), 0);
}

}  // namespace
