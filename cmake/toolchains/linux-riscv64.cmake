# SPDX-License-Identifier: BSD-3-Clause
# Linux riscv64: Zig 0.11 targeting musl (Debian 12 has no riscv64 archive),
# static; tests run under qemu-user.
include("${CMAKE_CURRENT_LIST_DIR}/gort-cache.cmake")
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)
gort_use_zig(riscv64-linux-musl)
# musl hides off64_t unless asked (Abseil's direct_mmap.h uses it).
string(APPEND CMAKE_C_FLAGS_INIT " -D_LARGEFILE64_SOURCE")
string(APPEND CMAKE_CXX_FLAGS_INIT " -D_LARGEFILE64_SOURCE")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-riscv64)
gort_use_deps(linux-riscv64)
# Programs are static musl: there is no musl loader on the host for qemu to
# start a dynamic one, so tests link gort statically (the shared library is
# still built and its exports checked).
set(GORT_TESTS_LINK_STATIC ON)
