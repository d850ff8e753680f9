// SPDX-License-Identifier: BSD-3-Clause
// The epoll backend's class (Go: runtime/netpoll_epoll.go), declared here
// so the portable layer (src/netpoll.cc) can call the OS's own backend
// directly: Poller::Poll() inlines Harvest() and handles each epoll_event
// as it is translated, with no virtual call, no StatusOr and no array of
// BackendEvents in between. Pollers over other backends (tests' scripted
// ones) go through the virtual PollBackend::Wait(). Internal to gort.
#ifndef GORT_SRC_LINUX_NETPOLL_EPOLL_H_
#define GORT_SRC_LINUX_NETPOLL_EPOLL_H_

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "netpoll_internal.h"

namespace gort::internal {

// One epoll_event as Poll() reads it (see BackendEvent): the direction
// tests are tests of the kernel's bits where Poll() makes them, with no
// word of kPollRead/kPollWrite bits built in between.
struct EpollEvent {
  static constexpr uint32_t kRead = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  static constexpr uint32_t kWrite = EPOLLOUT | EPOLLHUP | EPOLLERR;
  // The key is a tagged pollDesc address (Go: netpoll_epoll.go registers
  // a taggedPointer), which Poll() turns into the pollDesc with no table
  // lookup: Poller::Register() gives Add() TaggedKey()s when it runs over
  // this backend natively (Harvest()). Through the virtual Wait(), keys
  // are whatever Add() was given (handles) and events are BackendEvents.
  static constexpr bool kTaggedKey = true;
  // Copies, not a reference into the array: the kernel's words are then
  // loaded once, where Harvest() tests them, and stay in registers across
  // the atomic operations on the pollDesc (which the compiler may not move
  // loads of memory it cannot see to be private across).
  uint32_t events;
  uint64_t key;
  uint64_t Key() const { return key; }
  bool Readable() const { return (events & kRead) != 0; }
  bool Writable() const { return (events & kWrite) != 0; }
  bool ErrorOnly() const { return events == EPOLLERR; }
  BackendEvent ToBackendEvent() const {
    return BackendEvent{
        Key(), (Readable() ? kPollRead : 0) | (Writable() ? kPollWrite : 0),
        ErrorOnly(), nullptr};
  }
};

class EpollBackend final : public PollBackend {
 public:
  // Go's netpollinit: the epoll instance and its wake-up eventfd.
  static absl::StatusOr<std::unique_ptr<EpollBackend>> Open();
  ~EpollBackend() override;

  absl::Status Add(intptr_t fd, uint64_t key) override;
  absl::Status Remove(intptr_t fd) override;
  absl::Status Break() override;
  absl::StatusOr<BackendWaitResult> Wait(int64_t delay, BackendEvent* out,
                                         size_t n) override;

  // Go's netpoll: PollBackend::Wait()'s contract, but each event goes to
  // the handler `h` (see EveryEvent in netpoll_internal.h; called with a
  // const EpollEvent&) as it is harvested, and the result is an errno (0:
  // done; *r says what was seen) or kHarvestAgain
  // (interrupted, an untimed wait: call again). r->broke set means the
  // wake-up was seen by a blocking wait: the caller consumes it with
  // ConsumeWake() before it clears its wake flag (Go reads the eventfd,
  // then stores netpollWakeSig). Both leave the rare steps to the caller,
  // which can start over from its own state, so that nothing of this
  // call's (the backend, the array's length) is kept across epoll_wait.
  // Inline, for Poll(); WaitError() makes the Status of a failure.
  template <typename Handler>
  [[gnu::always_inline]] inline int Harvest(int64_t delay, size_t n,
                                            BackendWaitResult* r, Handler& h);
  static absl::Status WaitError(int err);

