// SPDX-License-Identifier: BSD-3-Clause
// The timer heap's lock: Go's runtime mutex (runtime/lock_futex.go,
// Drepper's "Futexes Are Tricky" mutex 2), biased towards an owner thread
// if one is named (Go's per-P timer heaps: the P that runs a heap is the
// one that arms and stops its timers; Dice, Moir and Scherer's asymmetric
// Dekker locks in general).
//
// Without an owner: lock is one compare-and-swap and unlock one exchange,
// inline, about ten instructions against some fifty for a pthread mutex
// called through the PLT. Contended, a locker spins briefly, then parks on
// a condition variable; the word says whether anyone may be parked, so an
// uncontended unlock never touches the parking lot.
//
// With an owner, the owner's critical sections take no lock: it announces
// itself in `owner_in_` and checks that no other thread is in (`foreign_`).
// Any other thread takes the mutex (its compare-and-swap fails on the
// kOwned bit, which sends it down the slow path), announces itself in
// `foreign_` and waits until the owner is out; while one is in, the owner
// takes the mutex too. The owner pays no atomic read-modify-write where
// the OS has a process-wide barrier (HeavyBarrier: the other side pays for
// it with a system call, microseconds), and one sequentially consistent
// store instead of a compare-and-swap and an exchange elsewhere. Worth it
// where nearly every call comes from one thread, an event loop's.
//
// The store-load pairs: the owner stores owner_in_ = 1 then loads
// foreign_; another thread stores foreign_ = 1 then loads owner_in_. The
// two loads may not both miss the other side's store, or both would enter.
// With seq_cst on all four that is the single total order's guarantee;
// with the heavy barrier the owner's store and load are ordered only
// against the compiler, and the barrier, run by the other side between its
// store and its load, makes every running thread of the process execute a
// full fence there: either the owner's store came before that fence (the
// other thread sees it and waits) or its load comes after it (the owner
// sees foreign_ and backs off). Exits are release stores and the other
// side's loads acquire, so each critical section happens-before the next
// one (what ThreadSanitizer checks; it cannot check the store-load order).
//
// Written on std::atomic, so ThreadSanitizer sees it (it cannot see inside
// Debian's uninstrumented absl::Mutex). Not recursive, not fair.
#ifndef GORT_SRC_OWNER_LOCK_H_
#define GORT_SRC_OWNER_LOCK_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace gort {

class OwnerLock {
 public:
  // Holds the lock from construction to destruction; lock() and unlock()
  // let a wait release and retake it.
  class Guard {
   public:
    explicit Guard(OwnerLock& l) : l_(l) { lock(); }
    ~Guard() {
      if (mode_ != kNone) unlock();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

    void lock() {
      if (l_.owner_.load(std::memory_order_relaxed) == Self() &&
          l_.OwnerEnter()) {
        mode_ = kOwner;
        return;
      }
      uint32_t w = 0;  // free, and no owner: kOwned fails this
      if (__builtin_expect(l_.word_.compare_exchange_strong(
                               w, kHeld, std::memory_order_acquire,
                               std::memory_order_relaxed),
                           1)) {
        mode_ = kLocked;
        return;
      }
      mode_ = l_.LockSlow();
    }
    void unlock() {
      if (mode_ == kOwner) {
        l_.owner_in_.store(0, std::memory_order_release);
      } else if (mode_ != kLocked ||
                 l_.word_.exchange(0, std::memory_order_release) != kHeld) {
        l_.UnlockSlow(mode_);
      }
      mode_ = kNone;
    }

   private:
    OwnerLock& l_;
    int mode_ = kNone;
  };

  OwnerLock() = default;
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;

  // Makes the calling thread the owner (own) or leaves the lock without
  // one (!own). Only the owner changes an owned lock: returns false, and
  // changes nothing, when another thread owns it. Takes the mutex.
  //
  // Why no takeover: the owner reads owner_ before it announces itself in
  // owner_in_, with nothing between the two that another thread could
  // see. Were owner_ changed from another thread in that window, the old
  // owner would go on as owner: its owner_in_ = 1 lands after the new
  // owner's, its check of foreign_ passes, and then either both are in,
  // or its back-off store of 0 wipes out the new owner's announcement and
  // lets a third thread in. (TimerOwner.OwnerAndOtherThreadsShareTheHeap
  // caught this under TSan.) When only the owner may change owner_, it is
  // never stale for the one thread whose fast path reads it.
  bool SetOwner(bool own);

  // An address that identifies the calling thread while it lives.
  static const void* Self() { return &tls_self_; }

 private:
  // Guard modes.
  static constexpr int kNone = 0;
  static constexpr int kOwner = 1;    // in without the mutex
  static constexpr int kLocked = 2;   // the mutex; there was no owner
  static constexpr int kForeign = 3;  // the mutex, announced to the owner
  // word_ bits.
  static constexpr uint32_t kHeld = 1;     // the mutex is held
  static constexpr uint32_t kWaiters = 2;  // someone may be parked
  static constexpr uint32_t kOwned = 4;    // an owner is set

  bool OwnerEnter() {
    if (asymmetric_.load(std::memory_order_relaxed)) {
      owner_in_.store(1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      owner_in_.store(1, std::memory_order_seq_cst);
    }
    if (foreign_.load(std::memory_order_seq_cst) == 0) return true;
    owner_in_.store(0, std::memory_order_release);  // back off: the mutex
    return false;
  }
  // The mutex's contended path; then, if an owner is set, Announce().
  // Returns the Guard mode.
  int LockSlow();
  void UnlockSlow(int mode);
  void Acquire();  // the mutex, spinning then parking
  void Release();  // the mutex, keeping kOwned; wakes a parked waiter
  // With the mutex held and an owner set: tells the owner, waits until it
  // is out.
  void Announce();

  std::atomic<uint32_t> word_{0};
  std::atomic<const void*> owner_{nullptr};
  std::atomic<uint32_t> owner_in_{0};
  std::atomic<uint32_t> foreign_{0};
  // Whether the other side runs HeavyBarrier(): set with the first owner
  // and never changed (the owner reads it before it announces itself).
  std::atomic<bool> asymmetric_{false};
  // The parking lot: a waiter holds park_mu_ from setting kWaiters to its
  // wait, and Release() takes park_mu_ to notify, so no wake-up is lost.
  std::mutex park_mu_;
  std::condition_variable park_cv_;

  // Initial-exec on ELF: one instruction away instead of a __tls_get_addr
  // call from the shared library.
#if defined(__ELF__)
  __attribute__((tls_model("initial-exec")))
#endif
  static inline thread_local char tls_self_;
};

}  // namespace gort

#endif  // GORT_SRC_OWNER_LOCK_H_
