// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for system facts and available parallelism.
#include <cstring>
#include <string>

#include "c_strings.h"
#include "capi.h"
#include "gort.h"
#include "gort/sysinfo.h"

namespace {

using gort::capi::ExceptionToCode;
using gort::internal::CopyString;

void CopyLimit(const gort::Limit& l, gort_limit_t* out) {
  out->size = sizeof(gort_limit_t);
  out->state = static_cast<int32_t>(l.state);
  out->cgroup_version = l.cgroup_version;
  out->quota_us = l.quota_us;
  out->period_us = l.period_us;
  out->cpus = l.cpus;
  out->bytes = l.bytes;
  CopyString(out->source, l.source);
  CopyString(out->reason, l.reason);
}

bool ValidRule(int rule, gort::ParallelismRule* out) {
  if (rule == GORT_PARALLELISM_GO125) {
    *out = gort::ParallelismRule::kGo125;
  } else if (rule == GORT_PARALLELISM_LIBUV) {
    *out = gort::ParallelismRule::kLibuv;
  } else {
    return false;
  }
  return true;
}

}  // namespace

extern "C" int gort_sysinfo_query(gort_sysinfo_t* out) try {
  if (out == nullptr || out->size < sizeof(gort_sysinfo_t)) return GORT_EINVAL;
  gort::SystemFacts f = gort::GetSystemFacts();
  out->available_parallelism = f.parallelism.available;
  out->affinity_cpus = f.parallelism.affinity_cpus;
  CopyString(out->affinity_source, f.parallelism.affinity_source);
  CopyLimit(f.parallelism.cpu_limit, &out->cpu_limit);
  CopyLimit(f.memory_limit, &out->memory_limit);
  out->page_size = f.page_size;
  out->physical_memory = f.physical_memory.value;
  CopyString(out->physical_memory_reason, f.physical_memory.reason);
  out->cpu_freq_khz = f.cpu_freq_khz.value;
  CopyString(out->cpu_freq_reason, f.cpu_freq_khz.reason);
  CopyString(out->os_name, f.os_name);
  CopyString(out->os_version, f.os_version);
  CopyString(out->hostname, f.hostname);
  CopyString(out->hostname_reason, f.hostname_reason);
  return 0;
} catch (...) {
  return ExceptionToCode();
}

extern "C" int gort_available_parallelism(int rule, int32_t* out) try {
  gort::ParallelismRule r;
  if (out == nullptr || !ValidRule(rule, &r)) return GORT_EINVAL;
  *out = gort::AvailableParallelism(r);
  return 0;
} catch (...) {
  return ExceptionToCode();
}

extern "C" int gort_cgroup_cpu_limit(const char* root, int rule,
                                     gort_limit_t* out) try {
  gort::ParallelismRule r;
  if (root == nullptr || out == nullptr || out->size < sizeof(gort_limit_t) ||
      !ValidRule(rule, &r)) {
    return GORT_EINVAL;
  }
  CopyLimit(gort::ReadCgroupCpuLimit(root, r), out);
  return 0;
} catch (...) {
  return ExceptionToCode();
}

extern "C" int gort_cgroup_memory_limit(const char* root,
                                        gort_limit_t* out) try {
  if (root == nullptr || out == nullptr || out->size < sizeof(gort_limit_t)) {
    return GORT_EINVAL;
  }
  CopyLimit(gort::ReadCgroupMemoryLimit(root), out);
  return 0;
} catch (...) {
  return ExceptionToCode();
}
