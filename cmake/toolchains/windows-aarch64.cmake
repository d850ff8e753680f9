# SPDX-License-Identifier: BSD-3-Clause
# Windows arm64: Zig 0.11 with its mingw-w64 arm64 CRT. Compiled and linked
# only; nothing runs it here.
include("${CMAKE_CURRENT_LIST_DIR}/gort-cache.cmake")
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR ARM64)
gort_use_zig(aarch64-windows-gnu)
# W1: Abseil includes <pthread.h> under __MINGW32__, Zig's mingw has none: an
# empty one, and Abseil's thread_local identity mode (what it uses with MSVC).
# W2: Zig's arm64 msvcrt exports only the __dstbias() accessor.
set(_gort_zw "${CMAKE_CURRENT_LIST_DIR}/zig-windows")
foreach(lang C CXX)
  string(APPEND CMAKE_${lang}_FLAGS_INIT
    " -isystem ${_gort_zw} -include ${_gort_zw}/gort_dstbias.h -DABSL_FORCE_THREAD_IDENTITY_MODE=2")
endforeach()
set(CMAKE_RC_COMPILER "${GORT_CACHE}/bin/zig-rc")
gort_use_deps(windows-aarch64)
