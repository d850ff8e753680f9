// SPDX-License-Identifier: BSD-3-Clause
// The per-OS hook of src/posix/platform_posix.cc.
#ifndef GORT_SRC_POSIX_PLATFORM_POSIX_H_
#define GORT_SRC_POSIX_PLATFORM_POSIX_H_

#include <string>

#include "gort/platform.h"

namespace gort::internal {

// Refines what uname/sysconf gave: the distribution or product version, the
// CPUs this process may really use, an emulator if one is detected.
void FillOsPlatformInfo(PlatformInfo* info);

// The host name from gethostname(); on failure "" and *reason says why.
std::string PosixHostname(std::string* reason);

}  // namespace gort::internal

#endif  // GORT_SRC_POSIX_PLATFORM_POSIX_H_
