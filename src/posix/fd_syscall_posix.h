// SPDX-License-Identifier: BSD-3-Clause
// FastRead() and FastSend(): the system calls of Fd::Read's and
// Fd::Write's inline parts (fd_posix.cc), returning the count or -errno.
// On Linux amd64 they are the `syscall` instruction itself; elsewhere, and
// in sanitizer builds, libc's read() and send().
#ifndef GORT_SRC_POSIX_FD_SYSCALL_POSIX_H_
#define GORT_SRC_POSIX_FD_SYSCALL_POSIX_H_

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

#ifdef __linux__
#include <sys/syscall.h>  // SYS_read, SYS_sendto
#endif

namespace gort::internal {

// The system calls of Read's and Write's inline parts: the count, or
// -errno. On Linux amd64 they enter the kernel directly, as Go's
// syscall.Read and syscall.Sendto do (no libc there): the `syscall`
// instruction clobbers only rax, rcx and r11, so the inline parts keep
// what they need afterwards in registers instead of saving six around a
// call, and the error comes back in the result, not through errno. The
// calls are those libc makes for read() and send() (amd64 has no send:
// libc's is sendto with no address), with the same results; they are not
// pthread cancellation points (nothing cancels a non-blocking call) and
// an LD_PRELOAD'ed read() does not see them, as it does not see Go's.
// Sanitizer builds keep libc's functions, which their runtimes intercept
// (ASan checks the buffer, TSan synchronises on the descriptor).
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define GORT_FD_LIBC_IO 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GORT_FD_LIBC_IO 1
#endif
#if defined(__linux__) && defined(__x86_64__) && !defined(GORT_FD_LIBC_IO)
inline ssize_t FastRead(int fd, void* buf, size_t n) {
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "0"(SYS_read), "D"(fd), "S"(buf), "d"(n)
               : "rcx", "r11", "memory");
  return ret;
}
// sendto's address length (r9) is left as it is: the kernel reads it only
// with an address, and there is none (r8 is null). One register more for
// what the caller keeps across the call.
inline ssize_t FastSend(int fd, const void* buf, size_t n, int send_flags) {
  long ret;
  register long flags asm("r10") = send_flags;
  register long addr asm("r8") = 0;
  asm volatile("syscall"
               : "=a"(ret)
               : "0"(SYS_sendto), "D"(fd), "S"(buf), "d"(n), "r"(flags),
                 "r"(addr)
               : "rcx", "r11", "memory");
  return ret;
}
#else
inline ssize_t FastRead(int fd, void* buf, size_t n) {
  ssize_t k = read(fd, buf, n);
  return k < 0 ? -errno : k;
}
inline ssize_t FastSend(int fd, const void* buf, size_t n, int send_flags) {
  ssize_t k = send(fd, buf, n, send_flags);
  return k < 0 ? -errno : k;
}
#endif

}  // namespace gort::internal

#endif  // GORT_SRC_POSIX_FD_SYSCALL_POSIX_H_
