// SPDX-License-Identifier: BSD-3-Clause
// Timers: a 4-ary min-heap of deadlines with Go 1.23's semantics (Go:
// runtime/time.go, time/sleep.go).
//
// A TimerHeap holds timers. Each timer has a target: a callback run by
// Run(), or an opaque waiter token that Run() hands back to the embedder,
// the same way the netpoller hands back parked waiters. A timer is armed
// with Reset(when, period) and disarmed with Stop(); both report whether the
// timer was pending. Deadlines are Nanotime() values: never negative, so a
// negative `when` is rejected and -1 means "no deadline".
//
// Semantics (Go 1.23):
//   - Equal deadlines fire in the order they were armed (also across the
//     wrap of the internal 32-bit arming counter: live timers are renumbered
//     before it wraps).
//   - A periodic timer re-arms itself at when + k*period for the smallest k
//     that lies in the future (saturating at INT64_MAX): missed ticks are
//     skipped, never burst.
//   - Stop() and Reset() never wait (Go's Timer.Stop: "Stop does not wait
//     for f to complete"). Once they return, the previous arming neither
//     fires nor hands out its token; Stop() returning true means it
//     prevented that fire. A callback already running may still be running
//     (for a periodic timer: the tick before the one prevented).
//   - StopSync() is Stop() that also waits until the timer's callback is not
//     running. It cannot deadlock on the heap itself: called on a thread that
//     is running any timer callback (of any heap) while the target's callback
//     runs, it refuses with FailedPrecondition instead of waiting, since the
//     target's callback could be waiting for this thread (lower on the same
//     stack, or another thread's callback stopping ours: ABBA). A thread
//     outside every callback waits only for callbacks, which never wait.
//     Do not call it while holding a lock the callback takes.
//   - Remove() never waits either. If the callback is running, the timer is
//     freed when it returns; keep its `arg` alive until then (StopSync()
//     first when Remove() precedes freeing `arg`).
//   - One timer's callback never runs twice at once: a timer that comes due
//     while its callback runs (a short period, a re-arm from the callback,
//     a nested Run() on the same thread, another thread's Run()) is deferred
//     and fires when that callback has returned.
//   - Each Run() call is bounded: it fires only armings that existed when it
//     started. A timer armed or re-armed while it runs (by a callback, by
//     another thread, a periodic timer's next tick) waits for the next call,
//     even if already due; Run() then returns a deadline <= now: call again.
//     So a periodic timer fires at most once per call, and a callback that
//     re-arms its timer at `now` cannot make Run() endless.
//   - The heap must not be destroyed while a thread is in Run() or in
//     StopSync() (InUse()); destroying it from one of its own callbacks
//     aborts the process with a message rather than using freed memory.
//   - NextWhen() is the nearest deadline: it bounds the poller's wait.
//
// Timer handles carry the record's generation XORed with a per-heap salt
// (an odd multiple of the heap's serial number, so every heap of the
// process has its own), so a handle of one heap used with another gives
// NotFound rather than acting on that heap's timer: always while the
// records involved have not been reused, and afterwards unless the other
// heap's record at that index has exactly the generation the two salts map
// the handle's to.
//
// Errors: no method throws. Running out of memory gives ResourceExhausted;
// Reset(), Stop() and Run() do not allocate once the heap has grown to its
// working size (see Reserve()).
//
// Thread safety: every method may be called from any thread, concurrently
// with Run() on another. Callbacks run on the thread calling Run(), without
// the heap's lock held, so they may start, stop and reset timers (their own
// included) and call Run() again.
#ifndef GORT_GORT_TIMER_H_
#define GORT_GORT_TIMER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gort {

/// A timer's handle: its index and salted generation in its heap. 0 is
/// never valid.
using TimerId = uint64_t;

/// What a timer does when it fires.
struct TimerTarget {
  /// Called by Run() with `arg` and the `now` Run() was given; nullptr for a
  /// token timer.
  void (*fn)(void* arg, int64_t now) = nullptr;
  /// The callback's argument.
  void* arg = nullptr;
  /// For a token timer (fn == nullptr): the value Run() hands back.
  uintptr_t token = 0;
};

/// A heap of timers. See the file comment for the semantics.
class TimerHeap {
 public:
  /// An empty heap. Does not throw: if even its fixed state cannot be
  /// allocated, every method fails with ResourceExhausted.
  TimerHeap();
  /// Frees the heap and its timers. Aborts if a thread is in Run() or
  /// StopSync() (see InUse()).
  ~TimerHeap();
  TimerHeap(const TimerHeap&) = delete;
  TimerHeap& operator=(const TimerHeap&) = delete;

  /// Adds a timer, not yet armed. Returns its handle; ResourceExhausted if
  /// memory runs out.
  absl::StatusOr<TimerId> Add(TimerTarget target);

  /// Adds a timer and arms it: Go's time.NewTimer / NewTicker.
  /// InvalidArgument if `when` or `period` < 0; ResourceExhausted.
  absl::StatusOr<TimerId> Start(int64_t when, int64_t period,
                                TimerTarget target);

