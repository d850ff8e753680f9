// SPDX-License-Identifier: BSD-3-Clause
// macOS additions to the platform report: product version and active CPUs.
#include <sys/sysctl.h>
#include <sys/types.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "posix/platform_posix.h"

namespace gort::internal {

void FillOsPlatformInfo(PlatformInfo* info) {
  char version[64];
  size_t len = sizeof(version);
  if (sysctlbyname("kern.osproductversion", version, &len, nullptr, 0) == 0 &&
      len > 0) {
    version[sizeof(version) - 1] = '\0';
    info->os_version =
        absl::StrCat("macOS ", version, " (", info->os_version, ")");
  }
  int cpus = 0;
  len = sizeof(cpus);
  if (sysctlbyname("hw.activecpu", &cpus, &len, nullptr, 0) == 0 && cpus > 0) {
    info->cpu_count = cpus;
  }
}

}  // namespace gort::internal
