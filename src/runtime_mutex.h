// SPDX-License-Identifier: BSD-3-Clause
// A mutex for short critical sections on hot paths (Go: runtime/lock_futex.go,
// Drepper's "Futexes Are Tricky" mutex 2).
//
// Uncontended, lock is one compare-and-swap and unlock one exchange, both
// inline: about ten instructions, against some fifty for a pthread mutex
// called through the PLT (lock and unlock measured under callgrind in
// bench_timer). Contended, a locker spins briefly, then parks on a
// condition variable; the state word says whether anyone may be parked
// (2), so an uncontended unlock never touches the parking lot.
//
// Written on std::atomic, so ThreadSanitizer sees its acquire and release
// (it cannot see inside Debian's uninstrumented absl::Mutex). Not
// recursive; not fair (a thread that just unlocked may lock again before a
// woken waiter runs, as in Go's runtime). Meets BasicLockable, for
// std::lock_guard, std::unique_lock and std::condition_variable_any.
#ifndef GORT_SRC_RUNTIME_MUTEX_H_
#define GORT_SRC_RUNTIME_MUTEX_H_

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace gort {

class RuntimeMutex {
 public:
  RuntimeMutex() = default;
  RuntimeMutex(const RuntimeMutex&) = delete;
  RuntimeMutex& operator=(const RuntimeMutex&) = delete;

  void lock() {
    int unlocked = kUnlocked;
    if (__builtin_expect(state_.compare_exchange_strong(
                             unlocked, kLocked, std::memory_order_acquire,
                             std::memory_order_relaxed),
                         1)) {
      return;
    }
    LockSlow();
  }

  void unlock() {
    if (__builtin_expect(
            state_.exchange(kUnlocked, std::memory_order_release) == kContended,
            0)) {
      Wake();
    }
  }

  bool try_lock() {
    int unlocked = kUnlocked;
    return state_.compare_exchange_strong(unlocked, kLocked,
                                          std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

 private:
  static constexpr int kUnlocked = 0;
  static constexpr int kLocked = 1;     // held, nobody parked
  static constexpr int kContended = 2;  // held, someone may be parked

  void LockSlow();
  void Wake();

  std::atomic<int> state_{kUnlocked};
  // The parking lot: a waiter holds park_mu_ from its exchange to its wait,
  // and Wake() takes park_mu_ before it notifies, so no wake-up is lost
  // between a waiter's failed exchange and its wait.
  std::mutex park_mu_;
  std::condition_variable park_cv_;
};

}  // namespace gort

#endif  // GORT_SRC_RUNTIME_MUTEX_H_
