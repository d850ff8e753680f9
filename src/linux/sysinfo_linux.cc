// SPDX-License-Identifier: BSD-3-Clause
// Linux: affinity CPUs bounded by the cgroup CPU quota, with the quota files
// kept open between calls (Go 1.25: runtime/cgroup_linux.go keeps its
// CgroupCPU open and re-reads it about every second), and system facts.
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "gort/sysinfo.h"
#include "posix/platform_posix.h"
#include "sysinfo_internal.h"

namespace gort::internal {
namespace {

std::mutex reader_mu;

// One reader per rule, opened on first use and kept (never destroyed, so
// that no other static's destructor races a late call).
CgroupCpuReader* Reader(ParallelismRule rule) {
  static CgroupCpuReader* readers[2] = {nullptr, nullptr};
  int i = rule == ParallelismRule::kLibuv ? 1 : 0;
  if (readers[i] == nullptr)
    readers[i] = CgroupCpuReader::Open("", rule).release();
  return readers[i];
}

int AffinityCpus() {
  // Go: getproccount in os_linux.go; a buffer big enough for 8192 CPUs.
  cpu_set_t* set = CPU_ALLOC(8192);
  if (set == nullptr) return 0;
  size_t size = CPU_ALLOC_SIZE(8192);
  int n = 0;
  if (sched_getaffinity(0, size, set) == 0) n = CPU_COUNT_S(size, set);
  CPU_FREE(set);
  return n;
}

}  // namespace

void FillOsParallelism(ParallelismRule rule, Parallelism* out) {
  out->affinity_cpus = AffinityCpus();
  out->affinity_source = "sched_getaffinity";
  if (out->affinity_cpus <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    out->affinity_cpus = n > 0 ? static_cast<int>(n) : 1;
    out->affinity_source = "sysconf(_SC_NPROCESSORS_ONLN)";
  }
  std::lock_guard<std::mutex> lock(reader_mu);
  out->cpu_limit = Reader(rule)->Read();
}

void FillOsSystemFacts(SystemFacts* f) {
  f->os_name = "Linux";
  f->hostname = PosixHostname(&f->hostname_reason);
  struct sysinfo si;
  if (sysinfo(&si) == 0) {
    f->physical_memory.value =
        static_cast<int64_t>(si.totalram) * static_cast<int64_t>(si.mem_unit);
    f->physical_memory.source = "sysinfo";
  } else {
    f->physical_memory.reason = "sysinfo: ";
    f->physical_memory.reason += std::strerror(errno);
  }
  f->memory_limit = ReadCgroupMemoryLimit("");
  f->cpu_freq_khz = ReadLinuxCpuFreq("");
}

}  // namespace gort::internal
