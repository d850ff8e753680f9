// SPDX-License-Identifier: BSD-3-Clause
// Linux's exit descriptor: a pidfd (Go: os/pidfd_linux.go), opened with
// pidfd_open after the spawn, and pidfd_send_signal, which can never hit a
// reused pid.
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/process.h"
#include "gort/syscall.h"
#include "process_internal.h"

// The same numbers on every architecture (the unified table from 424 on).
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace gort::internal {

bool ExitFdAvailable() {
  static const bool available = [] {
    absl::StatusOr<SyscallProbe> p = ProbeSyscall("pidfd_open");
    return p.ok() && p->support == SyscallSupport::kAvailable;
  }();
  return available;
}

ExitSource ExitFdSource() { return ExitSource::kPidfd; }

absl::StatusOr<int> ExitFdOpen(int64_t pid) {
  // A pidfd is always close-on-exec.
  long fd = syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0);
  if (fd < 0) return Error::FromSys(errno).ToStatus("pidfd_open");
  return static_cast<int>(fd);
}

absl::Status ExitFdSignal(int pidfd, int64_t /*pid*/, int sig) {
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) != 0) {
    return Error::FromSys(errno).ToStatus("pidfd_send_signal");
  }
  return absl::OkStatus();
}

}  // namespace gort::internal
