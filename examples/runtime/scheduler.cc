// SPDX-License-Identifier: BSD-3-Clause
// The example runtime's scheduler: see scheduler.h. The loop mirrors Go's
// findRunnable (runtime/proc.go): local work first, then due timers, then
// the network poller bounded by the next timer.
#include "scheduler.h"

#include <thread>
#include <vector>

#include "gort/time.h"

namespace rt {

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(int workers) {
  absl::StatusOr<std::unique_ptr<gort::Poller>> p = gort::Poller::Open();
  if (!p.ok()) return p.status();
  return std::unique_ptr<Scheduler>(
      new Scheduler(std::move(*p), workers < 1 ? 1 : workers));
}

Scheduler::Scheduler(std::unique_ptr<gort::Poller> poller, int workers)
    : poller_(std::move(poller)), workers_(workers) {
  // Go's netpollBreak when a timer earlier than the poller's wait is armed
  // (runtime/time.go, wakeNetPoller).
  timers_.SetEarlierHook(
      [](void* p) { (void)static_cast<gort::Poller*>(p)->Wake(); },
      poller_.get());
}

Scheduler::~Scheduler() = default;

void Scheduler::Ready(Waiter* w) {
  w->next_ = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tail_ != nullptr) {
      tail_->next_ = w;
    } else {
      head_ = w;
    }
    tail_ = w;
    queued_.store(queued_.load(std::memory_order_relaxed) + 1,
                  std::memory_order_seq_cst);
  }
  // Store queued_, then load polling_; a worker about to poll stores
  // polling_, then loads queued_ (both seq_cst): one of them sees the other.
  // With one worker, a Ready() from another thread always wakes it; from
  // the worker itself (polling_ stays 0 then) it needs none.
  if (workers_ == 1 ? std::this_thread::get_id() !=
                          worker_id_.load(std::memory_order_relaxed)
                    : polling_.load(std::memory_order_seq_cst) > 0) {
    (void)poller_->Wake();
  }
}

Waiter* Scheduler::PopLocked() {
  std::lock_guard<std::mutex> lock(mu_);
  Waiter* w = head_;
  if (w == nullptr) return nullptr;
  head_ = w->next_;
  if (head_ == nullptr) tail_ = nullptr;
  queued_.store(queued_.load(std::memory_order_relaxed) - 1,
                std::memory_order_relaxed);
  return w;
}

// RunTimers() past its check: `next` is the heap's nearest deadline (>= 0).
int64_t Scheduler::RunTimersUntil(int64_t next) {
  int64_t now = gort::Nanotime();
  if (next > now) return next - now;
  uintptr_t tokens[64];
  size_t n = 0;
  (void)timers_.Run(now, tokens, 64, &n);
  for (size_t i = 0; i < n; ++i) reinterpret_cast<Waiter*>(tokens[i])->Run();
  // The waiters may have queued others from this thread, which wakes
  // nobody (one worker): then do not block.
  if (queued_.load(std::memory_order_relaxed) != 0) return 0;
  // They may have armed new timers, and time went on.
  next = timers_.NextWhen();
  if (next < 0) return next;
  now = gort::Nanotime();
  return next > now ? next - now : 0;
}

void Scheduler::Worker() {
  gort::PollEvent events[kPollEvents];
  // Read once: the compiler would reload the member around every call.
  const bool alone = workers_ == 1;
  // Nothing spawned: nothing to wait for. Once tasks run, the last one to
  // finish calls Stop() (TaskFinished()), so the loop needs only stop_.
  const bool idle = live_.load(std::memory_order_relaxed) == 0;
  while (!idle && !stop_.load(std::memory_order_relaxed)) {
    if (Waiter* w = Pop()) {
      w->Run();
      continue;
    }
    int64_t delay = RunTimers();
    // One worker: the queue was empty just now, and whatever fills it from
    // here on wakes the poller (other threads' Ready(), Stop()) or was done
    // by timer waiters (RunTimers() returned 0 then). Several: the polling_
    // handshake with Ready() (two locked instructions per poll).
    if (!alone) {
      polling_.fetch_add(1, std::memory_order_seq_cst);
      if (queued_.load(std::memory_order_seq_cst) != 0 ||
          stop_.load(std::memory_order_seq_cst)) {
        delay = 0;
      }
    }
    size_t n;
    {  // scoped: the result is gone (and known OK) before the waiters run
      absl::StatusOr<size_t> got = poller_->Poll(delay, events, kPollEvents);
      if (!alone) polling_.fetch_sub(1, std::memory_order_relaxed);
      if (!got.ok()) continue;  // EINTR-like conditions: poll again
      n = *got;
    }
    if (alone) {
      // One worker: run them here, without the queue's lock.
      for (size_t i = 0; i < n; ++i) {
        reinterpret_cast<Waiter*>(events[i].token)->Run();
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        Ready(reinterpret_cast<Waiter*>(events[i].token));
      }
    }
  }
  // Pass the stop on to a worker still blocked in Poll().
  (void)poller_->Wake();
}

void Scheduler::Run() {
  stop_.store(false, std::memory_order_seq_cst);  // a new run
  worker_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  std::vector<std::thread> threads;
  for (int i = 1; i < workers_; ++i) threads.emplace_back([this] { Worker(); });
  Worker();
  for (std::thread& t : threads) t.join();
}

void Scheduler::Stop() {
  stop_.store(true, std::memory_order_seq_cst);
  (void)poller_->Wake();
}

void Scheduler::TaskFinished() {
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) Stop();
}

}  // namespace rt
