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
#include <errno.h>
#include <fcntl.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "gort/errno.h"
#include "netpoll_internal.h"

namespace gort::internal {
namespace {

static_assert(sizeof(void*) == 8, "udata must hold a 64-bit pollDesc handle");

absl::Status SysErr(int err, const char* context) {
  return Error::FromSys(err).ToStatus(context);
}

// The EVFILT_USER identifier of the wake-up event (Go's kqIdent). User
// events have their own identifier space, apart from descriptors.
constexpr uintptr_t kWakeIdent = 0xee1eb9f4;

// Go's delay conversion: < 0 waits forever (no timespec), 0 polls (a zero
// timespec), else seconds and nanoseconds, seconds capped at 1e6 because
// Darwin fails with EINVAL for longer waits.
struct timespec* DelayToTimespec(int64_t delay, struct timespec* ts) {
  if (delay < 0) return nullptr;
  ts->tv_sec = static_cast<time_t>(delay / 1000000000);
  ts->tv_nsec = static_cast<long>(delay % 1000000000);
  if (ts->tv_sec > 1000000) ts->tv_sec = 1000000;
  return ts;
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

class KqueueBackend final : public PollBackend {
 public:
  explicit KqueueBackend(int kq) : kq_(kq) {}
  ~KqueueBackend() override { close(kq_); }

  // Go's netpollopen: both filters in one call.
  absl::Status Add(intptr_t fd, uint64_t key) override {
    if (fd < 0 || fd > INT32_MAX) return SysErr(EBADF, "kevent add");
    struct kevent ev[2];
    void* udata = reinterpret_cast<void*>(static_cast<uintptr_t>(key));
    EV_SET(&ev[0], static_cast<uintptr_t>(fd), EVFILT_READ, EV_ADD | EV_CLEAR,
           0, 0, udata);
    EV_SET(&ev[1], static_cast<uintptr_t>(fd), EVFILT_WRITE, EV_ADD | EV_CLEAR,
           0, 0, udata);
    int err = Change(kq_, ev, 2);
    if (err != 0) return SysErr(err, "kevent add");
    return absl::OkStatus();
  }

  // Go's netpollclose: nothing to do, close() removes the kevents.
  absl::Status Remove(intptr_t /*fd*/) override { return absl::OkStatus(); }

  // Go's wakeNetpoll.
  absl::Status Break() override {
    struct kevent ev;
    EV_SET(&ev, kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
    int err = Change(kq_, &ev, 1);
    if (err != 0) return SysErr(err, "kevent trigger");
    return absl::OkStatus();
  }

  // Go's netpoll.
  absl::StatusOr<BackendWaitResult> Wait(int64_t delay, BackendEvent* out,
                                         size_t n) override {
    struct kevent stack[kStackEvents];
    size_t cap;
    struct kevent* evs = harvest_.Get(stack, n, &cap);
    int max = static_cast<int>(cap);
    struct timespec ts;
    BackendWaitResult r;
    int k;
    for (;;) {
      k = kevent(kq_, nullptr, 0, evs, max, DelayToTimespec(delay, &ts));
      if (k >= 0) break;
      // Go also tolerates ETIMEDOUT here (golang.org/issue/59679: kevent
      // was seen failing with it on Darwin).
      if (errno != EINTR && errno != ETIMEDOUT) {
        return SysErr(errno, "kevent wait");
      }
      // Go's EINTR rule: a timed wait returns empty so the caller can
      // recompute its delay; an endless or non-blocking one goes on.
      if (delay > 0) return r;
    }
    for (int i = 0; i < k; ++i) {
      const struct kevent& ev = evs[i];
      if (ev.filter == EVFILT_USER) {
        if (ev.ident != kWakeIdent) continue;  // not ours (Go throws)
        if (delay != 0) {
          r.broke = true;
        } else {
          // EV_CLEAR reset it; hand it on to the blocking poll it is for.
          (void)Break();
        }
        continue;
      }
      uint32_t modes = 0;
      if (ev.filter == EVFILT_READ) {
        modes |= kPollRead;
        // When the read end of a pipe closes, some systems send the write
        // end EVFILT_READ with EV_EOF instead of EVFILT_WRITE: wake the
        // writer too, whose retry will see EPIPE (or succeed).
        if (ev.flags & EV_EOF) modes |= kPollWrite;
      } else if (ev.filter == EVFILT_WRITE) {
        modes |= kPollWrite;
      }
      if (modes == 0) continue;
      // Go: pd.setEventErr(ev.flags == _EV_ERROR, tag): only flags that are
      // EV_ERROR and nothing else mark an error.
      out[r.n++] = BackendEvent{
          static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ev.udata)), modes,
          ev.flags == EV_ERROR, nullptr};
    }
    return r;
  }

 private:
  int kq_;
  HarvestBuffer<struct kevent> harvest_;  // Wait()s with n > kStackEvents
};

}  // namespace

// Go's netpollinit: kqueue, close-on-exec (macOS has no kqueue1), then the
// wake-up event.
absl::StatusOr<std::unique_ptr<PollBackend>> NewPollBackend() {
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
  return std::unique_ptr<PollBackend>(new KqueueBackend(kq));
}

const char* PollBackendName() { return "kqueue"; }

}  // namespace gort::internal