  // Harvest()'s rare steps, out of line and cold. WaitFailed: after
  // epoll_wait failed (errno set), Go's EINTR rule: a timed wait (delay >
  // 0) returns empty (0) so the caller can recompute its delay; an endless
  // or non-blocking one waits again (kHarvestAgain). Else the errno.
  [[gnu::noinline, gnu::cold]] static int WaitFailed(int64_t delay);
  [[gnu::noinline, gnu::cold]] void ConsumeWake();
  // Harvest()'s loop once the handler's Fast() declined an event: that
  // event and the rest, up to `end`, go to its Slow(). Out of line, so that
  // Harvest()'s own loop makes no call; the handler travels by value (a
  // reference would make the caller keep it in memory).
  // It reports the events it skipped (the wake-up's, those for neither
  // direction), so that Harvest() counts what was handled as k less those
  // and keeps nothing of its loop (the array's start) for the count.
  template <typename Handler>
  struct Rest {
    Handler h;
    size_t skipped;  // events not handed to the handler
    bool wake;       // the wake-up's event was among them
  };
  template <typename Handler>
  [[gnu::noinline, gnu::cold]] static Rest<Handler> HarvestRest(
      const epoll_event* ev, const epoll_event* end, Handler h);

  // Whether Poller::Register() gives Add() tagged keys (see EpollEvent).
  static constexpr bool kTaggedKeys = EpollEvent::kTaggedKey;
  // The wake-up eventfd's key: no pollDesc handle has a zero low half,
  // and no tagged key is 0 (a pollDesc's address is not null).
  static constexpr uint64_t kWakeKey = 0;

 private:
  EpollBackend(int epfd, int wakefd) : epfd_(epfd), wakefd_(wakefd) {}

  int epfd_;
  int wakefd_;
  HarvestBuffer<epoll_event> harvest_;  // Wait()s with n > kStackEvents
};

// The backend Poller::Open() makes on this OS.
using NativePollBackend = EpollBackend;

template <typename Handler>
inline int EpollBackend::Harvest(int64_t delay, size_t n, BackendWaitResult* r,
                                 Handler& h) {
  epoll_event stack[kStackEvents];
  size_t cap;
  epoll_event* evs = harvest_.Get(stack, n, &cap);
  int max = static_cast<int>(cap);
  // An endless wait (the common case: nothing armed) skips the rounding,
  // whose division the compiler would otherwise compute first.
  const int ms = delay < 0 ? -1 : EpollDelayMillis(delay);
  int k = epoll_wait(epfd_, evs, max, ms);
  if (k < 0) [[unlikely]] {
    return WaitFailed(delay);
  }
  // The common events (a pollDesc's, which the handler takes at once) are
  // handled here; the first other one (the wake-up's, one for neither
  // direction, one the handler's Fast() declines) ends this loop, and it
  // and the rest go to HarvestRest(). Then this loop carries nothing but
  // its pointer: every event before the first other one was seen, and the
  // wake-up was not.
  const epoll_event* const end = evs + k;
  for (const epoll_event* p = evs; p != end; ++p) {
    const EpollEvent ev{p->events, p->data.u64};
    // Go: an event that readies neither direction is skipped (by
    // HarvestRest()).
    if (ev.key == kWakeKey ||
        (ev.events & (EpollEvent::kRead | EpollEvent::kWrite)) == 0 ||
        !h.Fast(ev)) [[unlikely]] {
      Rest<Handler> rest = HarvestRest(p, end, h);
      h = rest.h;
      r->n = static_cast<size_t>(k) - rest.skipped;
      // Only a blocking wait consumes the signal (the caller, see
      // above); a non-blocking one leaves it for the blocking poll it is
      // meant for.
      r->broke = rest.wake && delay != 0;
      return 0;
    }
  }
  r->n = static_cast<size_t>(k);
  r->broke = false;
  return 0;
}

template <typename Handler>
EpollBackend::Rest<Handler> EpollBackend::HarvestRest(const epoll_event* ev,
                                                      const epoll_event* end,
                                                      Handler h) {
  Rest<Handler> rest{h, 0, false};
  for (; ev != end; ++ev) {
    if (ev->data.u64 == kWakeKey) {
      rest.wake = true;
      ++rest.skipped;
      continue;
    }
    if ((ev->events & (EpollEvent::kRead | EpollEvent::kWrite)) == 0) {
      ++rest.skipped;
      continue;
    }
    rest.h.Slow(EpollEvent{ev->events, ev->data.u64});
  }
  return rest;
}

}  // namespace gort::internal

#endif  // GORT_SRC_LINUX_NETPOLL_EPOLL_H_
