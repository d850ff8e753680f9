// SPDX-License-Identifier: BSD-3-Clause
// What every OS's Fd (src/posix/fd_posix.cc, src/windows/fd_windows.cc)
// shares: argument checks, the mapping of fdMutex results and poll modes,
// and the Duration-to-deadline rule (Go: internal/poll/fd_poll_runtime.go's
// convertErr and setDeadlineImpl). Written once in src/fd.cc.
#ifndef GORT_SRC_FD_INTERNAL_H_
#define GORT_SRC_FD_INTERNAL_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "fd_mutex.h"
#include "gort/error_codes.h"
#include "gort/fd.h"
#include "gort/netpoll.h"

namespace gort::internal {

// An absl::Status carrying the portable error `code` (a negative GORT_E*).
absl::Status FdError(int code, const char* context);

// The status for a result of FdMutex::Begin() (its codes are GORT_E*
// negated: positive).
absl::Status FdMutexError(int rc, const char* context);

// EINVAL unless the call's common arguments are usable: `r` not null, a
// token Poller::Wait() accepts (not 0, 1 or 2), and a buffer unless `n` is
// 0. IoArgsOk() is the test alone (for the calls that return a code).
inline bool IoArgsOk(const void* buf, size_t n, uintptr_t token,
                     const IoResult* r) {
  return r != nullptr && token > 2 && (buf != nullptr || n == 0);
}
inline absl::Status CheckIoArgs(const void* buf, size_t n, uintptr_t token,
                                const IoResult* r, const char* context) {
  if (!IoArgsOk(buf, n, token, r)) [[unlikely]] {
    return FdError(GORT_EINVAL, context);
  }
  return absl::OkStatus();
}

// The codes of Fd::ReadCode(), WriteCode() and WaitReadCode(): 0 for
// success, else the error's value times 16 plus where it happened (the
// status's context). The value is a portable GORT_E* code (negative) or
// the OS's errno (positive, kept raw as SysErr does); Fd::CodeStatus()
// makes the status.
enum class IoWhere : int {
  kRead = 1,            // "read"
  kWrite = 2,           // "write"
  kWaitRead = 3,        // "wait read"
  kNetpollPrepare = 4,  // "netpoll prepare"
  kNetpollWait = 5,     // "netpoll wait"
  kWriteNoBytes = 6,    // "write: the descriptor took no bytes"
};
inline constexpr int kIoWhereBits = 4;
// (So no code is in -8 .. 8, which fd.h's own codes use.)
static_assert(GORT_EINVAL <= -1 && (1 << kIoWhereBits) > 8);
// `value` is not 0: a GORT_E* code or an errno.
inline int IoCode(int value, IoWhere where) {
  return value * (1 << kIoWhereBits) + static_cast<int>(where);
}

// EINVAL unless `addr` holds an address (1 .. sizeof(bytes) bytes).
absl::Status CheckSockAddr(const SockAddr& addr, const char* context);

// True for FdKind's values.
bool ValidKind(FdKind kind);

// The fdMutex slot of a poll direction (kRead or kWrite).
inline int Slot(PollMode mode) {
  return mode == PollMode::kRead ? FdMutex::kRead : FdMutex::kWrite;
}

// A Duration as the relative deadline Poller::SetDeadline() takes:
// InfiniteDuration() is 0 (none), -InfiniteDuration() and anything <= 0 a
// deadline already passed (-1), else the nanoseconds rounded up.
int64_t DeadlineNanos(absl::Duration d);

// Go's maxRW: a stream read or write moves at most 1 GiB per system call
// (some systems fail larger ones).
inline constexpr size_t kMaxRW = size_t{1} << 30;

}  // namespace gort::internal

#endif  // GORT_SRC_FD_INTERNAL_H_
