// SPDX-License-Identifier: BSD-3-Clause
// Linux additions to the platform report: the distribution's name, the
// affinity CPU count (Go: getproccount in os_linux.go) and qemu-user.
#include <sched.h>
#include <sys/auxv.h>

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "file_internal.h"
#include "posix/platform_posix.h"

namespace gort::internal {
namespace {

// PRETTY_NAME from /etc/os-release, or "" when it cannot be read. Read
// close-on-exec (file_internal.h), as every file gort opens.
std::string OsReleaseName() {
  int err = 0;
  std::string text = ReadOnce("/etc/os-release", &err);
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view()
                                         : rest.substr(eol + 1);
    constexpr std::string_view kKey = "PRETTY_NAME=";
    if (line.substr(0, kKey.size()) != kKey) continue;
    std::string v(line.substr(kKey.size()));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      v = v.substr(1, v.size() - 2);
    }
    return v;
  }
  return "";
}

}  // namespace

void FillOsPlatformInfo(PlatformInfo* info) {
  std::string distro = OsReleaseName();
  if (!distro.empty()) absl::StrAppend(&info->os_version, " (", distro, ")");
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) info->cpu_count = n;
  }
  // Every Linux kernel gort supports maps a vDSO into each process; qemu-user
  // does not (shared/reference/cross-targets.md), so its absence names it.
  if (getauxval(AT_SYSINFO_EHDR) == 0) info->emulator = "qemu-user";
}

}  // namespace gort::internal
