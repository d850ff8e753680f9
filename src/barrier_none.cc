// SPDX-License-Identifier: BSD-3-Clause
// HeavyBarrier() where gort has none (Darwin, Windows): callers use
// sequentially consistent fences on both sides instead. Windows'
// FlushProcessWriteBuffers() would serve; it is not used yet because Wine,
// where gort's Windows tests run, cannot show that it works.
#include "barrier_internal.h"

namespace gort {

bool HeavyBarrierReady() { return false; }

void HeavyBarrier() {}

}  // namespace gort
