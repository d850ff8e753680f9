// SPDX-License-Identifier: BSD-3-Clause
// The platform report's basic facts: what OS, version, architecture, page
// size and CPU count this process sees, and which backend files this build
// of gort uses. gort-probe prints them.
//
// Thread safety: GetPlatformInfo() may be called from any thread.
#ifndef GORT_GORT_PLATFORM_H_
#define GORT_GORT_PLATFORM_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gort {

/// What gort knows of the platform it runs on.
struct PlatformInfo {
  std::string os;    ///< GOOS of this build: "linux", "darwin", "windows"
  std::string arch;  ///< GOARCH of this build: "amd64", "arm64", "riscv64"
  std::string
      os_version;         ///< e.g. "Linux 6.1.0-18-amd64 (Debian GNU/Linux 12)"
  std::string machine;    ///< the machine as the OS reports it ("x86_64")
  std::string emulator;   ///< "" natively, "qemu-user", "wine 8.0"
  int64_t page_size = 0;  ///< bytes; 0 if unknown
  int cpu_count = 0;      ///< CPUs this process may run on; 0 if unknown
};

/// Reads the platform's facts. Never throws; a fact it cannot read is left
/// empty or 0.
PlatformInfo GetPlatformInfo();

/// The per-OS and per-arch source files this build of gort was made from
/// (e.g. "src/posix/errno_posix.cc"): which backends are in use.
const std::vector<std::string_view>& BackendFiles();

/// The compiler that built gort, e.g. "gcc 12.2.0" or "clang 16.0.6".
std::string_view CompilerVersion();

}  // namespace gort

#endif  // GORT_GORT_PLATFORM_H_
