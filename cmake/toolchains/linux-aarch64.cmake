# SPDX-License-Identifier: BSD-3-Clause
# Linux aarch64: Debian's cross g++ and multiarch arm64 Abseil/GoogleTest;
# tests run under qemu-user.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Plain qemu-aarch64: with -L/QEMU_LD_PREFIX a threaded test hung (see
# shared/reference/cross-targets.md); multiarch puts the loader in /lib.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
