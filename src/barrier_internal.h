// SPDX-License-Identifier: BSD-3-Clause
// A process-wide memory barrier, for asymmetric fences: a thread on a hot
// path orders its own store and load with a compiler barrier only, and the
// rare thread on the other side pays for a barrier on every CPU running
// the process (Linux: membarrier(2), MEMBARRIER_CMD_PRIVATE_EXPEDITED; the
// same tool as liburcu's and folly's asymmetricHeavyBarrier).
#ifndef GORT_SRC_BARRIER_INTERNAL_H_
#define GORT_SRC_BARRIER_INTERNAL_H_

namespace gort {

// Whether HeavyBarrier() works in this process. The first call registers
// the process for it (Linux 4.14 and later); false where the OS has no such
// barrier (here: Darwin, Windows) or the kernel refuses, and then callers
// fall back to sequentially consistent fences on both sides.
bool HeavyBarrierReady();

// Returns once every thread of the process has executed a full memory
// barrier since the call began: a store another thread made before that
// point is visible to the caller, and a load that thread makes after it
// sees what the caller stored before the call. Only after
// HeavyBarrierReady() returned true.
void HeavyBarrier();

}  // namespace gort

#endif  // GORT_SRC_BARRIER_INTERNAL_H_
