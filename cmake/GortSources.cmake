# SPDX-License-Identifier: BSD-3-Clause
# gort's sources: the core's portable files once, then the OS folder's files
# (the "backend files"; gort-probe lists the ones a build uses), then the C
# ABI's. The core (src/) is compiled without bindings/c on its include path
# and linked without the C ABI's objects (target gort_core), so it cannot
# depend on the C ABI.
set(GORT_PORTABLE_SOURCES
  src/error.cc
  src/file.cc
  src/cgroup.cc
  src/platform.cc
  src/sysinfo.cc
  src/time.cc
  src/timer.cc
  src/owner_lock.cc
  src/netpoll.cc
  src/polldesc.cc
  src/fd_mutex.cc
  src/tables/zerrors_portable.cc
  src/tables/zerrors_linux.cc
  src/tables/zerrors_darwin.cc
  src/tables/zerrors_windows.cc
  src/syscall.cc
  src/tables/zsyscall_linux_386.cc
  src/tables/zsyscall_linux_amd64.cc
  src/tables/zsyscall_linux_arm.cc
  src/tables/zsyscall_linux_arm64.cc
  src/tables/zsyscall_linux_riscv64.cc)

# The C ABI: a thin layer over the core (argument checks, handles, one
# status-to-code mapper and the exception guard in capi.cc).
set(GORT_CAPI_SOURCES
  bindings/c/src/capi.cc
  bindings/c/src/error_c.cc
  bindings/c/src/platform_c.cc
  bindings/c/src/sysinfo_c.cc
  bindings/c/src/syscall_c.cc
  bindings/c/src/time_c.cc
  bindings/c/src/netpoll_c.cc
  bindings/c/src/pollers_c.cc)

if(GORT_OS STREQUAL "linux")
  set(GORT_BACKEND_SOURCES
    src/posix/errno_posix.cc
    src/posix/platform_posix.cc
    src/linux/platform_linux.cc
    src/linux/sysinfo_linux.cc
    src/linux/syscall_linux.cc
    src/posix/dll_posix.cc
    src/linux/time_linux.cc
    src/linux/netpoll_epoll.cc
    src/posix/fd_posix.cc
    src/posix/signal_posix.cc
    src/posix/signal_facts_posix.cc
    src/linux/barrier_linux.cc)
  set(GORT_PLATFORM_LIBS "")
elseif(GORT_OS STREQUAL "darwin")
  set(GORT_BACKEND_SOURCES
    src/posix/errno_posix.cc
    src/posix/platform_posix.cc
    src/darwin/platform_darwin.cc
    src/darwin/sysinfo_darwin.cc
    src/darwin/syscall_darwin.cc
    src/posix/dll_posix.cc
    src/darwin/time_darwin.cc
    src/darwin/netpoll_kqueue.cc
    src/posix/fd_posix.cc
    src/posix/signal_posix.cc
    src/posix/signal_facts_posix.cc
    src/darwin/barrier_darwin.cc)
  set(GORT_PLATFORM_LIBS "")
elseif(GORT_OS STREQUAL "windows")
  set(GORT_BACKEND_SOURCES
    src/windows/errno_windows.cc
    src/windows/platform_windows.cc
    src/windows/sysinfo_windows.cc
    src/windows/syscall_windows.cc
    src/windows/time_windows.cc
    src/windows/netpoll_iocp.cc
    src/windows/fd_windows.cc
    src/windows/signal_windows.cc
    src/windows/signal_facts_windows.cc
    src/windows/barrier_windows.cc)
  set(GORT_PLATFORM_LIBS ws2_32 advapi32)
endif()

# The FD layer (include/gort/fd.h): its portable part once, for every OS;
# each OS's own part is in its list above (src/posix/fd_posix.cc,
# src/windows/fd_windows.cc).
list(APPEND GORT_PORTABLE_SOURCES src/fd.cc)
list(APPEND GORT_CAPI_SOURCES bindings/c/src/fd_c.cc)
# Pipes for children's stdio (OpenPipe): per OS only.
if(GORT_OS STREQUAL "windows")
  list(APPEND GORT_BACKEND_SOURCES src/windows/pipe_windows.cc)
else()
  list(APPEND GORT_BACKEND_SOURCES src/posix/pipe_posix.cc)
endif()

# Signals (include/gort/signal.h): sources and pending bits once
# (src/signal.cc); installing handlers per OS (src/posix/signal_posix.cc,
# src/windows/signal_windows.cc).
list(APPEND GORT_PORTABLE_SOURCES src/signal.cc)
list(APPEND GORT_CAPI_SOURCES bindings/c/src/signal_c.cc)

# Processes (include/gort/process.h): the portable part once
# (src/process.cc); spawning and the exit source per OS
# (src/posix/process_posix.cc with src/linux/process_linux.cc or
# src/darwin/process_darwin.cc; src/windows/process_windows.cc).
list(APPEND GORT_PORTABLE_SOURCES src/process.cc)
list(APPEND GORT_CAPI_SOURCES bindings/c/src/process_c.cc)
if(GORT_OS STREQUAL "linux")
  list(APPEND GORT_BACKEND_SOURCES src/posix/process_posix.cc src/linux/process_linux.cc)
elseif(GORT_OS STREQUAL "darwin")
  list(APPEND GORT_BACKEND_SOURCES src/posix/process_posix.cc src/darwin/process_darwin.cc)
elseif(GORT_OS STREQUAL "windows")
  list(APPEND GORT_BACKEND_SOURCES src/windows/process_windows.cc)
endif()

# Per OS and arch (GORT_OS_GORT_ARCH): the assembly entry points. Darwin
# has none: its calls go through libSystem (src/darwin/syscall_darwin.cc).
set(GORT_ARCH_SOURCES_linux_amd64 src/linux/syscall_linux_amd64.S)
set(GORT_ARCH_SOURCES_linux_arm64 src/linux/syscall_linux_arm64.S)
set(GORT_ARCH_SOURCES_linux_riscv64 src/linux/syscall_linux_riscv64.S)
set(GORT_ARCH_SOURCES_windows_amd64 src/windows/syscall_windows_amd64.S)
set(GORT_ARCH_SOURCES_windows_arm64 src/windows/syscall_windows_arm64.S)
list(APPEND GORT_BACKEND_SOURCES ${GORT_ARCH_SOURCES_${GORT_OS}_${GORT_ARCH}})

# The core's sources (target gort_core).
set(GORT_SOURCES ${GORT_PORTABLE_SOURCES} ${GORT_BACKEND_SOURCES})

# The backend list as C++ string literals, for gort_build_info.cc.
set(GORT_BACKEND_FILES_CXX "")
foreach(f IN LISTS GORT_BACKEND_SOURCES)
  string(APPEND GORT_BACKEND_FILES_CXX "\"${f}\", ")
endforeach()
