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
  const epoll_event& ev;
  uint64_t Key() const { return ev.data.u64; }
  bool Readable() const { return (ev.events & kRead) != 0; }
  bool Writable() const { return (ev.events & kWrite) != 0; }
  bool ErrorOnly() const { return ev.events == EPOLLERR; }
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
  // `on` (called with a const EpollEvent&) as it is harvested, and the
  // result is an errno (0: done; *r says what was seen) or kHarvestAgain
  // (interrupted, an untimed wait: call again). r->broke set means the
  // wake-up was seen by a blocking wait: the caller consumes it with
  // ConsumeWake() before it clears its wake flag (Go reads the eventfd,
  // then stores netpollWakeSig). Both leave the rare steps to the caller,
  // which can start over from its own state, so that nothing of this
  // call's (the backend, the array's length) is kept across epoll_wait.
  // Inline, for Poll(); WaitError() makes the Status of a failure.
  template <typename OnEvent>
  [[gnu::always_inline]] inline int Harvest(int64_t delay, size_t n,
                                            BackendWaitResult* r, OnEvent&& on);
  static absl::Status WaitError(int err);

  // Harvest()'s rare steps, out of line and cold. WaitFailed: after
  // epoll_wait failed (errno set), Go's EINTR rule: a timed wait (delay >
  // 0) returns empty (0) so the caller can recompute its delay; an endless
  // or non-blocking one waits again (kHarvestAgain). Else the errno.
  [[gnu::noinline, gnu::cold]] static int WaitFailed(int64_t delay);
  [[gnu::noinline, gnu::cold]] void ConsumeWake();

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

template <typename OnEvent>
inline int EpollBackend::Harvest(int64_t delay, size_t n, BackendWaitResult* r,
                                 OnEvent&& on) {
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
  for (int i = 0; i < k; ++i) {
    const epoll_event& ev = evs[i];
    if (ev.data.u64 == kWakeKey) [[unlikely]] {
      // Only a blocking wait consumes the signal (the caller, see
      // above); a non-blocking one leaves it for the blocking poll it is
      // meant for.
      if (delay != 0) r->broke = true;
      continue;
    }
    // Go: an event that readies neither direction is skipped.
    if ((ev.events & (EpollEvent::kRead | EpollEvent::kWrite)) == 0) continue;
    ++r->n;
    on(EpollEvent{ev});
  }
  return 0;
}

}  // namespace gort::internal

#endif  // GORT_SRC_LINUX_NETPOLL_EPOLL_H_
