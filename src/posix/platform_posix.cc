// SPDX-License-Identifier: BSD-3-Clause
// The platform report on Linux and macOS: uname and sysconf, plus what the
// OS-specific file adds (FillOsPlatformInfo).
#include "posix/platform_posix.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "platform_internal.h"

namespace gort::internal {

void FillPlatformInfo(PlatformInfo* info) {
  struct utsname u;
  if (uname(&u) == 0) {
    info->os_version = absl::StrCat(u.sysname, " ", u.release);
    info->machine = u.machine;
  }
  long page = sysconf(_SC_PAGESIZE);
  info->page_size = page > 0 ? page : 0;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  info->cpu_count = cpus > 0 ? static_cast<int>(cpus) : 0;
  FillOsPlatformInfo(info);
}

std::string PosixHostname(std::string* reason) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) return host;
  *reason = "gethostname: ";
  *reason += std::strerror(errno);
  return "";
}

}  // namespace gort::internal
