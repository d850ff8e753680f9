// SPDX-License-Identifier: BSD-3-Clause
// gort's own constants for newer Linux kernel interfaces, written from the
// kernel's uapi headers rather than taken from the C library's, which may be
// older than the kernel (Debian 12's glibc knows epoll_pwait2, musl 1.2.3
// does not know futex_waitv). System call numbers are generated
// (gort/zsysnum_linux.h); these are the flags and struct sizes that go with
// them. Values are the same on amd64, arm64 and riscv64.
#ifndef GORT_SRC_LINUX_KERNEL_ABI_LINUX_H_
#define GORT_SRC_LINUX_KERNEL_ABI_LINUX_H_

#include <cstddef>
#include <cstdint>

namespace gort::internal::kabi {

// <linux/fcntl.h>: the current directory for *at() calls.
inline constexpr int kAtFdcwd = -100;

// <linux/close_range.h> (close_range: Linux 5.9; CLOEXEC: 5.11).
inline constexpr unsigned kCloseRangeUnshare = 1u << 1;
inline constexpr unsigned kCloseRangeCloexec = 1u << 2;

// <linux/openat2.h> (openat2: Linux 5.6).
struct OpenHow {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
inline constexpr size_t kOpenHowSizeVer0 = 24;
inline constexpr uint64_t kResolveNoXdev = 0x01;
inline constexpr uint64_t kResolveNoMagiclinks = 0x02;
inline constexpr uint64_t kResolveNoSymlinks = 0x04;
inline constexpr uint64_t kResolveBeneath = 0x08;
inline constexpr uint64_t kResolveInRoot = 0x10;

// <linux/sched.h>: struct clone_args (clone3: Linux 5.3).
inline constexpr size_t kCloneArgsSizeVer0 = 64;

// <linux/io_uring.h>: sizeof(struct io_uring_params) (io_uring: Linux 5.1).
inline constexpr size_t kIoUringParamsSize = 120;

// <linux/time_types.h>: struct __kernel_timespec, what epoll_pwait2 takes
// (Linux 5.11), 64-bit seconds on every arch.
struct KernelTimespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};

// <linux/pidfd.h> (pidfd_open: Linux 5.3): PIDFD_NONBLOCK is O_NONBLOCK,
// 04000 on amd64, arm64 and riscv64.
inline constexpr unsigned kPidfdNonblock = 04000;

// <linux/futex.h> (futex_waitv: Linux 5.16).
inline constexpr unsigned kFutexWaitvMax = 128;

}  // namespace gort::internal::kabi

#endif  // GORT_SRC_LINUX_KERNEL_ABI_LINUX_H_
