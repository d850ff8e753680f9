// SPDX-License-Identifier: BSD-3-Clause
// The contract between the portable process layer (src/process.cc: one
// operation at a time, Terminate's SIGTERM-grace-SIGKILL steps, cached
// status) and each OS's (src/posix/process_posix.cc: posix_spawn, an exit
// descriptor or SIGCHLD, waitid; src/windows/process_windows.cc: CreateProcessW
// and the handle's wait). Go splits it alike: os/exec.go and exec_posix.go are
// portable, syscall/exec_*.go are not.
#ifndef GORT_SRC_PROCESS_INTERNAL_H_
#define GORT_SRC_PROCESS_INTERNAL_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/netpoll.h"
#include "gort/process.h"

namespace gort::internal {

class ProcessOs {
 public:
  virtual ~ProcessOs() = default;

  // Reaps the child (done: *st, *parked false) or parks `token` on the
  // exit source (*parked true, written before the token is published;
  // nothing is written after). A call after a parked one continues it.
  virtual absl::Status Wait(uintptr_t token, ExitStatus* st, bool* parked) = 0;

  // Sends `sig` to the child; ESRCH once it was reaped.
  virtual absl::Status Signal(int sig) = 0;

  // The exit source's read deadline (Poller::SetDeadline's meaning).
  virtual absl::Status SetDeadline(int64_t d) = 0;

  virtual int64_t Pid() const = 0;
  virtual ExitSource source() const = 0;
};

// Starts the child.
absl::StatusOr<std::unique_ptr<ProcessOs>> SpawnOs(Poller& poller,
                                                   const SpawnOptions& opts);

// The exit descriptor: one per child, readable once it has exited, which
// the poller watches. Linux (src/linux/process_linux.cc, Go's
// os/pidfd_linux.go): a pidfd, where pidfd_open works here
// (gort::ProbeSyscall, once). macOS (src/darwin/process_darwin.cc): a
// kqueue of the child's own with EVFILT_PROC/NOTE_EXIT. Where
// ExitFdAvailable() is false (or ExitFdOpen fails: a seccomp filter), the
// SIGCHLD fallback. ExitFdSignal sends `sig` to the child: through the
// pidfd on Linux (never a reused pid), kill(pid) on macOS (the caller has
// not reaped it yet, so the pid is still the child's).
bool ExitFdAvailable();
ExitSource ExitFdSource();
absl::StatusOr<int> ExitFdOpen(int64_t pid);
absl::Status ExitFdSignal(int fd, int64_t pid, int sig);

// The test switch behind ForceSigchldFallbackForTest().
bool SigchldFallbackForced();

}  // namespace gort::internal

#endif  // GORT_SRC_PROCESS_INTERNAL_H_
