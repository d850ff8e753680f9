// SPDX-License-Identifier: BSD-3-Clause
// The kqueue backend's class (Go: runtime/netpoll_kqueue.go), declared
// here so the portable layer (src/netpoll.cc) can call the OS's own
// backend directly: Poller::Poll() inlines Harvest() and handles each
// kevent as it is translated, with no virtual call, no StatusOr and no
// array of BackendEvents in between. Pollers over other backends (tests'
// scripted ones) go through the virtual PollBackend::Wait(). How this
// backend differs from epoll's is told in netpoll_kqueue.cc. Internal to
// gort.
#ifndef GORT_SRC_DARWIN_NETPOLL_KQUEUE_H_
#define GORT_SRC_DARWIN_NETPOLL_KQUEUE_H_

#include <errno.h>
#include <sys/event.h>
#include <sys/time.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "netpoll_internal.h"

namespace gort::internal {

class KqueueBackend final : public PollBackend {
 public:
  // Go's netpollinit: the kqueue and its EVFILT_USER wake-up event.
  static absl::StatusOr<std::unique_ptr<KqueueBackend>> Open();
  ~KqueueBackend() override;

  absl::Status Add(intptr_t fd, uint64_t key) override;
  absl::Status Remove(intptr_t fd) override;
  absl::Status Break() override;
  absl::StatusOr<BackendWaitResult> Wait(int64_t delay, BackendEvent* out,
                                         size_t n) override;

  // Go's netpoll: PollBackend::Wait()'s contract, but each event goes to
  // the handler `h` (see EveryEvent in netpoll_internal.h; called with a
  // const BackendEvent&) as it is translated, and the
  // result is an errno (0: done; *r says what was seen). Inline, for
  // Poll(); WaitError() makes the Status of a failure.
  template <typename Handler>
  [[gnu::always_inline]] inline int Harvest(int64_t delay, size_t n,
                                            BackendWaitResult* r, Handler& h);
  static absl::Status WaitError(int err);
  // Harvest() has consumed the wake-up it reports (r->broke) already:
  // nothing is left to read. (The epoll backend's is an eventfd.)
  void ConsumeWake() {}
  // Keys are pollDesc handles (udata), events BackendEvents.
  static constexpr bool kTaggedKeys = false;

  // The EVFILT_USER identifier of the wake-up event (Go's kqIdent). User
  // events have their own identifier space, apart from descriptors.
  static constexpr uintptr_t kWakeIdent = 0xee1eb9f4;

 private:
  explicit KqueueBackend(int kq) : kq_(kq) {}

  // Go's delay conversion: < 0 waits forever (no timespec), 0 polls (a
  // zero timespec), else seconds and nanoseconds, seconds capped at 1e6
  // because Darwin fails with EINVAL for longer waits.
  static struct timespec* DelayToTimespec(int64_t delay, struct timespec* ts) {
    if (delay < 0) return nullptr;
    ts->tv_sec = static_cast<time_t>(delay / 1000000000);
    ts->tv_nsec = static_cast<long>(delay % 1000000000);
    if (ts->tv_sec > 1000000) ts->tv_sec = 1000000;
    return ts;
  }

  int kq_;
  HarvestBuffer<struct kevent> harvest_;  // Wait()s with n > kStackEvents
};

// The backend Poller::Open() makes on this OS.
using NativePollBackend = KqueueBackend;

template <typename Handler>
inline int KqueueBackend::Harvest(int64_t delay, size_t n, BackendWaitResult* r,
                                  Handler& h) {
  struct kevent stack[kStackEvents];
  size_t cap;
  struct kevent* evs = harvest_.Get(stack, n, &cap);
  int max = static_cast<int>(cap);
  struct timespec ts;
  int k;
  for (;;) {
    k = kevent(kq_, nullptr, 0, evs, max, DelayToTimespec(delay, &ts));
    if (k >= 0) break;
    // Go also tolerates ETIMEDOUT here (golang.org/issue/59679: kevent
    // was seen failing with it on Darwin).
    if (errno != EINTR && errno != ETIMEDOUT) return errno;
    // Go's EINTR rule: a timed wait returns empty so the caller can
    // recompute its delay; an endless or non-blocking one goes on.
    if (delay > 0) return 0;
  }
  bool fast = true;  // until the handler's Fast() declines an event
  for (int i = 0; i < k; ++i) {
    const struct kevent& ev = evs[i];
    if (ev.filter == EVFILT_USER) {
      if (ev.ident != kWakeIdent) continue;  // not ours (Go throws)
      if (delay != 0) {
        r->broke = true;
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
    ++r->n;
    const BackendEvent be{
        static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ev.udata)), modes,
        ev.flags == EV_ERROR, nullptr};
    if (!fast || !(fast = h.Fast(be))) h.Slow(be);
  }
  return 0;
}

}  // namespace gort::internal

#endif  // GORT_SRC_DARWIN_NETPOLL_KQUEUE_H_
