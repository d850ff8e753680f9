// SPDX-License-Identifier: BSD-3-Clause
// The native error space on Windows: Win32 ERROR_* and Winsock WSA* codes,
// which share one per-thread slot (WSAGetLastError() is GetLastError()).
#include <windows.h>

#include <cstdint>

#include "error_internal.h"
#include "gort/errno.h"

namespace gort {

ErrorSpace NativeErrorSpace() { return ErrorSpace::kWindows; }

namespace internal {
int64_t LastSysError() { return static_cast<int64_t>(GetLastError()); }
}  // namespace internal

}  // namespace gort
