// SPDX-License-Identifier: BSD-3-Clause
// The embedding example: C++20 coroutines scheduled on two threads, parked
// on the netpoller with the protocol of include/gort/netpoll.h. A waiter's
// token is its coroutine handle, and it is published from await_suspend,
// i.e. once the coroutine is suspended (Go publishes a parked goroutine in
// netpollblockcommit, after it left its stack, for the same reason: another
// thread may resume it the moment it is published). If the descriptor is
// already ready, await_suspend returns false and the coroutine goes on.
#include <gtest/gtest.h>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "gort.h"
#include "gort/errno.h"
#include "gort/netpoll.h"
#include "gort/time.h"
#include "netpoll_test_util.h"

namespace gort {
namespace {

// A fire-and-forget coroutine: starts suspended, frees itself at the end.
struct Task {
  struct promise_type {
    Task get_return_object() {
      return Task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

// The scheduler: a run queue shared by the threads, fed by the poller.
class Scheduler {
 public:
  explicit Scheduler(Poller* poller) : poller_(poller) {}

  void Spawn(Task t) { Ready(t.handle); }

  void Ready(std::coroutine_handle<> h) {
    std::lock_guard<std::mutex> lock(mu_);
    runq_.push_back(h);
  }

  // Runs coroutines until `done()`; polls when the queue is empty.
  template <typename Done>
  void Run(Done done) {
    PollEvent ev[32];
    while (!done()) {
      std::coroutine_handle<> h;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!runq_.empty()) {
          h = runq_.front();
          runq_.pop_front();
        }
      }
      if (h) {
        h.resume();
        continue;
      }
      absl::StatusOr<size_t> n = poller_->Poll(10000000, ev, 32);
      if (!n.ok()) continue;
      for (size_t i = 0; i < *n; ++i) {
        Ready(std::coroutine_handle<>::from_address(
            reinterpret_cast<void*>(ev[i].token)));
      }
    }
  }

  Poller* poller() const { return poller_; }

 private:
  Poller* poller_;
  std::mutex mu_;
  std::deque<std::coroutine_handle<>> runq_;
};

// co_await WaitFor{...}: parks the coroutine until `mode` is ready, its
// deadline passes or the pollDesc closes; the status is Wait()'s error, if
// it failed at once.
struct WaitFor {
  Poller* poller;
  PollDescId pd;
  PollMode mode;
  absl::Status status = absl::OkStatus();

  bool await_ready() const noexcept { return false; }
  // Runs once the coroutine is suspended: only now may the token be
  // published. false = resume at once (ready, or an error to report).
  bool await_suspend(std::coroutine_handle<> h) {
    absl::StatusOr<WaitResult> r =
        poller->Wait(pd, mode, reinterpret_cast<uintptr_t>(h.address()));
    if (!r.ok()) {
      status = r.status();
      return false;
    }
    return *r == WaitResult::kParked;
  }
  absl::Status await_resume() const noexcept { return status; }
};

int CodeOf(const absl::Status& s) {
  auto e = Error::FromStatus(s);
  return e.has_value() ? e->code() : (s.ok() ? 0 : GORT_EUNKNOWN);
}

// Reads `want` bytes from the pair as Go's FD.Read does: prepare once, then
// read until EAGAIN (take a completed receive on Windows) and wait.
Task Reader(Scheduler* s, testing::Pair* p, PollDescId pd, int64_t want,
            std::atomic<int64_t>* received, std::atomic<int>* finished,
            std::atomic<int>* failures) {
  Poller* poller = s->poller();
  if (!poller->Prepare(pd, PollMode::kRead).ok()) failures->fetch_add(1);
  int64_t got = 0;
  while (got < want) {
    int64_t n = testing::TakeRead(*poller, pd, p);
    if (n < 0) {
      failures->fetch_add(1);
      break;
    }
    got += n;
    received->fetch_add(n);
    if (got >= want) break;
    if (!testing::StartRead(*poller, pd, p)) {
      failures->fetch_add(1);
      break;
    }
    absl::Status st = co_await WaitFor{poller, pd, PollMode::kRead};
    if (!st.ok()) {
      failures->fetch_add(1);
      break;
    }
  }
  finished->fetch_add(1);
}

// Waits for input that never comes, with a deadline: the coroutine comes
// back when it passes, and the next wait reports ETIMEDOUT.
Task Timeout(Scheduler* s, testing::Pair* p, PollDescId pd,
             std::atomic<int>* code, std::atomic<int>* finished) {
  Poller* poller = s->poller();
  (void)poller->SetDeadline(pd, 20000000, PollMode::kRead);
  absl::Status st = poller->Prepare(pd, PollMode::kRead);
  // One receive (an OVERLAPPED in flight must not be reused on Windows);
  // after the deadline wakes the coroutine, the next wait fails.
  if (st.ok() && !testing::StartRead(*poller, pd, p)) {
    st = absl::InternalError("StartRead");
  }
  while (st.ok()) st = co_await WaitFor{poller, pd, PollMode::kRead};
  code->store(CodeOf(st));
  finished->fetch_add(1);
}

TEST(NetpollEmbedding, CoroutinesParkAndResumeAcrossThreads) {
  constexpr int kPairs = 64;
  constexpr int64_t kBytesEach = 200;
  auto opened = Poller::Open();
  ASSERT_TRUE(opened.ok());
  Poller* poller = opened->get();
  Scheduler sched(poller);
  std::vector<testing::Pair> pairs(kPairs + 1);
  std::vector<PollDescId> pds(kPairs + 1);
  for (int i = 0; i <= kPairs; ++i) {
    ASSERT_TRUE(testing::MakePair(&pairs[i]));
    auto pd = poller->Register(pairs[i].a);
    ASSERT_TRUE(pd.ok());
    pds[i] = *pd;
  }
  std::atomic<int64_t> received{0};
  std::atomic<int> finished{0}, failures{0}, timeout_code{0};
  for (int i = 0; i < kPairs; ++i) {
    sched.Spawn(Reader(&sched, &pairs[i], pds[i], kBytesEach, &received,
                       &finished, &failures));
  }
  sched.Spawn(
      Timeout(&sched, &pairs[kPairs], pds[kPairs], &timeout_code, &finished));

  int64_t deadline = Nanotime() + int64_t{60} * 1000000000;
  auto done = [&] {
    return finished.load() == kPairs + 1 || Nanotime() > deadline;
  };
  std::thread t1([&] { sched.Run(done); });
  std::thread t2([&] { sched.Run(done); });
  // The writer: one byte at a time, round robin, while the readers park.
  for (int64_t k = 0; k < kBytesEach; ++k) {
    for (int i = 0; i < kPairs; ++i) {
      ASSERT_TRUE(testing::Send(pairs[i].b, "y", 1));
    }
  }
  t1.join();
  t2.join();
  EXPECT_EQ(finished.load(), kPairs + 1);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(received.load(), kPairs * kBytesEach);
  EXPECT_EQ(timeout_code.load(), GORT_ETIMEDOUT);
  for (int i = 0; i <= kPairs; ++i) {
    EXPECT_TRUE(poller->Unregister(pds[i]).ok());
  }
  opened->reset();
  for (testing::Pair& p : pairs) testing::ClosePair(&p);
}

}  // namespace
}  // namespace gort
