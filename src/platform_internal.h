// SPDX-License-Identifier: BSD-3-Clause
// What each OS folder provides for the platform report.
#ifndef GORT_SRC_PLATFORM_INTERNAL_H_
#define GORT_SRC_PLATFORM_INTERNAL_H_

#include "gort/platform.h"

namespace gort::internal {

// Fills what the OS knows: os_version, machine, emulator, page_size,
// cpu_count. Never throws but for std::bad_alloc.
void FillPlatformInfo(PlatformInfo* info);

}  // namespace gort::internal

#endif  // GORT_SRC_PLATFORM_INTERNAL_H_
