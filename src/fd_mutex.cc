// SPDX-License-Identifier: BSD-3-Clause
// Go: internal/poll/fd_mutex.go. See fd_mutex.h.
#include "fd_mutex.h"

#include <atomic>
#include <cstdint>

#include "gort/error_codes.h"

namespace gort::internal {

bool FdMutex::IncrefAndClose() {
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if ((s & kOpen) == 0) return false;
  } while (!state_.compare_exchange_weak(s, (s & ~kOpen) + kRef,
                                         std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  return true;
}

}  // namespace gort::internal
