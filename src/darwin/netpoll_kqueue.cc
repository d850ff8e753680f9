// SPDX-License-Identifier: BSD-3-Clause
// The kqueue backend for macOS (Go: runtime/netpoll_kqueue.go, with the
// EVFILT_USER wake-up of netpoll_kqueue_event.go, Go 1.23).
//
// Each descriptor gets EVFILT_READ and EVFILT_WRITE with EV_ADD|EV_CLEAR
// (edge-triggered) once, for its whole life; udata is the pollDesc handle.
// The wake-up is an EVFILT_USER event, registered at open with
// EV_ADD|EV_CLEAR and fired with NOTE_TRIGGER.
//
// How it differs from the epoll backend, as Go's kqueue code differs from
// its epoll code:
// - Remove() does nothing: the kernel drops a descriptor's kevents when it
//   is closed, and Go's netpollclose does nothing either. Until the
//   embedder closes the descriptor, its events still carry the old handle;
//   the portable layer drops them as stale (the handle's sequence changed).
//   Registering the same open descriptor again replaces udata (EV_ADD on an
//   existing event modifies it).
// - The wake-up event is EV_CLEAR: retrieving it resets it, even in a
//   non-blocking wait, where epoll's level-triggered eventfd simply stays
//   readable. A non-blocking wait that retrieves it therefore triggers it
//   again (Go's processWakeupEvent "relay") and does not report it, so the
//   signal stays pending for the blocking poll it was sent to and the
//   portable layer keeps coalescing Wake() calls until then. Only a wait
//   with delay != 0 reports broke = true.
#include "darwin/netpoll_kqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "gort/errno.h"
#include "netpoll_internal.h"

namespace gort::internal {
namespace {

static_assert(sizeof(void*) == 8, "udata must hold a 64-bit pollDesc handle");

absl::Status SysErr(int err, const char* context) {
  return Error::FromSys(err).ToStatus(context);
}

// Applies one change (no event list), retrying EINTR: the changes are
// applied before kevent reports EINTR, and applying them again is harmless
// (Go retries for the same reason in addWakeupEvent and wakeNetpoll).
int Change(int kq, const struct kevent* changes, int n) {
  for (;;) {
    if (kevent(kq, changes, n, nullptr, 0, nullptr) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace

KqueueBackend::~KqueueBackend() { close(kq_); }

// Go's netpollopen: both filters in one call.
absl::Status KqueueBackend::Add(intptr_t fd, uint64_t key) {
  if (fd < 0 || fd > INT32_MAX) return SysErr(EBADF, "kevent add");
  struct kevent ev[2];
  void* udata = reinterpret_cast<void*>(static_cast<uintptr_t>(key));
  EV_SET(&ev[0], static_cast<uintptr_t>(fd), EVFILT_READ, EV_ADD | EV_CLEAR, 0,
         0, udata);
  EV_SET(&ev[1], static_cast<uintptr_t>(fd), EVFILT_WRITE, EV_ADD | EV_CLEAR, 0,
         0, udata);
  int err = Change(kq_, ev, 2);
  if (err != 0) return SysErr(err, "kevent add");
  return absl::OkStatus();
}

// Go's netpollclose: nothing to do, close() removes the kevents.
absl::Status KqueueBackend::Remove(intptr_t /*fd*/) { return absl::OkStatus(); }

// Go's wakeNetpoll.
absl::Status KqueueBackend::Break() {
  struct kevent ev;
  EV_SET(&ev, kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  int err = Change(kq_, &ev, 1);
  if (err != 0) return SysErr(err, "kevent trigger");
  return absl::OkStatus();
}

// Go's netpoll, for pollers that call backends virtually.
absl::StatusOr<BackendWaitResult> KqueueBackend::Wait(int64_t delay,
                                                      BackendEvent* out,
                                                      size_t n) {
  BackendWaitResult r;
  size_t k = 0;
  auto put = [out, &k](const BackendEvent& ev) { out[k++] = ev; };
  EveryEvent h{&put};
  int err = Harvest(delay, n, &r, h);
  if (err != 0) return WaitError(err);
  return r;
}

absl::Status KqueueBackend::WaitError(int err) {
  return SysErr(err, "kevent wait");
}

// Go's netpollinit: kqueue, close-on-exec (macOS has no kqueue1), then the
// wake-up event.
absl::StatusOr<std::unique_ptr<KqueueBackend>> KqueueBackend::Open() {
  int kq = kqueue();
  if (kq < 0) return SysErr(errno, "kqueue");
  if (fcntl(kq, F_SETFD, FD_CLOEXEC) != 0) {
    int e = errno;
    close(kq);
    return SysErr(e, "fcntl FD_CLOEXEC");
  }
  struct kevent ev;
  EV_SET(&ev, kWakeIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  int err = Change(kq, &ev, 1);
  if (err != 0) {
    close(kq);
    return SysErr(err, "kevent add EVFILT_USER");
  }
  return std::unique_ptr<KqueueBackend>(new KqueueBackend(kq));
}

absl::StatusOr<std::unique_ptr<PollBackend>> NewPollBackend() {
  absl::StatusOr<std::unique_ptr<KqueueBackend>> b = KqueueBackend::Open();
  if (!b.ok()) return b.status();
  return std::unique_ptr<PollBackend>(std::move(*b));
}

const char* PollBackendName() { return "kqueue"; }

}  // namespace gort::internal
