// Timers: a 4-ary min-heap of deadlines with Go 1.23's semantics (Go:
// runtime/time.go).
//
// A TimerHeap holds timers. Each timer has a target: a callback run by
// Run(), or an opaque waiter token that Run() hands back to the embedder,
// the same way the netpoller hands back parked waiters. A timer is armed
// with Reset(when, period) and disarmed with Stop(); both report whether the
// timer was pending. Deadlines are Nanotime() values.
//
// Semantics (Go 1.23):
//   - Equal deadlines fire in the order they were armed.
//   - A periodic timer re-arms itself at when + k*period for the smallest k
//     that lies in the future: missed ticks are skipped, never burst.
//   - Nothing fires after Stop() or Reset() has returned: once they return,
//     the previous arming's callback is neither running (unless Stop is
//     called from that callback itself) nor will it run, and its token is
//     not handed out. Stop() may therefore wait for a callback running on
//     another thread, like Linux's del_timer_sync(): do not call it while
//     holding a lock that callback takes.
//   - NextWhen() is the nearest deadline: it bounds the poller's wait.
//
// Structure: slots of {when, arming order, timer index} (16 bytes) in a
// 4-ary heap laid out so each node's four children share a cache line, the
// deadline cached in the slot as Go 1.23 does; Stop() and Reset() only bump
// the timer's arming number, so the old slot goes stale in O(1) and is
// dropped when it surfaces or when stale slots outnumber live ones (Go's
// zombies). Per timer, what Stop() and the liveness checks read (arming,
// generation, flags: 8 bytes) is kept apart from what firing reads
// (target and period: 32 bytes), so the former stays in cache at a million
// timers. Both live in chunks that never move, so a handle stays checkable
// (index + generation) after the timer is removed. A live timer costs 56
// bytes.
//
// Thread safety: every method may be called from any thread, concurrently
// with Run() on another. Callbacks run on the thread calling Run(), without
// the heap's lock held, so they may start, stop and reset timers (their own
// included). Hot paths (Reset, Stop, Run) do not allocate once the heap has
// grown to its working size (see Reserve()).
#ifndef GORT_GORT_TIMER_H_
#define GORT_GORT_TIMER_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gort {

/// A timer's handle: its index and generation in its heap. 0 is never valid.
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
  TimerHeap();
  ~TimerHeap();
  TimerHeap(const TimerHeap&) = delete;
  TimerHeap& operator=(const TimerHeap&) = delete;

  /// Adds a timer, not yet armed. Returns its handle.
  TimerId Add(TimerTarget target);

  /// Adds a timer and arms it: Go's time.NewTimer / NewTicker.
  /// InvalidArgument if `period` < 0.
  absl::StatusOr<TimerId> Start(int64_t when, int64_t period,
                                TimerTarget target);

  /// Arms (or re-arms) timer `id` to fire at `when`, then every `period` ns
  /// if `period` > 0. Returns whether it was pending before.
  /// NotFound for a stale or removed handle; InvalidArgument if `period` < 0.
  absl::StatusOr<bool> Reset(TimerId id, int64_t when, int64_t period);

  /// Disarms timer `id`. Returns whether it was pending. NotFound for a stale
  /// or removed handle.
  absl::StatusOr<bool> Stop(TimerId id);

  /// Stops and removes timer `id`; its handle becomes stale. NotFound for a
  /// stale or removed handle.
  absl::Status Remove(TimerId id);

  /// The nearest pending deadline, or -1 if no timer is pending. Lock-free.
  int64_t NextWhen() const {
    return next_when_.load(std::memory_order_acquire);
  }

  /// Fires every timer whose deadline is <= `now`: runs callbacks and writes
  /// tokens into `tokens` (at most `capacity`; `*n` receives the count).
  /// Returns the next deadline (-1 if none). If `tokens` filled up before
  /// every due timer fired, the returned deadline is <= `now`: call again.
  int64_t Run(int64_t now, uintptr_t* tokens, size_t capacity, size_t* n);

  /// Run() for heaps of callback timers only (a due token timer stops it).
  int64_t Run(int64_t now) {
    size_t n;
    return Run(now, nullptr, 0, &n);
  }

  /// Number of pending timers.
  size_t pending() const;

  /// Grows the internal arrays to hold `n` timers without allocating again.
  void Reserve(size_t n);

  /// Bytes this heap uses now (records, heap slots, chunk table).
  size_t MemoryUsage() const;

  /// Called (without the heap's lock) when Reset or Start make the nearest
  /// deadline earlier, so a thread blocked until the old one can be woken:
  /// Go's netpollBreak on an earlier timer. Set it before using the heap.
  void SetEarlierHook(void (*fn)(void* arg), void* arg) {
    earlier_fn_ = fn;
    earlier_arg_ = arg;
  }

 private:
  struct Meta;
  struct Record;
  struct Chunk;
  struct Slot {
    int64_t when;
    uint32_t order;  // arming order: FIFO among equal deadlines
    uint32_t index;  // record index
  };
  struct Running {  // a record whose callback runs now, and how many times
    uint32_t index;
    uint32_t count;
  };
  static constexpr int kChunkShift = 12;  // 4096 records per chunk
  // Slot i lives at slots_[i + kPad]: with a 64-byte aligned base, the four
  // children of every node share one cache line.
  static constexpr size_t kPad = 3;

  // The private helpers run with mu_ held.
  Meta* Lookup(TimerId id);
  Meta& M(uint32_t index) const;
  Record& R(uint32_t index) const;
  Slot& H(size_t i) const { return slots_[i + kPad]; }
  bool Live(const Slot& s) const;
  static bool Less(const Slot& a, const Slot& b);
  void Grow(size_t need);
  void Push(Slot s);
  void PopTop();
  void SiftUp(size_t i);
  void SiftDown(size_t i);
  void Disarm(Meta& m);
  void Clean();
  void Publish();
  uint32_t RunningCount(uint32_t index) const;
  void WaitNotRunning(std::unique_lock<std::mutex>& lock, uint32_t index);
  void Free(uint32_t index);
  uint32_t NewRecord();

  // std::mutex rather than absl::Mutex: Debian's Abseil is not built with
  // TSan, which then cannot see absl::Mutex's synchronization. Everything
  // below up to next_when_ is guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable done_running_;
  Slot* slots_ = nullptr;  // the heap: size_ slots from H(0)
  size_t size_ = 0;
  size_t cap_ = 0;
  std::vector<std::unique_ptr<Chunk>> chunks_;
  std::vector<Running> running_;  // callbacks running now (usually empty)
  uint32_t records_ = 0;          // records handed out
  uint32_t free_head_ = 0;        // 1-based; 0 = none
  uint32_t order_ = 0;            // next arming number
  size_t pending_ = 0;            // live slots
  std::atomic<int64_t> next_when_{-1};
  void (*earlier_fn_)(void*) = nullptr;
  void* earlier_arg_ = nullptr;
};

}  // namespace gort

#endif  // GORT_GORT_TIMER_H_
