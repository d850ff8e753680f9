// SPDX-License-Identifier: BSD-3-Clause
// OpenPipe on Unix (Go: os/pipe2_unix.go, os/pipe_unix.go for macOS):
// pipe2(O_CLOEXEC) where there is one, else pipe and FD_CLOEXEC at once;
// O_NONBLOCK only on the ends the caller will poll.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/fd.h"

namespace gort {
namespace {

absl::Status Sys(int err, const char* context) {
  return Error::FromSys(err).ToStatus(context);
}

}  // namespace

absl::StatusOr<PipeEnds> OpenPipe(uint32_t pollable) {
  if ((pollable & ~(kPipeReadPollable | kPipeWritePollable)) != 0) {
    return Error::FromCode(GORT_EINVAL).ToStatus("pipe: flags");
  }
  int p[2];
#if defined(__APPLE__)
  // No pipe2: the window before FD_CLOEXEC is Go's too (it holds
  // syscall.ForkLock over it). gort's own spawns close every descriptor
  // above 2 in the child anyway (POSIX_SPAWN_CLOEXEC_DEFAULT).
  if (pipe(p) != 0) return Sys(errno, "pipe");
  for (int fd : p) {
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
      int err = errno;
      (void)close(p[0]);
      (void)close(p[1]);
      return Sys(err, "pipe: FD_CLOEXEC");
    }
  }
#else
  if (pipe2(p, O_CLOEXEC) != 0) return Sys(errno, "pipe2");
#endif
  const uint32_t flag[2] = {kPipeReadPollable, kPipeWritePollable};
  for (int i = 0; i < 2; i++) {
    if ((pollable & flag[i]) == 0) continue;
    int fl = fcntl(p[i], F_GETFL);
    if (fl < 0 || fcntl(p[i], F_SETFL, fl | O_NONBLOCK) != 0) {
      int err = errno;
      (void)close(p[0]);
      (void)close(p[1]);
      return Sys(err, "pipe: O_NONBLOCK");
    }
  }
  return PipeEnds{p[0], p[1]};
}

absl::Status ClosePipeEnd(intptr_t end) {
  if (end < 0 || end > INT32_MAX) {
    return Error::FromCode(GORT_EBADF).ToStatus("pipe close");
  }
  // No retry on EINTR: Linux has closed the descriptor already then, and
  // a second close could close someone else's (Go's poll.FD.destroy).
  if (close(static_cast<int>(end)) != 0 && errno != EINTR) {
    return Sys(errno, "pipe close");
  }
  return absl::OkStatus();
}

}  // namespace gort
