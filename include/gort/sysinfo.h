// SPDX-License-Identifier: BSD-3-Clause
// Container-aware available parallelism and system facts that never crash.
//
// Linux: the CPUs of the affinity mask, bounded by the cgroup v1/v2 CPU
// quota found through /proc/self/cgroup and /proc/self/mountinfo (Go 1.25's
// internal/runtime/cgroup and runtime/cgroup_linux.go; libuv's
// uv_available_parallelism). Windows: processors of all groups, the process
// affinity, and the job object's hard CPU-rate cap. Darwin: hw.activecpu.
//
// The cgroup logic is portable: it reads files below a "filesystem root", so
// tests point it at fake trees and it compiles (and runs) on every target.
//
// Thread safety: every function may be called from any thread; a
// CgroupCpuReader is used by one thread at a time.
#ifndef GORT_GORT_SYSINFO_H_
#define GORT_GORT_SYSINFO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gort {

/// How a cgroup CPU quota bounds the affinity CPU count.
enum class ParallelismRule {
  /// Go 1.25 (the default): the leaf cgroup's quota only;
  /// min(affinity, max(ceil(quota/period), 2)).
  kGo125 = 0,
  /// libuv: the tightest quota of the leaf and its ancestors up to the
  /// mount; min(affinity, ceil(quota/period)), at least 1.
  kLibuv = 1,
};

/// Whether a limit applies, and if it cannot be told, why.
enum class LimitState {
  kUnknown = 0,  ///< could not be read (missing, malformed): see reason
  kNone = 1,     ///< readable, and no limit applies ("max", -1)
  kLimited = 2,  ///< a limit applies
};

/// A CPU or memory limit and where it came from.
struct Limit {
  LimitState state = LimitState::kUnknown;  ///< whether a limit applies
  int cgroup_version = 0;  ///< 1 or 2 when found in a cgroup; 0 otherwise
  int64_t quota_us = -1;   ///< CPU: the quota per period (us); -1 if none
  int64_t period_us = 0;   ///< CPU: the period (us); 0 if none
  double cpus = 0;         ///< CPU: quota/period in CPUs; 0 if none
  int64_t bytes = -1;      ///< memory: the limit in bytes; -1 if none
  std::string source;      ///< the file (or API) that gave the answer
  std::string reason;      ///< why unknown or none, in words
};

/// Keeps the cgroup CPU files open (close-on-exec) so that Read() costs a
/// pread per file, as Go's runtime re-reads its limit about every second.
class CgroupCpuReader {
 public:
  /// Finds the process's CPU cgroup below filesystem root `root` ("" or "/"
  /// for the real one): reads root/proc/self/cgroup and
  /// root/proc/self/mountinfo once, then opens the quota files. Never
  /// throws but for std::bad_alloc; what it could not find shows in Read().
  static std::unique_ptr<CgroupCpuReader> Open(std::string_view root,
                                               ParallelismRule rule);
  virtual ~CgroupCpuReader() = default;
  /// Re-reads the quota from the descriptors kept open.
  virtual Limit Read() = 0;
};

/// CgroupCpuReader::Open(root, rule)->Read(), once.
Limit ReadCgroupCpuLimit(std::string_view root, ParallelismRule rule);

/// The tightest cgroup memory limit of the process's memory cgroup and its
/// ancestors below `root` (v2 memory.max, v1 memory.limit_in_bytes).
Limit ReadCgroupMemoryLimit(std::string_view root);

/// Bounds `affinity_cpus` by `limit` with `rule`. Returns affinity_cpus when
/// the limit is not kLimited.
int ApplyCpuLimit(int affinity_cpus, const Limit& limit, ParallelismRule rule);

/// The answer and how it was reached.
struct Parallelism {
  int available = 0;      ///< the CPUs worth running threads on; >= 1
  int affinity_cpus = 0;  ///< the CPUs this process may run on
  ParallelismRule rule = ParallelismRule::kGo125;  ///< the rule applied
  Limit cpu_limit;  ///< cgroup quota (Linux) or job-object cap (Windows)
  std::string affinity_source;  ///< e.g. "sched_getaffinity", "hw.activecpu"
};

/// Available parallelism with `rule`, re-reading the limit (cheaply, from
/// descriptors kept open on Linux) on every call.
Parallelism GetParallelism(ParallelismRule rule = ParallelismRule::kGo125);

/// GetParallelism(rule).available.
int AvailableParallelism(ParallelismRule rule = ParallelismRule::kGo125);

/// A number the OS may not tell, with the reason when it does not.
struct Fact {
  int64_t value = 0;   ///< 0 when unknown
  std::string source;  ///< where it came from (file, sysctl, API)
  std::string reason;  ///< why unknown; "" when known
};

/// Facts about the system. Reading them never crashes nor throws (but for
/// std::bad_alloc): a fact that cannot be read carries its reason.
struct SystemFacts {
  std::string os_name;          ///< "Linux", "macOS", "Windows"
  std::string os_version;       ///< as in PlatformInfo::os_version
  std::string hostname;         ///< "" when unknown (see hostname_reason)
  std::string hostname_reason;  ///< why hostname is unknown
  int64_t page_size = 0;        ///< bytes; 0 if unknown
  Fact physical_memory;         ///< bytes
  Limit memory_limit;           ///< the cgroup memory limit (Linux)
  Fact cpu_freq_khz;            ///< the current frequency of CPU 0, kHz
  Parallelism parallelism;      ///< with the default rule
};

/// Reads the system facts.
SystemFacts GetSystemFacts();

/// What the platform's signals look like, before gort's signal layer uses
/// them (Go: runtime/signal_unix.go, os_linux.go's sigaltstack sizing;
/// signal_windows.go for console events).
struct SignalFacts {
  int count = 0;   ///< signal numbers 1..count-1 (NSIG - 1 of them)
  int rt_min = 0;  ///< first real-time signal left to programs; 0 if none
  int rt_max = 0;  ///< last real-time signal; 0 if none
  int64_t min_altstack = 0;         ///< bytes a sigaltstack needs at least
  std::string min_altstack_source;  ///< where min_altstack came from
  std::string delivery;             ///< how signals reach a process
};

/// Reads the signal facts. Never throws but for std::bad_alloc.
SignalFacts GetSignalFacts();

/// The CPU frequency as Linux's sysfs below `root` tells it (cpu0's
/// cpufreq scaling_cur_freq, else cpuinfo_cur_freq), or unknown with why.
Fact ReadLinuxCpuFreq(std::string_view root);

}  // namespace gort

#endif  // GORT_GORT_SYSINFO_H_
