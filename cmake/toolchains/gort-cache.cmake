# SPDX-License-Identifier: BSD-3-Clause
# Shared by the cross toolchain files: where scripts/setup.sh keeps toolchains
# and per-target dependencies (outside any clone, so every clone reuses them).
if(DEFINED ENV{GORT_CACHE})
  set(GORT_CACHE "$ENV{GORT_CACHE}")
else()
  set(GORT_CACHE "$ENV{HOME}/.cache/gort")
endif()

# gort_use_deps(<preset>): find Abseil and GoogleTest built for <preset>.
macro(gort_use_deps preset)
  set(GORT_DEPS_PREFIX "${GORT_CACHE}/deps/${preset}")
  list(APPEND CMAKE_PREFIX_PATH "${GORT_DEPS_PREFIX}")
  list(APPEND CMAKE_FIND_ROOT_PATH "${GORT_DEPS_PREFIX}")
  set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
endmacro()

# gort_use_zig(<zig-target>): compile and link with Zig 0.11 for <zig-target>.
macro(gort_use_zig target)
  set(GORT_ZIG ON)
  set(CMAKE_C_COMPILER "${GORT_CACHE}/bin/zcc-${target}")
  set(CMAKE_CXX_COMPILER "${GORT_CACHE}/bin/zcxx-${target}")
  set(CMAKE_ASM_COMPILER "${GORT_CACHE}/bin/zcc-${target}")
  set(CMAKE_AR "${GORT_CACHE}/bin/zig-ar" CACHE FILEPATH "" FORCE)
  set(CMAKE_RANLIB "${GORT_CACHE}/bin/zig-ranlib" CACHE FILEPATH "" FORCE)
  # Zig emits debug info by default; keep cross binaries small.
  set(CMAKE_C_FLAGS_INIT "-g0")
  set(CMAKE_CXX_FLAGS_INIT "-g0")
endmacro()

# gort_use_macos(<cmake-arch> <zig-arch>): macOS through Zig 0.11 against its
# libSystem stubs, plus a stub CoreFoundation.framework (Zig ships no SDK
# frameworks) for Abseil's time zone code. Compiled and linked only; a
# release would use a real macOS SDK.
macro(gort_use_macos arch zig_arch)
  set(CMAKE_SYSTEM_NAME Darwin)
  set(CMAKE_SYSTEM_PROCESSOR ${arch})
  set(CMAKE_OSX_SYSROOT "")
  gort_use_zig(${zig_arch}-macos)
  set(CMAKE_INSTALL_NAME_TOOL true)
  set(_gort_stubs "${CMAKE_CURRENT_LIST_DIR}/darwin-stubs")
  list(APPEND CMAKE_FRAMEWORK_PATH "${_gort_stubs}")
  list(APPEND CMAKE_FIND_ROOT_PATH "${_gort_stubs}")
  foreach(lang C CXX)
    string(APPEND CMAKE_${lang}_FLAGS_INIT " -F${_gort_stubs}")
  endforeach()
  gort_use_deps(macos-${arch})
endmacro()
