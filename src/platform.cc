// SPDX-License-Identifier: BSD-3-Clause
// The platform report, portable part: GOOS/GOARCH of this build and the
// compiler; the OS folders fill in the rest.
#include "gort/platform.h"

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "platform_internal.h"

namespace gort {

PlatformInfo GetPlatformInfo() {
  PlatformInfo info;
#if defined(__APPLE__)
  info.os = "darwin";
#elif defined(_WIN32)
  info.os = "windows";
#else
  info.os = "linux";
#endif
#if defined(__x86_64__) || defined(_M_X64)
  info.arch = "amd64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  info.arch = "arm64";
#elif defined(__riscv) && __riscv_xlen == 64
  info.arch = "riscv64";
#else
#error "gort: unsupported architecture"
#endif
  internal::FillPlatformInfo(&info);
  return info;
}

std::string_view CompilerVersion() {
#if defined(__clang__)
  static const std::string v =
      absl::StrCat("clang ", __clang_major__, ".", __clang_minor__, ".",
                   __clang_patchlevel__);
#elif defined(__GNUC__)
  static const std::string v = absl::StrCat(
      "gcc ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__);
#else
  static const std::string v = "unknown";
#endif
  return v;
}

}  // namespace gort
