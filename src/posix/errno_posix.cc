// SPDX-License-Identifier: BSD-3-Clause
// The native error space on Linux and macOS: errno.
#include <cerrno>
#include <cstdint>

#include "error_internal.h"
#include "gort/errno.h"

namespace gort {

ErrorSpace NativeErrorSpace() {
#if defined(__APPLE__)
  return ErrorSpace::kDarwin;
#else
  return ErrorSpace::kLinux;
#endif
}

namespace internal {
int64_t LastSysError() { return errno; }
}  // namespace internal

}  // namespace gort
