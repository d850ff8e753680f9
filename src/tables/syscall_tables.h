// SPDX-License-Identifier: BSD-3-Clause
// Tables of Linux system call numbers per architecture (Go: zsysnum_linux_*
// in package syscall): name <-> number for linux-386, linux-amd64,
// linux-arm, linux-arm64 and linux-riscv64.
//
// Like the error tables they are data, compiled into every build whatever
// the target, so a program on any machine can name another arch's calls
// (gort-probe syscalls linux-riscv64). tools/gen_syscalls.py generates the
// zsyscall_linux_*.cc files from the kernels' uapi headers and the calls
// newer than those headers that it lists itself; do not edit them by hand.
#ifndef GORT_SRC_TABLES_SYSCALL_TABLES_H_
#define GORT_SRC_TABLES_SYSCALL_TABLES_H_

#include <cstddef>
#include <cstdint>

namespace gort::internal {

// One system call of one architecture.
struct SyscallEntry {
  int64_t number;    // __NR_<name>
  const char* name;  // "epoll_pwait2", without __NR_
};

// Entries sorted by number, then name (a few numbers have two names, e.g.
// arm's arm_sync_file_range and sync_file_range2).
struct SyscallTable {
  const char* target;       // "linux-amd64": <GOOS>-<GOARCH>
  const char* kernel;       // the Linux release it is current to: "7.0"
  const char* headers;      // the release of the uapi headers it was generated
                            // from ("6.12"); the calls after it were added by
                            // hand (tools/gen_syscalls.py LATER_CALLS)
  int64_t headers_highest;  // the highest number the headers have; every
                            // entry above it was added by hand
  const SyscallEntry* entries;
  size_t size;
};

extern const SyscallTable kLinux386Syscalls;
extern const SyscallTable kLinuxAmd64Syscalls;
extern const SyscallTable kLinuxArmSyscalls;
extern const SyscallTable kLinuxArm64Syscalls;
extern const SyscallTable kLinuxRiscv64Syscalls;

}  // namespace gort::internal

#endif  // GORT_SRC_TABLES_SYSCALL_TABLES_H_
