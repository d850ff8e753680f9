// SPDX-License-Identifier: BSD-3-Clause
// UTF-8 to UTF-16 for the Windows API (Go: syscall.UTF16FromString), shared
// by the DLL loader (syscall_windows.cc) and process spawning
// (process_windows.cc).
#ifndef GORT_SRC_WINDOWS_UTF16_WINDOWS_H_
#define GORT_SRC_WINDOWS_UTF16_WINDOWS_H_

#include <windows.h>

#include <string>
#include <string_view>

namespace gort::internal {

// UTF-8 -> UTF-16; false for invalid UTF-8 or an embedded NUL (which the
// API would read as the end of the string, as Go's EINVAL says).
inline bool Utf16FromUtf8(std::string_view s, std::wstring* out) {
  out->clear();
  if (s.empty()) return true;
  if (s.find('\0') != std::string_view::npos) return false;
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s.data(),
                              static_cast<int>(s.size()), nullptr, 0);
  if (n <= 0) return false;
  out->resize(static_cast<size_t>(n));
  return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s.data(),
                             static_cast<int>(s.size()), out->data(), n) == n;
}

}  // namespace gort::internal

#endif  // GORT_SRC_WINDOWS_UTF16_WINDOWS_H_
