// SPDX-License-Identifier: BSD-3-Clause
// A deliberately broken store-then-load handshake (an acq_rel CAS, then a
// relaxed load, as a careless port of SetWait would have it): ctest
// netpoll.handshake_fences_reject_a_missing_fence proves that
// check_fences.py rejects it on arm64 and riscv64, so its "ok" for the real
// handshakes means something.
#include <atomic>
#include <cstdint>

namespace gort_fixture {

__attribute__((noinline)) bool BrokenSetWait(std::atomic<uintptr_t>* g,
                                             const std::atomic<uint32_t>* info,
                                             uint32_t* out) {
  uintptr_t expected = 0;
  if (!g->compare_exchange_strong(expected, 2, std::memory_order_acq_rel,
                                  std::memory_order_relaxed)) {
    return false;
  }
  *out = info->load(std::memory_order_relaxed);
  return true;
}

}  // namespace gort_fixture
