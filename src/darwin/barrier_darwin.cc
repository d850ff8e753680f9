// SPDX-License-Identifier: BSD-3-Clause
// HeavyBarrier() on Darwin: not available (there is no membarrier(2), and
// the mprotect and thread-suspension tricks other libraries use are not
// documented to order memory), so the owner lock uses seq_cst on both
// sides.
#include "barrier_internal.h"

namespace gort {

bool HeavyBarrierReady() { return false; }

void HeavyBarrier() {}

}  // namespace gort
