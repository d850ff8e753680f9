# SPDX-License-Identifier: BSD-3-Clause
# macOS arm64: Zig 0.11, compiled and linked only (see gort_use_macos).
include("${CMAKE_CURRENT_LIST_DIR}/gort-cache.cmake")
gort_use_macos(arm64 aarch64)
