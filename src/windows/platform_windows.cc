// SPDX-License-Identifier: BSD-3-Clause
// The platform report on Windows: RtlGetVersion (GetVersionEx lies to
// unmanifested programs), processors across all groups, and Wine.
#include <windows.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "platform_internal.h"

namespace gort::internal {
namespace {

using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
using WineGetVersionFn = const char*(__cdecl*)(void);

// GetProcAddress returns FARPROC; going through void* keeps
// -Wcast-function-type quiet.
template <typename Fn>
Fn NtdllProc(const char* name) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr) return nullptr;
  void* p = reinterpret_cast<void*>(GetProcAddress(ntdll, name));
  return reinterpret_cast<Fn>(p);
}

}  // namespace

void FillPlatformInfo(PlatformInfo* info) {
  OSVERSIONINFOW v = {};
  v.dwOSVersionInfoSize = sizeof(v);
  if (auto rtl = NtdllProc<RtlGetVersionFn>("RtlGetVersion");
      rtl != nullptr && rtl(&v) == 0) {
    info->os_version = absl::StrCat("Windows ", v.dwMajorVersion, ".",
                                    v.dwMinorVersion, ".", v.dwBuildNumber);
  }
  SYSTEM_INFO si;
  GetNativeSystemInfo(&si);
  switch (si.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_AMD64:
      info->machine = "x86_64";
      break;
    case PROCESSOR_ARCHITECTURE_ARM64:
      info->machine = "arm64";
      break;
    default:
      info->machine = absl::StrCat("arch-", si.wProcessorArchitecture);
  }
  info->page_size = si.dwPageSize;
  DWORD cpus = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  info->cpu_count = static_cast<int>(cpus);
  // Wine's ntdll exports wine_get_version; Windows' does not.
  if (auto wine = NtdllProc<WineGetVersionFn>("wine_get_version");
      wine != nullptr) {
    info->emulator = absl::StrCat("wine ", wine());
  }
}

}  // namespace gort::internal
