// SPDX-License-Identifier: BSD-3-Clause
// Copying C++ strings into the C ABI's fixed-size char arrays.
#ifndef GORT_BINDINGS_C_SRC_C_STRINGS_H_
#define GORT_BINDINGS_C_SRC_C_STRINGS_H_

#include <cstddef>
#include <cstring>
#include <string>

namespace gort::internal {

// Copies `src` into `dst`, truncated to fit, always NUL-terminated.
template <size_t N>
void CopyString(char (&dst)[N], const std::string& src) {
  size_t n = src.size() < N - 1 ? src.size() : N - 1;
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

}  // namespace gort::internal

#endif  // GORT_BINDINGS_C_SRC_C_STRINGS_H_
