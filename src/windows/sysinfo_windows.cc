// SPDX-License-Identifier: BSD-3-Clause
// Windows: processors of all groups or the process affinity, bounded by the
// job object's hard CPU-rate cap; memory, its job limit, hostname and the
// CPU's nominal frequency. Under Wine the cap cannot be read (error 87).
#include <windows.h>

#include <cstdint>
#include <string>

#include "gort/sysinfo.h"
#include "sysinfo_internal.h"

namespace gort::internal {
namespace {

std::string Win32Error(const char* what, DWORD err) {
  std::string s = what;
  s += ": error ";
  s += std::to_string(err);
  return s;
}

bool InJob(std::string* reason) {
  BOOL in = FALSE;
  if (!IsProcessInJob(GetCurrentProcess(), nullptr, &in)) {
    *reason = Win32Error("IsProcessInJob", GetLastError());
    return false;
  }
  if (!in) *reason = "the process is in no job object";
  return in != FALSE;
}

}  // namespace

void FillOsParallelism(ParallelismRule, Parallelism* out) {
  DWORD total = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  out->affinity_cpus = static_cast<int>(total);
  out->affinity_source = "GetActiveProcessorCount(ALL_PROCESSOR_GROUPS)";
  // One group: the process affinity mask says which of its CPUs we may use
  // (Go: getproccount in os_windows.go). Several groups: all of them.
  DWORD_PTR proc = 0, sys = 0;
  if (GetActiveProcessorGroupCount() == 1 &&
      GetProcessAffinityMask(GetCurrentProcess(), &proc, &sys) && proc != 0) {
    int n = 0;
    for (DWORD_PTR m = proc; m != 0; m &= m - 1) ++n;
    out->affinity_cpus = n;
    out->affinity_source = "GetProcessAffinityMask";
  }
  if (out->affinity_cpus <= 0) out->affinity_cpus = 1;
  Limit& lim = out->cpu_limit;
  lim.source = "QueryInformationJobObject(JobObjectCpuRateControlInformation)";
  if (!InJob(&lim.reason)) {
    if (lim.reason.rfind("IsProcessInJob", 0) != 0) {
      lim.state = LimitState::kNone;
    }
    return;
  }
  JOBOBJECT_CPU_RATE_CONTROL_INFORMATION rate = {};
  if (!QueryInformationJobObject(nullptr, JobObjectCpuRateControlInformation,
                                 &rate, sizeof(rate), nullptr)) {
    // Wine 8.0: ERROR_INVALID_PARAMETER (87), the class is not implemented.
    lim.reason = Win32Error(lim.source.c_str(), GetLastError());
    return;
  }
  if ((rate.ControlFlags & JOB_OBJECT_CPU_RATE_CONTROL_ENABLE) == 0 ||
      (rate.ControlFlags & JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP) == 0) {
    lim.state = LimitState::kNone;
    lim.reason = "the job object has no hard CPU-rate cap";
    return;
  }
  // CpuRate: 1/100 of a percent of all the machine's processors.
  lim.state = LimitState::kLimited;
  lim.cpus = static_cast<double>(rate.CpuRate) * total / 10000.0;
}

void FillOsSystemFacts(SystemFacts* f) {
  f->os_name = "Windows";
  char host[256] = {};
  DWORD n = sizeof(host);
  if (GetComputerNameExA(ComputerNameDnsHostname, host, &n)) {
    f->hostname = host;
  } else {
    f->hostname_reason = Win32Error("GetComputerNameExA", GetLastError());
  }
  MEMORYSTATUSEX ms = {};
  ms.dwLength = sizeof(ms);
  if (GlobalMemoryStatusEx(&ms)) {
    f->physical_memory.value = static_cast<int64_t>(ms.ullTotalPhys);
    f->physical_memory.source = "GlobalMemoryStatusEx";
  } else {
    f->physical_memory.reason =
        Win32Error("GlobalMemoryStatusEx", GetLastError());
  }
  Limit& mem = f->memory_limit;
  mem.source = "QueryInformationJobObject(JobObjectExtendedLimitInformation)";
  if (InJob(&mem.reason)) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION ext = {};
    if (!QueryInformationJobObject(nullptr, JobObjectExtendedLimitInformation,
                                   &ext, sizeof(ext), nullptr)) {
      mem.reason = Win32Error(mem.source.c_str(), GetLastError());
    } else if (ext.BasicLimitInformation.LimitFlags &
               JOB_OBJECT_LIMIT_JOB_MEMORY) {
      mem.state = LimitState::kLimited;
      mem.bytes = static_cast<int64_t>(ext.JobMemoryLimit);
    } else {
      mem.state = LimitState::kNone;
      mem.reason = "the job object has no memory limit";
    }
  } else if (mem.reason.rfind("IsProcessInJob", 0) != 0) {
    mem.state = LimitState::kNone;
  }
  // The nominal frequency the firmware reported, in MHz.
  DWORD mhz = 0, size = sizeof(mhz);
  LONG rc = RegGetValueW(HKEY_LOCAL_MACHINE,
                         L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                         L"~MHz", RRF_RT_REG_DWORD, nullptr, &mhz, &size);
  if (rc == ERROR_SUCCESS && mhz > 0) {
    f->cpu_freq_khz.value = static_cast<int64_t>(mhz) * 1000;
    f->cpu_freq_khz.source = "HKLM\\HARDWARE\\...\\CentralProcessor\\0 ~MHz";
  } else {
    f->cpu_freq_khz.reason = Win32Error(
        "RegGetValueW(HKLM\\HARDWARE\\...\\CentralProcessor\\0, ~MHz)",
        rc == ERROR_SUCCESS ? ERROR_INVALID_DATA : static_cast<DWORD>(rc));
  }
}

}  // namespace gort::internal
