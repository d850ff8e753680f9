// SPDX-License-Identifier: BSD-3-Clause
// Go: internal/poll/fd_mutex.go. See fd_mutex.h.
#include "fd_mutex.h"

#include <atomic>
#include <cstdint>

#include "gort/error_codes.h"

namespace gort::internal {

int FdMutex::Begin(int dir, uintptr_t token, Op* op) {
  if (token == 0 || (dir != kRead && dir != kWrite)) return -GORT_EINVAL;
  std::atomic<uintptr_t>& slot = slot_[dir];
  if (slot.load(std::memory_order_acquire) == token) {
    // The slot's own reference keeps the count above zero, so no closer
    // can destroy the descriptor under this call.
    state_.fetch_add(kRef, std::memory_order_relaxed);
    *op = Op::kContinued;
    return 0;
  }
  uintptr_t expected = 0;
  if (!slot.compare_exchange_strong(expected, token,
                                    std::memory_order_acq_rel)) {
    return closed() ? -GORT_ECANCELED : -GORT_EBUSY;
  }
  // The slot is ours; take the call's and the slot's references unless
  // closed. Checking the bit and counting in one CAS means a closer either
  // sees our references (and leaves destroying to us) or we see its bit.
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if ((s & kClosed) != 0) {
      slot.store(0, std::memory_order_release);
      return -GORT_ECANCELED;
    }
  } while (!state_.compare_exchange_weak(
      s, s + 2 * kRef, std::memory_order_acq_rel, std::memory_order_relaxed));
  *op = Op::kStarted;
  return 0;
}

bool FdMutex::End(int dir, bool finished) {
  if (!finished) return Drop(kRef);
  slot_[dir].store(0, std::memory_order_release);
  return Drop(2 * kRef);
}

bool FdMutex::Incref() {
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if ((s & kClosed) != 0) return false;
  } while (!state_.compare_exchange_weak(s, s + kRef, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  return true;
}

bool FdMutex::Decref() { return Drop(kRef); }

bool FdMutex::IncrefAndClose() {
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if ((s & kClosed) != 0) return false;
  } while (!state_.compare_exchange_weak(s, (s | kClosed) + kRef,
                                         std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  return true;
}

bool FdMutex::Drop(uint64_t refs) {
  uint64_t old = state_.fetch_sub(refs, std::memory_order_acq_rel);
  return old - refs == kClosed;
}

}  // namespace gort::internal
