// SPDX-License-Identifier: BSD-3-Clause
// The example runtime's scheduler: a run queue of waiters, N worker threads,
// and the netpoller and a gort timer heap driven together (Go:
// runtime/proc.go's findRunnable, which runs due timers, then polls the
// network bounded by the next timer).
//
// A Waiter is anything the scheduler can run: a task to start or resume
// (its promise), an I/O operation to call again, a sleep that ended. Its
// address is the token it parks with, on the poller (Fd operations) and on
// the timer heap (sleeps), so a token handed back is the Waiter to run.
// Nothing here allocates per step: the run queue is an intrusive list
// through the waiters.
//
// A worker's loop: run the queue; when it is empty, run due timers, then
// Poll() with the delay to the next timer (-1, endless, when none is armed:
// no clock read then; 0 when due timers' waiters just queued more), and run
// what comes out. A timer armed earlier than the one a blocked worker waits
// for wakes the poller (TimerHeap's earlier hook); so does a waiter queued
// from another thread while a worker polls.
#ifndef GORT_EXAMPLES_RUNTIME_SCHEDULER_H_
#define GORT_EXAMPLES_RUNTIME_SCHEDULER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "gort/netpoll.h"
#include "gort/timer.h"

namespace rt {

// Something the scheduler runs. Its address is its token: it must stay put
// while parked (a coroutine frame or an awaitable inside one does).
// A plain function pointer rather than a virtual call: a waiter is a few
// words inside a coroutine frame.
class Waiter {
 public:
  explicit Waiter(void (*run)(Waiter*)) : run_(run) {}
  // A waiter whose function is set later (set_run(), before it is first
  // handed out): an awaitable that usually finishes without waiting
  // stores nothing until it waits.
  Waiter() {}
  void set_run(void (*run)(Waiter*)) { run_ = run; }
  void Run() { run_(this); }

 private:
  friend class Scheduler;
  void (*run_)(Waiter*);
  // The run queue's link: set by Ready(), so a waiter built for every
  // co_await need not store it.
  Waiter* next_;
};

class Scheduler {
 public:
  // A scheduler with its own poller; `workers` threads run it (Run()).
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(int workers = 1);
  ~Scheduler();

  gort::Poller& poller() { return *poller_; }
  gort::TimerHeap& timers() { return timers_; }

  // Queues `w` to run on a worker. Any thread.
  void Ready(Waiter* w);

  // Runs the workers (this thread and workers-1 more) until Stop() or until
  // every task spawned has finished (see task.h). Returns after all workers
  // have left. It may be called again (a new run: tasks spawned meanwhile
  // start then).
  void Run();
  // Makes Run() return once every worker is between two waiters. Coroutines
  // still parked are not resumed: finish them first (close their Fds).
  void Stop();

  // Task accounting (task.h): Run() ends when the count drops to 0.
  void TaskStarted() { live_.fetch_add(1, std::memory_order_relaxed); }
  void TaskFinished();

 private:
  explicit Scheduler(std::unique_ptr<gort::Poller> poller, int workers);
  // The worker loop, one version per mode, so that neither tests the mode
  // on every turn: Worker() picks one.
  void Worker();
  void WorkAlone(gort::PollEvent* events);
  void WorkShared(gort::PollEvent* events);
  // Takes the queue's head (nullptr if another worker took it first).
  Waiter* PopLocked();
  // Runs due timers' waiters; returns the delay Poll() may wait.
  int64_t RunTimers() {
    int64_t next = timers_.NextWhen();
    // No timer (-1): no clock read, an endless wait. Returned as it is, so
    // the compiler need not make the constant.
    if (next < 0) return next;
    return RunTimersUntil(next);
  }
  int64_t RunTimersUntil(int64_t next);

  // Events one Poll() may hand out: enough for a busy poll's batch, small
  // enough for a worker's stack (16 bytes each).
  static constexpr size_t kPollEvents = 128;

  std::unique_ptr<gort::Poller> poller_;
  gort::TimerHeap timers_;
  const int workers_;

  std::mutex mu_;
  Waiter* head_ = nullptr;  // run queue, FIFO
  Waiter* tail_ = nullptr;
  // The queue's length, read without the lock, plus kStopped once Stop()
  // ran (until the next Run()): so the worker loop's one load of it tells
  // "run a waiter", "leave" and "poll" apart. Written under mu_ only.
  std::atomic<size_t> pending_{0};
  static constexpr size_t kStopped = size_t{1} << (sizeof(size_t) * 8 - 1);

  std::atomic<int> polling_{0};  // workers in Poll() now (workers_ > 1)
  // Run()'s thread (the only worker when workers_ == 1).
  std::atomic<std::thread::id> worker_id_{};
  std::atomic<int64_t> live_{0};  // tasks started and not finished
};

}  // namespace rt

#endif  // GORT_EXAMPLES_RUNTIME_SCHEDULER_H_
