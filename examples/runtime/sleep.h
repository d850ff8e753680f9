// SPDX-License-Identifier: BSD-3-Clause
// `co_await rt::Sleep(sched, d)`: Go's time.Sleep on the example runtime
// (runtime/time.go's timeSleep: a timer whose firing readies the goroutine).
//
// A token timer on the scheduler's TimerHeap: its token is the task's
// promise (task.h), so the worker that runs the due timer resumes the task.
// Arming a timer earlier than the one a worker's Poll() waits for wakes the
// poller (the heap's earlier hook, set by the Scheduler). The timer is created
// unarmed first, so its handle is stored before arming: once Reset()
// returns, the timer may already have fired on another worker, and the
// awaitable must not be touched by this thread any more.
#ifndef GORT_EXAMPLES_RUNTIME_SLEEP_H_
#define GORT_EXAMPLES_RUNTIME_SLEEP_H_

#include <coroutine>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gort/time.h"
#include "gort/timer.h"
#include "scheduler.h"
#include "task.h"

namespace rt {

class SleepAwait {
 public:
  SleepAwait(Scheduler& s, absl::Duration d)
      : sched_(s),
        ns_(absl::ToInt64Nanoseconds(absl::Ceil(d, absl::Nanoseconds(1)))) {}
  SleepAwait(const SleepAwait&) = delete;
  SleepAwait& operator=(const SleepAwait&) = delete;

  bool await_ready() const noexcept { return ns_ <= 0; }
  bool await_suspend(std::coroutine_handle<Task::promise_type> h) {
    gort::TimerTarget t;
    t.token = reinterpret_cast<uintptr_t>(static_cast<Waiter*>(&h.promise()));
    absl::StatusOr<gort::TimerId> id = sched_.timers().Add(t);
    if (!id.ok()) {
      status_ = id.status();
      return false;
    }
    id_ = *id;
    int64_t now = gort::Nanotime();
    int64_t when = ns_ > INT64_MAX - now ? INT64_MAX : now + ns_;
    absl::StatusOr<bool> armed = sched_.timers().Reset(*id, when, 0);
    if (!armed.ok()) {  // not armed: nobody else can run us
      status_ = armed.status();
      return false;
    }
    return true;
  }
  // OK, or why the timer could not be armed (out of memory).
  absl::Status await_resume() {
    if (id_ != 0) (void)sched_.timers().Remove(id_);
    return status_;
  }

 private:
  Scheduler& sched_;
  int64_t ns_;
  gort::TimerId id_ = 0;
  absl::Status status_;
};

// Suspends the calling task for `d` (not at all if d <= 0).
inline SleepAwait Sleep(Scheduler& s, absl::Duration d) {
  return SleepAwait(s, d);
}

}  // namespace rt

#endif  // GORT_EXAMPLES_RUNTIME_SLEEP_H_
