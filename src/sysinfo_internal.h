// SPDX-License-Identifier: BSD-3-Clause
// What each OS folder provides for available parallelism and system facts.
#ifndef GORT_SRC_SYSINFO_INTERNAL_H_
#define GORT_SRC_SYSINFO_INTERNAL_H_

#include "gort/sysinfo.h"

namespace gort::internal {

// Fills affinity_cpus, affinity_source and cpu_limit (the cgroup quota on
// Linux, the job object's CPU-rate cap on Windows). Never throws but for
// std::bad_alloc.
void FillOsParallelism(ParallelismRule rule, Parallelism* out);

// Fills os_name, hostname (or hostname_reason), physical_memory,
// memory_limit and cpu_freq_khz. Never throws but for std::bad_alloc.
void FillOsSystemFacts(SystemFacts* facts);

}  // namespace gort::internal

#endif  // GORT_SRC_SYSINFO_INTERNAL_H_
