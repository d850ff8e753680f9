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
// The state word: bit 0 closed, the rest a count of references (each
// kRef). The descriptor is destroyed by whoever drops the count to zero
// with the closed bit set, exactly once.
#ifndef GORT_SRC_FD_MUTEX_H_
#define GORT_SRC_FD_MUTEX_H_

#include <atomic>
#include <cstdint>

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

  bool closed() const {
    return (state_.load(std::memory_order_acquire) & kClosed) != 0;
  }
  // The token holding `dir`'s slot, 0 if none.
  uintptr_t holder(int dir) const {
    return slot_[dir].load(std::memory_order_acquire);
  }
  // True once destroyed: closed and no reference left.
  bool idle_and_closed() const {
    return state_.load(std::memory_order_acquire) == kClosed;
  }

 private:
  static constexpr uint64_t kClosed = 1;
  static constexpr uint64_t kRef = 2;

  bool Drop(uint64_t refs);  // true: the count reached zero while closed

  std::atomic<uint64_t> state_{0};
  std::atomic<uintptr_t> slot_[2] = {};
};

}  // namespace gort::internal

#endif  // GORT_SRC_FD_MUTEX_H_
