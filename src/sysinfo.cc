// SPDX-License-Identifier: BSD-3-Clause
// Available parallelism and system facts, portable part: the OS folders
// give the affinity, the limit and the facts; the rule is applied here.
#include "gort/sysinfo.h"

#include "gort/platform.h"
#include "sysinfo_internal.h"

namespace gort {

Parallelism GetParallelism(ParallelismRule rule) {
  Parallelism p;
  p.rule = rule;
  internal::FillOsParallelism(rule, &p);
  p.available = ApplyCpuLimit(p.affinity_cpus, p.cpu_limit, rule);
  return p;
}

int AvailableParallelism(ParallelismRule rule) {
  return GetParallelism(rule).available;
}

SystemFacts GetSystemFacts() {
  SystemFacts f;
  PlatformInfo p = GetPlatformInfo();
  f.os_version = p.os_version;
  f.page_size = p.page_size;
  internal::FillOsSystemFacts(&f);
  f.parallelism = GetParallelism(ParallelismRule::kGo125);
  return f;
}

}  // namespace gort
