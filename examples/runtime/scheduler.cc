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
    pending_.store(pending_.load(std::memory_order_relaxed) + 1,
                   std::memory_order_seq_cst);
  }
  // Store pending_, then load polling_; a worker about to poll stores
  // polling_, then loads pending_ (both seq_cst): one of them sees the
  // other.
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
  pending_.store(pending_.load(std::memory_order_relaxed) - 1,
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
  // (Or Stop() ran: the loop leaves before it polls.)
  if (pending_.load(std::memory_order_relaxed) != 0) return 0;
  // They may have armed new timers, and time went on.
  next = timers_.NextWhen();
  if (next < 0) return next;
  now = gort::Nanotime();
  return next > now ? next - now : 0;
}

void Scheduler::Worker() {
  gort::PollEvent events[kPollEvents];
  // Nothing spawned: nothing to wait for. Once tasks run, the last one to
  // finish calls Stop() (TaskFinished()), so the loops need only kStopped.
  if (live_.load(std::memory_order_relaxed) != 0) {
    if (workers_ == 1) {
      WorkAlone(events);
    } else {
      WorkShared(events);
    }
  }
  // Pass the stop on to a worker still blocked in Poll().
  (void)poller_->Wake();
}

// One worker: it runs what Poll() hands out itself, without the queue's
// lock, and needs no handshake before it polls: the queue was empty just
// now, and whatever fills it from here on wakes the poller (other threads'
// Ready(), Stop()) or was done by timer waiters (RunTimers() returned 0
// then).
void Scheduler::WorkAlone(gort::PollEvent* events) {
  gort::Poller& poller = *poller_;  // kept in a register, not reloaded
  for (;;) {
    if (size_t p = pending_.load(std::memory_order_relaxed); p != 0) {
      if (p & kStopped) return;
      if (Waiter* w = PopLocked()) w->Run();
      continue;
    }
    size_t n;
    {  // scoped: the result is gone (and known OK) before the waiters run
      absl::StatusOr<size_t> got =
          poller.Poll(RunTimers(), events, kPollEvents);
      if (!got.ok()) continue;  // EINTR-like conditions: poll again
      n = *got;
    }
    // Counted down: no end pointer to compute first.
    for (gort::PollEvent* e = events; n != 0; --n, ++e) {
      reinterpret_cast<Waiter*>(e->token)->Run();
    }
  }
}

// Several workers: each event is queued for any of them, and a worker
// announces itself in polling_ before it blocks (the handshake with
// Ready(): two locked instructions per poll).
void Scheduler::WorkShared(gort::PollEvent* events) {
  for (;;) {
    if (size_t p = pending_.load(std::memory_order_relaxed); p != 0) {
      if (p & kStopped) return;
      if (Waiter* w = PopLocked()) w->Run();
      continue;
    }
    int64_t delay = RunTimers();
    // Store polling_, then load pending_ (both seq_cst), against Ready()'s
    // store of pending_, then load of polling_: either Ready() sees this
    // worker polling and wakes it, or this load sees the waiter queued
    // (or kStopped: Stop() also wakes the poller) and the poll does not
    // block.
    polling_.fetch_add(1, std::memory_order_seq_cst);
    if (pending_.load(std::memory_order_seq_cst) != 0) delay = 0;
    size_t n;
    {  // scoped, as WorkAlone()'s
      absl::StatusOr<size_t> got = poller_->Poll(delay, events, kPollEvents);
      polling_.fetch_sub(1, std::memory_order_relaxed);
      if (!got.ok()) continue;
      n = *got;
    }
    for (gort::PollEvent *e = events, *end = events + n; e != end; ++e) {
      Ready(reinterpret_cast<Waiter*>(e->token));
    }
  }
}

void Scheduler::Run() {
  {  // a new run
    std::lock_guard<std::mutex> lock(mu_);
    pending_.store(pending_.load(std::memory_order_relaxed) & ~kStopped,
                   std::memory_order_seq_cst);
  }
  worker_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  std::vector<std::thread> threads;
  for (int i = 1; i < workers_; ++i) threads.emplace_back([this] { Worker(); });
  Worker();
  for (std::thread& t : threads) t.join();
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.store(pending_.load(std::memory_order_relaxed) | kStopped,
                   std::memory_order_seq_cst);
  }
  (void)poller_->Wake();
}

void Scheduler::TaskFinished() {
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) Stop();
}

}  // namespace rt
