// SPDX-License-Identifier: BSD-3-Clause
// HeavyBarrier() on Linux: membarrier(2) with the private expedited
// command, which interrupts only the CPUs running this process's threads
// (microseconds, not the grace period of MEMBARRIER_CMD_GLOBAL).
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "barrier_internal.h"

namespace gort {
namespace {

long Membarrier(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }

// 0: not asked yet; 1: ready; 2: unavailable.
std::atomic<int> g_ready{0};

}  // namespace

bool HeavyBarrierReady() {
  int ready = g_ready.load(std::memory_order_acquire);
  if (ready == 0) {
    // Registering twice is harmless, so racing first callers need no lock.
    long cmds = Membarrier(MEMBARRIER_CMD_QUERY);
    bool ok = cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
              Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
    ready = ok ? 1 : 2;
    g_ready.store(ready, std::memory_order_release);
  }
  return ready == 1;
}

void HeavyBarrier() {
  // Cannot fail once registered (EINTR is not among its errors).
  (void)Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

}  // namespace gort