  /// Arms (or re-arms) timer `id` to fire at `when`, then every `period` ns
  /// if `period` > 0. Returns whether it was pending before. Never waits.
  /// NotFound for a stale, removed or other heap's handle; InvalidArgument
  /// if `when` or `period` < 0; ResourceExhausted if the heap must grow and
  /// cannot.
  absl::StatusOr<bool> Reset(TimerId id, int64_t when, int64_t period);

  /// Disarms timer `id`. Returns whether it was pending, i.e. whether this
  /// call prevented a fire. Never waits for a running callback (Go's
  /// Timer.Stop). NotFound for a stale, removed or other heap's handle.
  absl::StatusOr<bool> Stop(TimerId id);

  /// Stop(), then waits until the timer's callback is not running, like
  /// Linux's del_timer_sync(). FailedPrecondition, and nothing done, if the
  /// callback is running and the calling thread is itself running a timer
  /// callback (of any heap): that wait could deadlock. NotFound as Stop().
  absl::StatusOr<bool> StopSync(TimerId id);

  /// Stops and removes timer `id`; its handle becomes stale. Never waits:
  /// a running callback finishes, then the timer is freed. NotFound for a
  /// stale, removed or other heap's handle.
  absl::Status Remove(TimerId id);

  /// The nearest pending deadline, or -1 if no timer is pending. Lock-free
  /// and inline: one atomic load (a poller reads it on every Poll).
  int64_t NextWhen() const {
    return next_when_.load(std::memory_order_acquire);
  }

  /// Fires the timers whose deadline is <= `now` and that were armed before
  /// this call: runs callbacks and writes tokens into `tokens` (at most
  /// `capacity`; `*n` receives the count). Returns the next deadline (-1 if
  /// none). A returned deadline <= `now` means more is due (`tokens` filled
  /// up, or timers were armed while it ran): call again.
  int64_t Run(int64_t now, uintptr_t* tokens, size_t capacity, size_t* n);

  /// Run() for heaps of callback timers only (a due token timer stops it).
  int64_t Run(int64_t now) {
    size_t n;
    return Run(now, nullptr, 0, &n);
  }

  /// Whether a thread is in Run() or waiting in StopSync(): the heap must
  /// not be destroyed now.
  bool InUse() const;

  /// Number of pending timers.
  size_t pending() const;

  /// Grows the internal arrays to hold `n` timers without allocating again.
  /// ResourceExhausted if memory runs out (what was grown stays).
  absl::Status Reserve(size_t n);

  /// Bytes this heap uses now (records, heap slots, chunk table).
  size_t MemoryUsage() const;

  /// Called (without the heap's lock) when Reset or Start make the nearest
  /// deadline earlier, so a thread blocked until the old one can be woken:
  /// Go's netpollBreak on an earlier timer. May be set (or cleared with
  /// nullptr) at any time from any thread; a Reset running meanwhile calls
  /// the old hook or the new one.
  void SetEarlierHook(void (*fn)(void* arg), void* arg);

  /// How many due callbacks Run() takes from the heap before it releases
  /// its lock to run them, in deadline order (1, the default, to 64). With
  /// 1 each callback runs with the heap as Go leaves it: a Stop() from one
  /// callback keeps a later timer of the same Run() from firing. With
  /// k > 1 the timers of a batch have all fired when the first callback
  /// runs: a Stop() of a later one from an earlier one's callback reports
  /// "not pending" and its callback still runs (so a callback must not
  /// free what another callback of the same batch uses). In exchange one
  /// unlock and relock serve k callbacks. EINVAL (InvalidArgument) outside
  /// 1..64.
  absl::Status SetCallbackBatch(size_t k);

  /// Owner mode (Go's per-P timer heaps): with `own`, the calling thread
  /// becomes the heap's owner, and its calls take no lock. Other threads'
  /// calls still work: each takes the lock and waits until the owner's call
  /// under way (if any) has returned, and while one is in, the owner takes
  /// the lock too. The owner's calls then cost no atomic read-modify-write
  /// on Linux, where the other threads' calls pay a process-wide memory
  /// barrier (membarrier(2): a system call, microseconds) instead; one
  /// sequentially consistent store elsewhere. So it pays where nearly every
  /// call comes from one thread, an event loop's. Without `own`: no owner,
  /// every call takes the lock (the default).
  ///
  /// Only the owner changes an owned heap: to hand it over, the owner gives
  /// it up (`SetOwner(false)`), then the next thread takes it. From any
  /// other thread while the heap has an owner, FailedPrecondition, and
  /// nothing changes (a takeover could race with the owner's call under
  /// way, which checks ownership without synchronizing). A thread that
  /// exits as the owner leaves the heap owned: other threads' calls keep
  /// working, at the owned price, so give the heap up before the thread
  /// ends. Thread-safe.
  absl::Status SetOwner(bool own);

  /// Tests only: sets the next arming number, so the renumbering before the
  /// 32-bit counter wraps can be reached without 2^32 armings.
  void SetNextArmingForTesting(uint32_t next);

  /// Tests only: heap slots in use, live and stale (those of stopped or
  /// re-armed timers not swept out yet).
  size_t HeapSlotsForTesting() const;

  class Impl;

 private:
  // Published by the implementation under its lock; read without it.
  std::atomic<int64_t> next_when_{-1};
  std::unique_ptr<Impl> impl_;
};

}  // namespace gort

#endif  // GORT_GORT_TIMER_H_
