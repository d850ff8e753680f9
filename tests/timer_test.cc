// The timer heap: Go 1.23 semantics, thread safety, and the C ABI's checks.
#include "gort/timer.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "gort.h"
#include "gtest/gtest.h"

namespace {

using gort::TimerHeap;
using gort::TimerId;
using gort::TimerTarget;

// Callback timers that append their tag to a log.
struct Log {
  std::vector<intptr_t> fired;
  static void Fire(void* arg, int64_t) {
    auto* e = static_cast<std::pair<Log*, intptr_t>*>(arg);
    e->first->fired.push_back(e->second);
  }
};

TimerTarget Token(uintptr_t t) {
  TimerTarget target;
  target.token = t;
  return target;
}

TEST(Timer, FiresInDeadlineOrder) {
  TimerHeap h;
  std::vector<uintptr_t> whens = {50, 10, 40, 20, 30};
  for (uintptr_t w : whens) ASSERT_TRUE(h.Start(w, 0, Token(w)).ok());
  EXPECT_EQ(h.NextWhen(), 10);
  uintptr_t out[8];
  size_t n = 0;
  EXPECT_EQ(h.Run(25, out, 8, &n), 30);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(out[0], 10u);
  EXPECT_EQ(out[1], 20u);
  EXPECT_EQ(h.Run(100, out, 8, &n), -1);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(out[0], 30u);
  EXPECT_EQ(out[2], 50u);
  EXPECT_EQ(h.NextWhen(), -1);
}

TEST(Timer, EqualDeadlinesFireInStartOrder) {
  TimerHeap h;
  std::vector<TimerId> ids;
  for (uintptr_t i = 0; i < 100; ++i) {
    ids.push_back(*h.Start(7, 0, Token(i)));
  }
  // Re-arming counts as a new start: timer 0 goes to the end of the ties.
  ASSERT_TRUE(h.Reset(ids[0], 7, 0).ok());
  uintptr_t out[128];
  size_t n = 0;
  h.Run(7, out, 128, &n);
  ASSERT_EQ(n, 100u);
  for (size_t i = 0; i < 99; ++i) EXPECT_EQ(out[i], i + 1);
  EXPECT_EQ(out[99], 0u);
}

TEST(Timer, PeriodicSkipsMissedTicks) {
  TimerHeap h;
  Log log;
  std::pair<Log*, intptr_t> tag{&log, 1};
  TimerTarget t;
  t.fn = Log::Fire;
  t.arg = &tag;
  TimerId id = *h.Start(100, 10, t);
  EXPECT_EQ(h.Run(99), 100);
  EXPECT_TRUE(log.fired.empty());
  // 100, 110, ..., 150 are all due at 155: one fire, next at 160, no burst.
  EXPECT_EQ(h.Run(155), 160);
  EXPECT_EQ(log.fired.size(), 1u);
  EXPECT_EQ(h.Run(160), 170);
  EXPECT_EQ(log.fired.size(), 2u);
  EXPECT_EQ(*h.Stop(id), true);
  EXPECT_EQ(h.Run(1000), -1);
  EXPECT_EQ(log.fired.size(), 2u);
}

TEST(Timer, StopAndResetReportWhetherPending) {
  TimerHeap h;
  TimerId id = h.Add(Token(1));
  EXPECT_EQ(*h.Stop(id), false);          // never armed
  EXPECT_EQ(*h.Reset(id, 10, 0), false);  // armed now
  EXPECT_EQ(*h.Reset(id, 20, 0), true);   // was pending
  EXPECT_EQ(h.NextWhen(), 20);
  EXPECT_EQ(*h.Stop(id), true);
  EXPECT_EQ(*h.Stop(id), false);
  EXPECT_EQ(h.NextWhen(), -1);
  EXPECT_EQ(*h.Reset(id, 30, 0), false);
  uintptr_t out[2];
  size_t n;
  h.Run(30, out, 2, &n);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(*h.Stop(id), false);  // fired: no longer pending
  EXPECT_EQ(h.pending(), 0u);
}

TEST(Timer, StoppedOrResetTimersDoNotFireTheirOldArming) {
  TimerHeap h;
  TimerId a = *h.Start(10, 0, Token(1));
  TimerId b = *h.Start(10, 0, Token(2));
  ASSERT_TRUE(h.Stop(a).ok());
  ASSERT_TRUE(h.Reset(b, 50, 0).ok());
  uintptr_t out[4];
  size_t n;
  EXPECT_EQ(h.Run(20, out, 4, &n), 50);
  EXPECT_EQ(n, 0u);
}

TEST(Timer, TokensBeyondCapacityWaitForTheNextRun) {
  TimerHeap h;
  for (uintptr_t i = 0; i < 5; ++i) ASSERT_TRUE(h.Start(1, 0, Token(i)).ok());
  uintptr_t out[2];
  size_t n;
  EXPECT_LE(h.Run(1, out, 2, &n), 1);  // more are due: call again
  EXPECT_EQ(n, 2u);
  EXPECT_LE(h.Run(1, out, 2, &n), 1);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(h.Run(1, out, 2, &n), -1);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(out[0], 4u);
}

TEST(Timer, RemovedHandlesAreStale) {
  TimerHeap h;
  TimerId id = *h.Start(5, 0, Token(1));
  ASSERT_TRUE(h.Remove(id).ok());
  EXPECT_TRUE(absl::IsNotFound(h.Stop(id).status()));
  EXPECT_TRUE(absl::IsNotFound(h.Reset(id, 1, 0).status()));
  EXPECT_TRUE(absl::IsNotFound(h.Remove(id)));
  EXPECT_EQ(h.NextWhen(), -1);
  // The record is reused with a new generation: the old handle stays stale.
  TimerId again = h.Add(Token(2));
  EXPECT_NE(again, id);
  EXPECT_TRUE(absl::IsNotFound(h.Stop(id).status()));
  EXPECT_TRUE(h.Stop(again).ok());
  for (TimerId bad : {TimerId{0}, TimerId{~0ull}, TimerId{12345}}) {
    EXPECT_TRUE(absl::IsNotFound(h.Stop(bad).status())) << bad;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(h.Reset(again, 1, -1).status()));
}

TEST(Timer, CallbacksMayStopResetAndRemoveThemselves) {
  TimerHeap h;
  struct Ctx {
    TimerHeap* h;
    TimerId id;
    int fires = 0;
    int mode;
  };
  auto fire = [](void* arg, int64_t now) {
    auto* c = static_cast<Ctx*>(arg);
    ++c->fires;
    if (c->mode == 0) {
      EXPECT_EQ(*c->h->Stop(c->id), true);  // periodic: next tick pending
    } else if (c->mode == 1) {
      if (c->fires == 1) {
        EXPECT_EQ(*c->h->Reset(c->id, now + 5, 0), false);
      }
    } else {
      EXPECT_TRUE(c->h->Remove(c->id).ok());
    }
  };
  Ctx c0{&h, 0, 0, 0}, c1{&h, 0, 0, 1}, c2{&h, 0, 0, 2};
  c0.id = *h.Start(10, 10, TimerTarget{fire, &c0, 0});
  c1.id = *h.Start(10, 0, TimerTarget{fire, &c1, 0});
  c2.id = *h.Start(10, 0, TimerTarget{fire, &c2, 0});
  EXPECT_EQ(h.Run(10), 15);
  EXPECT_EQ(h.Run(15), -1);
  EXPECT_EQ(c0.fires, 1);
  EXPECT_EQ(c1.fires, 2);
  EXPECT_EQ(c2.fires, 1);
  EXPECT_TRUE(absl::IsNotFound(h.Stop(c2.id).status()));
  TimerId fresh = h.Add(Token(9));  // reuses c2's record, safely
  EXPECT_TRUE(h.Stop(fresh).ok());
}

TEST(Timer, EarlierDeadlineCallsTheHook) {
  TimerHeap h;
  std::atomic<int> calls{0};
  h.SetEarlierHook([](void* a) { ++*static_cast<std::atomic<int>*>(a); },
                   &calls);
  ASSERT_TRUE(h.Start(100, 0, Token(1)).ok());
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(h.Start(200, 0, Token(2)).ok());
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(h.Start(50, 0, Token(3)).ok());
  EXPECT_EQ(calls, 2);
}

TEST(Timer, AMillionTimersFireInOrder) {
  TimerHeap h;
  constexpr int kN = 1000000;
  h.Reserve(kN);
  std::mt19937_64 rng(42);
  for (int i = 0; i < kN; ++i) {
    int64_t when = static_cast<int64_t>(rng() % 1000000000);
    ASSERT_TRUE(h.Start(when, 0, Token(static_cast<uintptr_t>(when))).ok());
  }
  EXPECT_EQ(h.pending(), static_cast<size_t>(kN));
  std::vector<uintptr_t> out(4096);
  size_t total = 0;
  uintptr_t last = 0;
  for (;;) {
    size_t n;
    int64_t next = h.Run(INT64_MAX, out.data(), out.size(), &n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_GE(out[i], last);
      last = out[i];
    }
    total += n;
    if (next < 0) break;
  }
  EXPECT_EQ(total, static_cast<size_t>(kN));
  std::printf("1e6 timers: %zu bytes per timer\n", h.MemoryUsage() / kN);
}

// Threads arm and stop timers while another thread runs them: every arming
// either fires or is claimed by a Stop that returned true, never both, and
// no callback runs after Stop returned.
TEST(Timer, NoFireAfterStopAcrossThreads) {
  TimerHeap h;
  constexpr int kThreads = 3;
  constexpr int kPerThread = 2000;
  struct Slot {
    std::atomic<int> fired{0};
    std::atomic<int> running{0};
    std::atomic<bool> stopped{false};
  };
  auto slots = std::make_unique<Slot[]>(kThreads * kPerThread);
  auto fire = [](void* arg, int64_t) {
    auto* s = static_cast<Slot*>(arg);
    s->running.fetch_add(1);
    EXPECT_FALSE(s->stopped.load()) << "fired after Stop returned true";
    s->fired.fetch_add(1);
    std::this_thread::yield();
    s->running.fetch_sub(1);
  };
  std::atomic<bool> done{false};
  std::atomic<int64_t> clock{0};
  std::thread runner([&] {
    while (!done.load()) h.Run(clock.fetch_add(1));
    h.Run(INT64_MAX);
  });
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kPerThread; ++i) {
        Slot* s = &slots[t * kPerThread + i];
        TimerId id = *h.Start(clock.load() + static_cast<int64_t>(rng() % 4), 0,
                              TimerTarget{fire, s, 0});
        if (rng() % 2 == 0) std::this_thread::yield();
        bool was = *h.Stop(id);
        EXPECT_EQ(s->running.load(), 0) << "callback running after Stop";
        if (was) {
          s->stopped.store(true);
          claimed.fetch_add(1);
        }
        EXPECT_TRUE(h.Remove(id).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  done.store(true);
  runner.join();
  int fired = 0;
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    int f = slots[i].fired.load();
    EXPECT_EQ(f + (slots[i].stopped.load() ? 1 : 0), 1) << i;
    fired += f;
  }
  std::printf("%d armings: %d fired, %d stopped in time\n",
              kThreads * kPerThread, fired, claimed.load());
}

// --- The C ABI ---

TEST(TimerCApi, TokensAndCallbacks) {
  gort_timers_t heap = 0;
  ASSERT_EQ(gort_timers_new(&heap), 0);
  gort_timer_t a, b;
  ASSERT_EQ(gort_timer_add_token(heap, 77, &a), 0);
  static int calls;
  calls = 0;
  ASSERT_EQ(gort_timer_add(
                heap, [](void*, int64_t) { ++calls; }, nullptr, &b),
            0);
  int was = -1;
  ASSERT_EQ(gort_timer_reset(heap, a, 10, 0, &was), 0);
  EXPECT_EQ(was, 0);
  ASSERT_EQ(gort_timer_reset(heap, b, 20, 0, nullptr), 0);
  int64_t when = 0;
  ASSERT_EQ(gort_timers_next_when(heap, &when), 0);
  EXPECT_EQ(when, 10);
  uintptr_t tokens[4];
  size_t n = 0;
  int64_t next = 0;
  ASSERT_EQ(gort_timers_run(heap, 30, tokens, 4, &n, &next), 0);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(tokens[0], 77u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(next, -1);
  ASSERT_EQ(gort_timer_stop(heap, a, &was), 0);
  EXPECT_EQ(was, 0);
  ASSERT_EQ(gort_timer_remove(heap, a), 0);
  EXPECT_EQ(gort_timer_stop(heap, a, &was), GORT_EBADF);
  ASSERT_EQ(gort_timers_free(heap), 0);
  EXPECT_EQ(gort_timer_stop(heap, b, &was), GORT_EBADF);
  EXPECT_EQ(gort_timers_free(heap), GORT_EBADF);
}

TEST(TimerCApi, ChecksEveryArgument) {
  gort_timers_t heap;
  EXPECT_EQ(gort_timers_new(nullptr), GORT_EINVAL);
  ASSERT_EQ(gort_timers_new(&heap), 0);
  gort_timer_t t;
  int was;
  int64_t when;
  size_t n;
  uintptr_t tok[1];
  for (gort_timers_t bad :
       {gort_timers_t{0}, gort_timers_t{~0ull}, gort_timers_t{heap + 1},
        gort_timers_t{heap ^ (gort_timers_t{1} << 40)}}) {
    EXPECT_EQ(gort_timers_free(bad), GORT_EBADF);
    EXPECT_EQ(gort_timer_add_token(bad, 1, &t), GORT_EBADF);
    EXPECT_EQ(gort_timer_add(
                  bad, [](void*, int64_t) {}, nullptr, &t),
              GORT_EBADF);
    EXPECT_EQ(gort_timer_reset(bad, 1, 1, 0, &was), GORT_EBADF);
    EXPECT_EQ(gort_timer_stop(bad, 1, &was), GORT_EBADF);
    EXPECT_EQ(gort_timer_remove(bad, 1), GORT_EBADF);
    EXPECT_EQ(gort_timers_next_when(bad, &when), GORT_EBADF);
    EXPECT_EQ(gort_timers_run(bad, 0, tok, 1, &n, nullptr), GORT_EBADF);
  }
  EXPECT_EQ(gort_timer_add(heap, nullptr, nullptr, &t), GORT_EINVAL);
  EXPECT_EQ(gort_timer_add(
                heap, [](void*, int64_t) {}, nullptr, nullptr),
            GORT_EINVAL);
  EXPECT_EQ(gort_timer_add_token(heap, 1, nullptr), GORT_EINVAL);
  ASSERT_EQ(gort_timer_add_token(heap, 1, &t), 0);
  EXPECT_EQ(gort_timer_reset(heap, t, 1, -1, &was), GORT_EINVAL);
  for (gort_timer_t bad :
       {gort_timer_t{0}, gort_timer_t{t + 1},
        gort_timer_t{t ^ (gort_timer_t{1} << 33)}, gort_timer_t{~0ull}}) {
    EXPECT_EQ(gort_timer_reset(heap, bad, 1, 0, &was), GORT_EBADF);
    EXPECT_EQ(gort_timer_stop(heap, bad, &was), GORT_EBADF);
    EXPECT_EQ(gort_timer_remove(heap, bad), GORT_EBADF);
  }
  EXPECT_EQ(gort_timers_next_when(heap, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_timers_run(heap, 0, tok, 1, nullptr, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_timers_run(heap, 0, nullptr, 1, &n, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_timers_run(heap, 0, nullptr, 0, &n, nullptr), 0);
  EXPECT_EQ(gort_timers_free(heap), 0);
}

}  // namespace
