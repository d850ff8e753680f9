// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for the platform report.
#include <cstring>
#include <string>

#include "c_strings.h"
#include "capi.h"
#include "gort.h"
#include "gort/platform.h"

namespace {

using gort::capi::ExceptionToCode;
using gort::internal::CopyString;

}  // namespace

extern "C" int gort_platform_query(gort_platform_info_t* out) try {
  if (out == nullptr || out->size < sizeof(gort_platform_info_t)) {
    return GORT_EINVAL;
  }
  gort::PlatformInfo info = gort::GetPlatformInfo();
  CopyString(out->os, info.os);
  CopyString(out->arch, info.arch);
  CopyString(out->os_version, info.os_version);
  CopyString(out->machine, info.machine);
  CopyString(out->emulator, info.emulator);
  out->page_size = info.page_size;
  out->cpu_count = info.cpu_count;
  return 0;
} catch (...) {
  return ExceptionToCode();
}
