// SPDX-License-Identifier: BSD-3-Clause
// The portable part of the FD layer (Go: internal/poll/fd_poll_runtime.go):
// argument checks and deadline conversion every OS's Fd uses, and the Fd
// methods that are the same everywhere. See fd_internal.h.
#include "gort/fd.h"

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "fd_internal.h"
#include "gort/errno.h"
#include "gort/error_codes.h"

namespace gort {
namespace internal {

absl::Status FdError(int code, const char* context) {
  return Error::FromCode(code).ToStatus(context);
}

absl::Status FdMutexError(int rc, const char* context) {
  return FdError(rc > 0 ? -rc : rc, context);
}

absl::Status CheckSockAddr(const SockAddr& addr, const char* context) {
  if (addr.len == 0 || addr.len > sizeof(addr.bytes)) {
    return FdError(GORT_EINVAL, context);
  }
  return absl::OkStatus();
}

bool ValidKind(FdKind kind) {
  return kind == FdKind::kStream || kind == FdKind::kDatagram ||
         kind == FdKind::kListener || kind == FdKind::kPipe;
}

int64_t DeadlineNanos(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return 0;
  if (d <= absl::ZeroDuration()) return -1;  // "now" has passed once set
  return absl::ToInt64Nanoseconds(absl::Ceil(d, absl::Nanoseconds(1)));
}

}  // namespace internal

absl::Status Fd::SetDeadline(absl::Duration d, PollMode mode) {
  return SetDeadline(internal::DeadlineNanos(d), mode);
}

#ifndef _WIN32
absl::Status Fd::CodeStatus(int code) {
  using internal::IoWhere;
  const char* context = "";
  switch (static_cast<IoWhere>(code & ((1 << internal::kIoWhereBits) - 1))) {
    case IoWhere::kRead:
      context = "read";
      break;
    case IoWhere::kWrite:
      context = "write";
      break;
    case IoWhere::kWaitRead:
      context = "wait read";
      break;
    case IoWhere::kNetpollPrepare:
      context = "netpoll prepare";
      break;
    case IoWhere::kNetpollWait:
      context = "netpoll wait";
      break;
    case IoWhere::kWriteNoBytes:
      context = "write: the descriptor took no bytes";
      break;
  }
  const int value = code >> internal::kIoWhereBits;  // arithmetic: keeps sign
  Error e = value > 0 ? Error::FromSys(value) : Error::FromCode(value);
  // Never OK (fd.h's wrappers assume it): a value is never 0, and an
  // errno without a portable code is EUNKNOWN; this only makes it sure.
  if (e.ok()) [[unlikely]] {
    e = Error::FromCode(GORT_EUNKNOWN);
  }
  return e.ToStatus(context);
}

absl::Status Fd::WaitReadError(int code, IoResult* r) {
  if (code == kWaitReadBadArgs) {
    return CodeStatus(
        internal::IoCode(GORT_EINVAL, internal::IoWhere::kWaitRead));
  }
  r->state = IoState::kDone;
  return CodeStatus(code);
}
#endif

}  // namespace gort
