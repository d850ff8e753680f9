# macOS arm64: Zig 0.11 against its libSystem stubs, plus a stub
# CoreFoundation.framework (Zig ships no SDK frameworks) for Abseil's time zone
# code. Compiled and linked only; a release would use a real macOS SDK.
include("${CMAKE_CURRENT_LIST_DIR}/gort-cache.cmake")
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR arm64)
set(CMAKE_OSX_SYSROOT "")
gort_use_zig(aarch64-macos)
set(CMAKE_INSTALL_NAME_TOOL true)
list(APPEND CMAKE_FRAMEWORK_PATH "${CMAKE_CURRENT_LIST_DIR}/darwin-stubs")
list(APPEND CMAKE_FIND_ROOT_PATH "${CMAKE_CURRENT_LIST_DIR}/darwin-stubs")
foreach(lang C CXX)
  string(APPEND CMAKE_${lang}_FLAGS_INIT " -F${CMAKE_CURRENT_LIST_DIR}/darwin-stubs")
endforeach()
gort_use_deps(macos-arm64)
