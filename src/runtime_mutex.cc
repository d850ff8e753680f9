// SPDX-License-Identifier: BSD-3-Clause
// RuntimeMutex's contended paths (Go: runtime/lock_futex.go, lock2 and
// unlock2). See runtime_mutex.h.
#include "runtime_mutex.h"

#include <thread>

namespace gort {

void RuntimeMutex::LockSlow() {
  // Go spins a few rounds before it sleeps: the holder's critical sections
  // are short, so the lock is often free again within a few hundred
  // cycles. Only a plain load in the loop, so spinners do not steal the
  // cache line from the holder.
  for (int spin = 0; spin < 64; ++spin) {
    if (state_.load(std::memory_order_relaxed) == kUnlocked && try_lock()) {
      return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
  }
  for (int round = 0; round < 4; ++round) {
    std::this_thread::yield();
    if (state_.load(std::memory_order_relaxed) == kUnlocked && try_lock()) {
      return;
    }
  }
  // Park. Taking the lock with kContended rather than kLocked is
  // pessimistic (there may be nobody left parked), as in Drepper's mutex:
  // it costs the next unlock a needless Wake(), never a lost one.
  std::unique_lock<std::mutex> park(park_mu_);
  while (state_.exchange(kContended, std::memory_order_acquire) != kUnlocked) {
    park_cv_.wait(park);
  }
}

void RuntimeMutex::Wake() {
  // Holding park_mu_ orders this notify after a parking waiter's wait has
  // begun (or before its exchange, which then sees kUnlocked).
  std::lock_guard<std::mutex> park(park_mu_);
  park_cv_.notify_one();
}

}  // namespace gort
