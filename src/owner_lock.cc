// SPDX-License-Identifier: BSD-3-Clause
// OwnerLock's slow paths (Go: runtime/lock_futex.go, lock2 and unlock2).
// See owner_lock.h for the protocol and the argument for its memory
// orders.
#include "owner_lock.h"

#include <thread>

#include "barrier_internal.h"

namespace gort {
namespace {

void Pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace

void OwnerLock::Acquire() {
  // Go spins a few rounds before it sleeps: critical sections are short,
  // so the mutex is often free again within a few hundred cycles. Only a
  // plain load in the loop, so spinners do not steal the line from the
  // holder.
  for (int spin = 0; spin < 64 + 4; ++spin) {
    uint32_t w = word_.load(std::memory_order_relaxed);
    if ((w & kHeld) == 0 &&
        word_.compare_exchange_weak(w, w | kHeld, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
      return;
    }
    if (spin < 64) {
      Pause();
    } else {
      std::this_thread::yield();
    }
  }
  // Park. Taking the mutex with kWaiters set is pessimistic (nobody may be
  // left parked), as in Drepper's mutex: it costs the next unlock a
  // needless wake-up, never a lost one.
  std::unique_lock<std::mutex> park(park_mu_);
  for (;;) {
    uint32_t w = word_.load(std::memory_order_relaxed);
    if ((w & kHeld) == 0) {
      if (word_.compare_exchange_weak(w, w | kHeld | kWaiters,
                                      std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return;
      }
      continue;
    }
    if ((w & kWaiters) == 0 &&
        !word_.compare_exchange_weak(w, w | kWaiters, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      continue;
    }
    park_cv_.wait(park);
  }
}

void OwnerLock::Release() {
  uint32_t prev = word_.fetch_and(kOwned, std::memory_order_release);
  if ((prev & kWaiters) != 0) {
    // Holding park_mu_ orders this notify after a parking waiter's wait
    // has begun (or before it set kWaiters, and it then sees the mutex
    // free).
    std::lock_guard<std::mutex> park(park_mu_);
    park_cv_.notify_one();
  }
}

void OwnerLock::Announce() {
  foreign_.store(1, std::memory_order_seq_cst);
  if (asymmetric_.load(std::memory_order_relaxed)) HeavyBarrier();
  // The owner's critical sections never wait (the callers' contract), so
  // this ends within one of them.
  for (int spin = 0; owner_in_.load(std::memory_order_seq_cst) != 0; ++spin) {
    if (spin < 128) {
      Pause();
    } else {
      std::this_thread::yield();
    }
  }
}

int OwnerLock::LockSlow() {
  Acquire();
  if ((word_.load(std::memory_order_relaxed) & kOwned) == 0) return kLocked;
  Announce();
  return kForeign;
}

void OwnerLock::UnlockSlow(int mode) {
  // kLocked lands here after its exchange found kWaiters: the mutex is
  // free already, only the wake-up is left (kOwned cannot have been set
  // meanwhile: SetOwner holds the mutex to set it).
  if (mode == kLocked) {
    std::lock_guard<std::mutex> park(park_mu_);
    park_cv_.notify_one();
    return;
  }
  foreign_.store(0, std::memory_order_release);
  Release();
}

bool OwnerLock::SetOwner(bool own) {
  // Decided before the first owner exists and never changed: the owner
  // reads asymmetric_ without the lock.
  static const bool asymmetric = HeavyBarrierReady();
  Acquire();
  const void* owner = owner_.load(std::memory_order_relaxed);
  if (owner != nullptr && owner != Self()) {
    Release();
    return false;
  }
  // No Announce(): with no owner nobody is in without the mutex, and an
  // owner that is the caller is not in either, it is here.
  if (asymmetric_.load(std::memory_order_relaxed) != asymmetric) {
    asymmetric_.store(asymmetric, std::memory_order_relaxed);
  }
  owner_.store(own ? Self() : nullptr, std::memory_order_relaxed);
  if (own) {
    word_.fetch_or(kOwned, std::memory_order_relaxed);
  } else {
    word_.fetch_and(~kOwned, std::memory_order_relaxed);
  }
  Release();
  return true;
}

}  // namespace gort
