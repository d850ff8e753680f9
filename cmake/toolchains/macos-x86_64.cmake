# SPDX-License-Identifier: BSD-3-Clause
# macOS x86_64: Zig 0.11, compiled and linked only (see gort_use_macos).
include("${CMAKE_CURRENT_LIST_DIR}/gort-cache.cmake")
gort_use_macos(x86_64 x86_64)
