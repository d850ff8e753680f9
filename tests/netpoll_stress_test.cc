// SPDX-License-Identifier: BSD-3-Clause
// The netpoller under load: 4 threads, 1000 descriptor pairs, 1e6 readiness
// events (completions on Windows), counting every wake-up. Each thread both
// writes one byte at a time to random pairs and polls; the thread that gets
// a pair's token owns the pair until it parks the token again, exactly the
// protocol of include/gort/netpoll.h (a waiter is published only once it is
// suspended). Lost wake-ups show as bytes never received, duplicated ones
// as a token handed out while it was not parked. .ci/run sends 2e5 events
// and churns 5000 rounds (GORT_STRESS_EVENTS, GORT_CHURN_ROUNDS); the
// defaults are the full runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gort.h"
#include "gort/errno.h"
#include "gort/netpoll.h"
#include "gort/time.h"
#include "netpoll_test_util.h"

namespace gort {
namespace {

constexpr int kThreads = 4;
constexpr int kPairs = 1000;
// Events the multi-thread stress test sends: GORT_STRESS_EVENTS, default
// 1e6 (the full run); .ci/run sets a shorter one.
int64_t StressEvents() {
  static const int64_t n = [] {
    const char* env = getenv("GORT_STRESS_EVENTS");
    int64_t v = env != nullptr ? atoll(env) : 0;
    return v > 0 ? v : int64_t{1000000};
  }();
  return n;
}
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
    while (received.load(std::memory_order_relaxed) < StressEvents() &&
           Nanotime() < deadline) {
      for (int k = 0; writing && k < 8; ++k) {
        if (sent.fetch_add(1, std::memory_order_relaxed) >= StressEvents()) {
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
  int64_t sent = std::min(s.sent.load(), StressEvents());
  printf("stress: %d threads, %d pairs, %.2f s: sent %" PRId64
         ", received %" PRId64 ", lost %" PRId64 ", token wake-ups %" PRId64
         ", duplicated %" PRId64 ", ready at wait %" PRId64
         ", backend events %" PRIu64 ", stale %" PRIu64 ", errors %" PRId64
         "\n",
         kThreads, kPairs, secs, sent, s.received.load(),
         sent - s.received.load(), s.wakeups.load(), s.duplicates.load(),
         s.ready_waits.load(), st.events, st.stale_events, s.errors.load());
  EXPECT_EQ(sent, StressEvents());
  EXPECT_EQ(s.received.load(), StressEvents());  // zero lost
  EXPECT_EQ(s.duplicates.load(), 0);             // zero duplicated
  EXPECT_EQ(s.errors.load(), 0);
  EXPECT_GT(s.wakeups.load(), 0);
  // Every pair is parked again: closing hands each token out once.
  for (int i = 0; i < kPairs; ++i) {
    EXPECT_TRUE(s.poller->Unregister(s.pds[i]).ok());
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

// Two threads wait on one direction of one pollDesc while a third makes its
// deadline expire and clears it again, and a fourth polls. Only one waiter
// can park at a time (the other gets EBUSY or the deadline error); a waiter
// whose own park was undone by the deadline must not take the state back
// from a waiter that parked after it. Every token parked comes out exactly
// once. (Go never sees this: its fdMutex admits one waiter per direction;
// gort's contract lets two threads race and answers EBUSY.)
TEST(NetpollStress, SameDirectionWaitersRaceDeadlines) {
  auto opened = Poller::Open();
  ASSERT_TRUE(opened.ok());
  Poller* poller = opened->get();
  testing::Pair pair;
  ASSERT_TRUE(testing::MakePair(&pair));
  auto pd = poller->Register(pair.a);
  ASSERT_TRUE(pd.ok());
  std::atomic<bool> stop{false};
  std::atomic<uintptr_t> next_token{kTokenBase};
  std::atomic<int64_t> parked{0}, delivered{0}, unexpected{0};
  std::unordered_set<uintptr_t> seen;
  const int64_t until = Nanotime() + int64_t{2} * 1000000000;
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        uintptr_t token = next_token.fetch_add(1);
        auto r = poller->Wait(*pd, PollMode::kRead, token);
        if (r.ok() && *r == WaitResult::kParked) parked.fetch_add(1);
        if (r.ok()) continue;
        int code = Error::FromStatus(r.status())
                       ? Error::FromStatus(r.status())->code()
                       : 0;
        if (code != GORT_ETIMEDOUT && code != GORT_EBUSY) {
          unexpected.fetch_add(1);
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (Nanotime() < until) {
      if (!poller->SetDeadline(*pd, -1, PollMode::kRead).ok() ||
          !poller->SetDeadline(*pd, int64_t{0}, PollMode::kRead).ok()) {
        unexpected.fetch_add(1);
      }
    }
    stop.store(true);
  });
  auto take = [&](const PollEvent& e) {
    if (e.token < kTokenBase || !seen.insert(e.token).second) {
      unexpected.fetch_add(1);
    }
    delivered.fetch_add(1);
  };
  threads.emplace_back([&] {
    PollEvent ev[64];
    while (!stop.load()) {
      auto n = poller->Poll(1000000, ev, 64);
      if (!n.ok()) unexpected.fetch_add(1);
      for (size_t j = 0; n.ok() && j < *n; ++j) take(ev[j]);
    }
  });
  for (std::thread& t : threads) t.join();
  // A token still parked comes out with "closing".
  ASSERT_TRUE(poller->Unregister(*pd).ok());
  PollEvent ev[64];
  for (;;) {
    auto n = poller->Poll(0, ev, 64);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    for (size_t j = 0; j < *n; ++j) take(ev[j]);
  }
  printf("same-direction race: %" PRId64 " tokens parked, %" PRId64
         " delivered, %" PRId64 " unexpected\n",
         parked.load(), delivered.load(), unexpected.load());
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(delivered.load(), parked.load());
  EXPECT_GT(parked.load(), 0);
  opened->reset();
  testing::ClosePair(&pair);
}

#ifndef _WIN32
// What each thread of the churn test did, kept so a lost or duplicated
// token can be told with its history: how it was parked, what evicted,
// expired or readied its pollDesc, and which Poll() handed it out. A ring
// per thread (the last kLogSize operations), read after the threads joined.
struct OpLog {
  static constexpr size_t kLogSize = size_t{1} << 18;
  enum Op : uint8_t {
    kRegister,
    kUnregister,
    kPrepare,
    kWait,
    kDeadline,
    kEvict,
    kPolled
  };
  struct Entry {
    int64_t t;
    PollDescId pd;
    uintptr_t token;  // Wait: the token; kPolled: the token handed out
    Op op;
    int8_t mode;     // 1 read, 2 write
    int16_t result;  // the GORT_E* code, or for kWait 1 parked / 0 ready;
                     // for kPolled the reason
  };
  std::vector<Entry> ring = std::vector<Entry>(kLogSize);
  size_t next = 0;
  void Add(Op op, PollDescId pd, PollMode mode, uintptr_t token, int result) {
    ring[next++ % kLogSize] = Entry{Nanotime(),
                                    pd,
                                    token,
                                    op,
                                    static_cast<int8_t>(mode),
                                    static_cast<int16_t>(result)};
  }
};

const char* OpName(OpLog::Op op) {
  static const char* const kNames[] = {"register", "unregister", "prepare",
                                       "wait",     "deadline",   "evict",
                                       "polled"};
  return kNames[op];
}

// Prints every logged operation on `token`'s pollDesc around the time it
// was parked, from every thread, in time order.
void TellHistory(uintptr_t token, const std::vector<OpLog>& logs,
                 const char* what) {
  const OpLog::Entry* park = nullptr;
  for (const OpLog& l : logs) {
    for (const OpLog::Entry& e : l.ring) {
      if (e.op == OpLog::kWait && e.token == token) park = &e;
    }
  }
  printf("token %" PRIuPTR " %s\n", token, what);
  if (park == nullptr) {
    printf("  (its Wait() fell out of the log)\n");
    return;
  }
  std::vector<std::pair<const OpLog::Entry*, size_t>> about;
  for (size_t th = 0; th < logs.size(); ++th) {
    for (const OpLog::Entry& e : logs[th].ring) {
      bool same_pd = e.pd == park->pd && e.op != OpLog::kPolled;
      bool it = e.token == token;
      if ((same_pd || it) && e.t > park->t - 50 * 1000000 &&
          e.t < park->t + 200 * 1000000) {
        about.push_back({&e, th});
      }
    }
  }
  std::sort(about.begin(), about.end(), [](const auto& x, const auto& y) {
    return x.first->t < y.first->t;
  });
  for (const auto& [e, th] : about) {
    printf("  %+9.3f ms  thread %zu  %-10s pd %016" PRIx64
           " mode %d token %" PRIuPTR " -> %d%s\n",
           (e->t - park->t) / 1e6, th, OpName(e->op), e->pd, e->mode, e->token,
           e->result, e == park ? "   <== parked here" : "");
  }
}

// Handles closed and reused while other threads use them: every call gives
// a result for the pollDesc its handle named or EBADF, never a crash or
// another descriptor's; every token parked comes out exactly once (ready,
// deadline or closing). Two threads register and close descriptors (the
// same ones again and again, so slots and descriptors are reused), two
// others prepare, wait, set deadlines and evict through whatever handle
// they last saw, one polls. POSIX only: a Windows handle cannot be
// associated with a port twice, so it could not be registered again.
// GORT_CHURN_ROUNDS sets the rounds (default 20000).
TEST(NetpollStress, CloseRacesWithWaitersAndReuse) {
  constexpr int kChurners = 2;
  constexpr int kPairsEach = 4;
  const char* env = getenv("GORT_CHURN_ROUNDS");
  const int kRounds = env != nullptr ? atoi(env) : 20000;
  auto opened = Poller::Open();
  ASSERT_TRUE(opened.ok());
  Poller* poller = opened->get();
  std::vector<testing::Pair> pairs(kChurners * kPairsEach);
  for (testing::Pair& p : pairs) ASSERT_TRUE(testing::MakePair(&p));
  std::vector<std::atomic<PollDescId>> current(pairs.size());
  for (auto& c : current) c.store(0);
  std::atomic<bool> stop{false};
  std::atomic<uintptr_t> next_token{kTokenBase};
  std::atomic<int64_t> parked{0}, delivered{0}, unexpected{0};
  // Threads: churners, then 2 users, then the poller; the main thread's
  // final drain logs as the poller's.
  std::vector<OpLog> logs(kChurners + 3);
  // Tokens parked, and how often each was handed out; read after joining.
  std::vector<std::vector<uintptr_t>> parked_tokens(2);
  std::unordered_map<uintptr_t, int> out_count;

  auto code_of = [](const absl::Status& st) {
    return st.ok() ? 0
                   : (Error::FromStatus(st) ? Error::FromStatus(st)->code()
                                            : GORT_EUNKNOWN);
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < kChurners; ++c) {
    threads.emplace_back([&, c] {
      OpLog& log = logs[c];
      // On a loaded machine the churners may finish before the users ran
      // at all: go on until some token was parked (at most 10 s more).
      const int64_t give_up = Nanotime() + int64_t{10} * 1000000000;
      for (int r = 0;
           r < kRounds || (parked.load() == 0 && Nanotime() < give_up); ++r) {
        // A registration lives until its pair comes round again.
        size_t i = c * kPairsEach + r % kPairsEach;
        PollDescId old = current[i].load();
        if (old != 0) {
          absl::Status st = poller->Unregister(old);
          log.Add(OpLog::kUnregister, old, PollMode::kRead, 0, code_of(st));
          if (!st.ok()) unexpected.fetch_add(1);
        }
        auto pd = poller->Register(pairs[i].a);
        if (!pd.ok()) {
          unexpected.fetch_add(1);
          continue;
        }
        log.Add(OpLog::kRegister, *pd, PollMode::kRead, 0, 0);
        current[i].store(*pd);
        std::this_thread::yield();
      }
      for (int k = 0; k < kPairsEach; ++k) {
        PollDescId pd = current[c * kPairsEach + k].load();
        if (pd == 0) continue;
        absl::Status st = poller->Unregister(pd);
        log.Add(OpLog::kUnregister, pd, PollMode::kRead, 0, code_of(st));
        if (!st.ok()) unexpected.fetch_add(1);
      }
    });
  }
  for (int u = 0; u < 2; ++u) {
    threads.emplace_back([&, u] {
      OpLog& log = logs[kChurners + u];
      std::mt19937 rng(99 + u);
      while (!stop.load()) {
        PollDescId pd = current[rng() % current.size()].load();
        PollMode mode = (rng() & 1) ? PollMode::kRead : PollMode::kWrite;
        absl::Status st;
        switch (rng() % 4) {
          case 0:
            st = poller->Prepare(pd, mode);
            log.Add(OpLog::kPrepare, pd, mode, 0, code_of(st));
            break;
          case 1: {
            uintptr_t token = next_token.fetch_add(1);
            auto r = poller->Wait(pd, mode, token);
            bool was_parked = r.ok() && *r == WaitResult::kParked;
            if (was_parked) {
              parked.fetch_add(1);
              parked_tokens[u].push_back(token);
            }
            st = r.status();
            log.Add(OpLog::kWait, pd, mode, token,
                    r.ok() ? (was_parked ? 1 : 0) : code_of(st));
            break;
          }
          case 2: {
            int64_t d = (rng() % 16 == 0) ? -1 : 200000;
            st = poller->SetDeadline(pd, d, mode);
            log.Add(OpLog::kDeadline, pd, mode, static_cast<uintptr_t>(d),
                    code_of(st));
            break;
          }
          default:
            if (rng() % 8 == 0) {
              st = poller->Evict(pd);
              log.Add(OpLog::kEvict, pd, mode, 0, code_of(st));
            }
        }
        int code = code_of(st);
        if (code != 0 && code != GORT_EBADF && code != GORT_ECANCELED &&
            code != GORT_ETIMEDOUT && code != GORT_EBUSY) {
          unexpected.fetch_add(1);
        }
      }
    });
  }
  auto take = [&](const PollEvent& e, OpLog& log) {
    log.Add(OpLog::kPolled, 0, e.mode, e.token, static_cast<int>(e.reason));
    if (e.token < kTokenBase || e.token >= next_token.load()) {
      unexpected.fetch_add(1);  // never issued
    }
    ++out_count[e.token];
    delivered.fetch_add(1);
  };
  threads.emplace_back([&] {
    PollEvent ev[64];
    OpLog& log = logs[kChurners + 2];
    while (!stop.load()) {
      auto n = poller->Poll(1000000, ev, 64);
      if (!n.ok()) unexpected.fetch_add(1);
      for (size_t j = 0; n.ok() && j < *n; ++j) take(ev[j], log);
    }
  });
  for (int c = 0; c < kChurners; ++c) threads[c].join();
  stop.store(true);
  for (size_t t = kChurners; t < threads.size(); ++t) threads[t].join();
  // Every pollDesc is closed: whatever was parked has come out or is queued.
  PollEvent ev[64];
  for (;;) {
    auto n = poller->Poll(0, ev, 64);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    for (size_t j = 0; j < *n; ++j) take(ev[j], logs[kChurners + 2]);
  }
  printf("churn: %d registrations closed, %" PRId64 " tokens parked, %" PRId64
         " delivered, %" PRId64 " unexpected\n",
         kChurners * kRounds, parked.load(), delivered.load(),
         unexpected.load());
  int told = 0;
  for (const auto& list : parked_tokens) {
    for (uintptr_t token : list) {
      auto it = out_count.find(token);
      int times = it == out_count.end() ? 0 : it->second;
      if (times != 1 && told++ < 5) {
        TellHistory(token, logs,
                    times == 0 ? "was parked and never handed out"
                               : "was handed out more than once");
      }
    }
  }
  for (const auto& [token, times] : out_count) {
    if (times > 1 && told++ < 5) {
      TellHistory(token, logs, "was handed out more than once");
    }
  }
  EXPECT_EQ(told, 0) << "tokens lost or duplicated (histories above)";
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(delivered.load(), parked.load());
  EXPECT_GT(parked.load(), 0);
  opened->reset();
  for (testing::Pair& p : pairs) testing::ClosePair(&p);
}
#endif

}  // namespace
}  // namespace gort
