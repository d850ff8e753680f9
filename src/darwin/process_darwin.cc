// SPDX-License-Identifier: BSD-3-Clause
// macOS's exit descriptor: a kqueue of the child's own, watching its pid
// with EVFILT_PROC/NOTE_EXIT. macOS has no pidfd (Go: os/pidfd_other.go;
// Go's os.Process waits there with a blocking wait4 on a thread of its
// own); libuv (src/unix/kqueue.c, process.c) watches children with
// EVFILT_PROC on its loop's kqueue. gort's Poller registers descriptors,
// not pids, and a kqueue is itself a descriptor that another kqueue can
// watch (EVFILT_READ: readable while it holds a pending event), so each
// child gets one: it becomes readable once the child exits, as a pidfd
// does, and the portable process layer treats both alike.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/process.h"
#include "process_internal.h"

namespace gort::internal {

bool ExitFdAvailable() { return true; }

ExitSource ExitFdSource() { return ExitSource::kKqueue; }

absl::StatusOr<int> ExitFdOpen(int64_t pid) {
  int kq = kqueue();
  if (kq < 0) return Error::FromSys(errno).ToStatus("kqueue");
  if (fcntl(kq, F_SETFD, FD_CLOEXEC) != 0) {  // macOS has no kqueue1
    int e = errno;
    (void)close(kq);
    return Error::FromSys(e).ToStatus("fcntl FD_CLOEXEC");
  }
  struct kevent ev;
  EV_SET(&ev, static_cast<uintptr_t>(pid), EVFILT_PROC, EV_ADD | EV_CLEAR,
         NOTE_EXIT, 0, nullptr);
  int rc;
  do {
    rc = kevent(kq, &ev, 1, nullptr, 0, nullptr);
  } while (rc < 0 && errno == EINTR);
  // ESRCH: the child has exited already (a zombie cannot be watched, as
  // libuv's process.c notes). The kqueue then never becomes readable, but
  // it need not: a waiter always tries waitid before it parks, and finds
  // the zombie there.
  if (rc < 0 && errno != ESRCH) {
    int e = errno;
    (void)close(kq);
    return Error::FromSys(e).ToStatus("kevent EVFILT_PROC");
  }
  return kq;
}

// kill(2): the caller holds the process lock and has not reaped the
// child, so the pid is still the child's (a zombie at worst).
absl::Status ExitFdSignal(int /*fd*/, int64_t pid, int sig) {
  if (kill(static_cast<pid_t>(pid), sig) != 0) {
    return Error::FromSys(errno).ToStatus("kill");
  }
  return absl::OkStatus();
}

}  // namespace gort::internal
