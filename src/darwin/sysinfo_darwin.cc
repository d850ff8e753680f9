// SPDX-License-Identifier: BSD-3-Clause
// macOS: hw.activecpu (Go: getncpu in os_darwin.go), hw.memsize,
// hw.cpufrequency (absent on Apple silicon), no cgroups.
#include <sys/sysctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "gort/sysinfo.h"
#include "posix/platform_posix.h"
#include "sysinfo_internal.h"

namespace gort::internal {
namespace {

template <typename T>
bool SysctlNumber(const char* name, T* v, std::string* reason) {
  size_t len = sizeof(*v);
  if (sysctlbyname(name, v, &len, nullptr, 0) == 0 && len == sizeof(*v)) {
    return true;
  }
  *reason = "sysctl ";
  *reason += name;
  *reason += ": ";
  *reason += std::strerror(errno);
  return false;
}

}  // namespace

void FillOsParallelism(ParallelismRule, Parallelism* out) {
  int32_t n = 0;
  std::string why;
  out->affinity_source = "hw.activecpu";
  if (SysctlNumber("hw.activecpu", &n, &why) && n > 0) {
    out->affinity_cpus = n;
  } else {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    out->affinity_cpus = c > 0 ? static_cast<int>(c) : 1;
    out->affinity_source = "sysconf(_SC_NPROCESSORS_ONLN)";
  }
  out->cpu_limit.state = LimitState::kNone;
  out->cpu_limit.reason = "macOS has no CPU quota for a process";
}

void FillOsSystemFacts(SystemFacts* f) {
  f->os_name = "macOS";
  f->hostname = PosixHostname(&f->hostname_reason);
  int64_t mem = 0;
  if (SysctlNumber("hw.memsize", &mem, &f->physical_memory.reason)) {
    f->physical_memory.value = mem;
    f->physical_memory.source = "hw.memsize";
  }
  f->memory_limit.state = LimitState::kNone;
  f->memory_limit.reason = "macOS has no cgroups";
  int64_t hz = 0;
  if (SysctlNumber("hw.cpufrequency", &hz, &f->cpu_freq_khz.reason) && hz > 0) {
    f->cpu_freq_khz.value = hz / 1000;
    f->cpu_freq_khz.source = "hw.cpufrequency";
  } else if (f->cpu_freq_khz.reason.empty()) {
    f->cpu_freq_khz.reason = "hw.cpufrequency is 0";
  }
}

}  // namespace gort::internal
