// SPDX-License-Identifier: BSD-3-Clause
// Go's fdMutex (internal/poll/fd_mutex.go), for re-entrant operations.
//
// Go's fdMutex counts references (calls in flight), serialises readers and
// writers by blocking them, and carries the closing bit. gort's operations
// never block, so an operation that parks keeps its direction's slot, named
// by its token, across calls: the same token continues it, another gets
// EBUSY. A claimed slot holds a reference, like a Go goroutine blocked in
// waitRead holds its rwlock, so the descriptor is destroyed (closed) only
// once every call has returned and every operation has ended.
//
// The state word: bit 0 open, bits 1 and 2 the read and write slots
// held, the rest a count of references (each kRef). Go's word has a
// closed bit (mutexClosed), set by close; gort's bit is set from the
// start and cleared by close, so that a closed mutex with no reference
// left is the word 0 (a held slot holds a reference, so its bit is clear
// by then): releasing references is one atomic subtract whose result's
// zero flag says whether the caller now destroys the descriptor (one
// `lock sub` and a branch on x86-64, where Go's test of the closed bit
// after the subtract needs the old value back and a compare). Claiming a slot
// sets its bit and takes the call's and the slot's references in one CAS that
// also checks the closed bit, so a new operation costs one atomic
// read-modify-write to begin and one to end; the holder's token is stored
// beside the word (slot_) once the slot is claimed, and cleared before the
// slot's bit is. TryStart() claims a slot without naming its token: most
// operations end in the call that began them, and only one that may be
// continued (one about to park) needs its token in slot_ (Name()). The
// descriptor is destroyed by whoever drops the count to
// zero with the open bit clear (the word to 0), exactly once (a held slot holds
// a reference, so its bit is clear by then).
#ifndef GORT_SRC_FD_MUTEX_H_
#define GORT_SRC_FD_MUTEX_H_

#include <atomic>
#include <cstdint>

#include "gort/error_codes.h"

namespace gort::internal {

class FdMutex {
 public:
  // Directions (slots).
  static constexpr int kRead = 0;
  static constexpr int kWrite = 1;

  // What Begin() found.
  enum class Op {
    kStarted,    // a new operation: the slot is now `token`'s
    kContinued,  // the operation `token` already held the slot
  };

  // Begins a call of the operation `token` in direction `dir`. Takes a
  // reference for the call and, for a new operation, one for the slot.
  // 0 and *op set, or -GORT_ECANCELED (closed, and `token` holds no slot),
  // -GORT_EBUSY (another operation holds the slot). A continued operation
  // is admitted even when closed: it must be able to end (and, on Windows,
  // to collect its cancelled completion).
  int Begin(int dir, uintptr_t token, Op* op);

  // Begin()'s common case alone: a new operation on a descriptor that is
  // open and whose `dir` slot is free, claimed in one CAS. False, with
  // nothing changed, in every other case -- closed, the slot held (by
  // another operation or by the caller's own), or the CAS lost a race --
  // and the caller then asks Begin(), which decides. The slot is claimed
  // unnamed (slot_ stays 0, which no token equals): until the holder calls
  // Name(), a Begin() with its token finds the slot busy, as it would any
  // other (a token is continued only once its operation parked). An
  // operation that ends in this call ends with Finish(); one that may be
  // continued calls Name() first, before its token can be published, and
  // then ends with End() like any other.
  bool TryStart(int dir);
  // Names the slot claimed by TryStart() after `token` (Begin() does it
  // itself). For the holder only; the same token again is harmless.
  // Ordering: the release store is sequenced before the CAS that
  // publishes the token (PollDesc::Block, seq_cst), which Poll() reads
  // with acquire before it hands the token out; so whoever continues the
  // operation with it finds it here (Begin()'s acquire load).
  void Name(int dir, uintptr_t token) {
    slot_[dir].store(token, std::memory_order_release);
  }
  // End(dir, true) for a slot never named: there is no token to clear.
  [[nodiscard]] bool Finish(int dir);

  // Ends a call begun by Begin(). `finished`: the operation returned done or
  // an error, which frees the slot. True if the caller must now destroy
  // the descriptor (the last reference of a closed Fd).
  [[nodiscard]] bool End(int dir, bool finished);

  // A reference for a call that holds no slot (SetDeadline, Shutdown,
  // Bind, ...): false if closed. Go's incref.
  bool Incref();
  // Drops it; true if the caller must now destroy the descriptor.
  [[nodiscard]] bool Decref();

