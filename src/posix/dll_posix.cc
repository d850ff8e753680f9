// SPDX-License-Identifier: BSD-3-Clause
// Windows DLLs on Linux and macOS: there are none. Every call says so with
// GORT_ENOSYS (Unimplemented); the C ABI checks its arguments first, as on
// Windows.
#include <cstdint>
#include <string_view>

#include "gort/syscall.h"
#include "syscall_internal.h"

namespace gort {
namespace {

absl::Status NoDlls(std::string_view what) {
  return internal::CodeStatus(GORT_ENOSYS, what);
}

}  // namespace

absl::StatusOr<DllHandle> LoadSystemDll(std::string_view name) {
  (void)name;
  return NoDlls("LoadSystemDll: Windows only");
}

absl::StatusOr<DllHandle> LoadDllFromPath(std::string_view path) {
  (void)path;
  return NoDlls("LoadDllFromPath: Windows only");
}

absl::StatusOr<uintptr_t> DllProc(DllHandle dll, std::string_view name) {
  (void)dll;
  (void)name;
  return NoDlls("DllProc: Windows only");
}

absl::Status ReleaseDll(DllHandle dll) {
  (void)dll;
  return NoDlls("ReleaseDll: Windows only");
}

}  // namespace gort