  // Go's increfAndClose: sets the closed bit and takes a reference; false
  // (nothing changed) if it was already closed. The caller evicts the
  // waiters, then calls Decref().
  bool IncrefAndClose();

  // The token holding `dir`'s slot; for its holder (the call that began or
  // continued it), which knows the answer but need not keep it at hand.
  uintptr_t holder(int dir) const {
    return slot_[dir].load(std::memory_order_relaxed);
  }

  bool closed() const {
    return (state_.load(std::memory_order_acquire) & kOpen) == 0;
  }
  // Whether an operation holds `dir`'s slot. Read after IncrefAndClose(),
  // it is exact: a Begin() that claimed the slot before the close set its
  // bit in the same word, and every Begin() after the close fails.
  bool held(int dir) const {
    return (state_.load(std::memory_order_acquire) & HeldBit(dir)) != 0;
  }
  // True once destroyed: closed and no reference left.
  bool idle_and_closed() const {
    return state_.load(std::memory_order_acquire) == 0;
  }

 private:
  static constexpr uint64_t kOpen = 1;  // Go's mutexClosed, inverted
  static constexpr uint64_t kHeldRead = 2;
  static constexpr uint64_t kHeldWrite = 4;
  static constexpr uint64_t kRef = 8;
  static constexpr uint64_t HeldBit(int dir) {
    return dir == kRead ? kHeldRead : kHeldWrite;
  }

  bool Drop(uint64_t refs);  // true: the count reached zero while closed

  std::atomic<uint64_t> state_{kOpen};
  std::atomic<uintptr_t> slot_[2] = {};
};

// TryStart (or Begin), End, Incref, Decref and Drop run on every Read,
// Write and WaitRead: defined here so the FD layer inlines them.
inline int FdMutex::Begin(int dir, uintptr_t token, Op* op) {
  if (token == 0 || (dir != kRead && dir != kWrite)) return -GORT_EINVAL;
  std::atomic<uintptr_t>& slot = slot_[dir];
  if (slot.load(std::memory_order_acquire) == token) {
    // The slot's own reference keeps the count above zero, so no closer
    // can destroy the descriptor under this call.
    state_.fetch_add(kRef, std::memory_order_relaxed);
    *op = Op::kContinued;
    return 0;
  }
  // Claim the slot and take the call's and the slot's references unless
  // closed or held. Checking the bits and counting in one CAS means a
  // closer either sees our references and slot (and leaves destroying to
  // us) or we see its bit.
  const uint64_t held = HeldBit(dir);
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if ((s & kOpen) == 0) return -GORT_ECANCELED;
    if ((s & held) != 0) return -GORT_EBUSY;
  } while (!state_.compare_exchange_weak(s, s + 2 * kRef + held,
                                         std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  // Ours alone until End(): nobody else stores it while the bit is set.
  slot.store(token, std::memory_order_release);
  *op = Op::kStarted;
  return 0;
}

inline bool FdMutex::TryStart(int dir) {
  const uint64_t held = HeldBit(dir);
  // Open and free: then nobody holds the slot, so no token can be
  // continuing an operation (Begin()'s first test), and this is Begin()'s
  // CAS with its tests already passed. The tests are the CAS's own: it
  // expects the word read with the open bit set and the slot's clear,
  // which it is not when closed or held (then it fails, as it does when
  // it lost a race). A failed CAS changed nothing.
  uint64_t s = (state_.load(std::memory_order_relaxed) | kOpen) & ~held;
  return state_.compare_exchange_strong(s, s + 2 * kRef + held,
                                        std::memory_order_acq_rel,
                                        std::memory_order_relaxed);
}

inline bool FdMutex::Finish(int dir) { return Drop(2 * kRef + HeldBit(dir)); }

inline bool FdMutex::End(int dir, bool finished) {
  if (!finished) return Drop(kRef);
  // The token goes before the bit: the next holder's store comes after
  // its CAS, which reads our release of the bit.
  slot_[dir].store(0, std::memory_order_release);
  return Drop(2 * kRef + HeldBit(dir));
}

inline bool FdMutex::Incref() {
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if ((s & kOpen) == 0) return false;
  } while (!state_.compare_exchange_weak(s, s + kRef, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  return true;
}

inline bool FdMutex::Decref() { return Drop(kRef); }

// The word reaches 0 only closed with no reference left (see the top):
// the subtract's own zero flag.
inline bool FdMutex::Drop(uint64_t refs) {
  return state_.fetch_sub(refs, std::memory_order_acq_rel) == refs;
}

}  // namespace gort::internal

#endif  // GORT_SRC_FD_MUTEX_H_
