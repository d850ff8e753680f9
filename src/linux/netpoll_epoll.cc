// SPDX-License-Identifier: BSD-3-Clause
// The epoll backend (Go: runtime/netpoll_epoll.go).
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "gort/errno.h"
#include "netpoll_internal.h"

namespace gort::internal {
namespace {

absl::Status SysErr(int err, const char* context) {
  return Error::FromSys(err).ToStatus(context);
}

class EpollBackend final : public PollBackend {
 public:
  EpollBackend(int epfd, int wakefd) : epfd_(epfd), wakefd_(wakefd) {}
  ~EpollBackend() override {
    close(wakefd_);
    close(epfd_);
  }

  absl::Status Add(intptr_t fd, uint64_t key) override {
    if (fd < 0 || fd > INT32_MAX) return SysErr(EBADF, "epoll_ctl add");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = key;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, static_cast<int>(fd), &ev) != 0) {
      return SysErr(errno, "epoll_ctl add");
    }
    return absl::OkStatus();
  }

  absl::Status Remove(intptr_t fd) override {
    if (fd < 0 || fd > INT32_MAX) return absl::OkStatus();
    epoll_event ev{};  // non-null for kernels before 2.6.9
    if (epoll_ctl(epfd_, EPOLL_CTL_DEL, static_cast<int>(fd), &ev) != 0 &&
        errno != EBADF && errno != ENOENT) {
      return SysErr(errno, "epoll_ctl del");
    }
    return absl::OkStatus();
  }

  absl::Status Break() override {
    uint64_t one = 1;
    for (;;) {
      ssize_t n = write(wakefd_, &one, sizeof(one));
      if (n == sizeof(one) || errno == EAGAIN) return absl::OkStatus();
      if (errno != EINTR) return SysErr(errno, "eventfd write");
    }
  }

  absl::StatusOr<BackendWaitResult> Wait(int64_t delay, BackendEvent* out,
                                         size_t n) override {
    epoll_event stack[kStackEvents];
    size_t cap;
    epoll_event* evs = harvest_.Get(stack, n, &cap);
    int max = static_cast<int>(cap);
    // An endless wait (the common case: nothing armed) skips the rounding,
    // whose division the compiler would otherwise compute first.
    const int ms = delay < 0 ? -1 : EpollDelayMillis(delay);
    BackendWaitResult r;
    int k;
    for (;;) {
      k = epoll_wait(epfd_, evs, max, ms);
      if (k >= 0) break;
      if (errno != EINTR) return SysErr(errno, "epoll_wait");
      // Go's EINTR rule: a timed wait returns empty so the caller can
      // recompute its delay; an endless or non-blocking one goes on.
      if (delay > 0) return r;
    }
    for (int i = 0; i < k; ++i) {
      const epoll_event& ev = evs[i];
      if (ev.data.u64 == kWakeKey) {
        // Only a blocking wait consumes the signal; a non-blocking one
        // leaves it for the blocking poll it is meant for.
        if (delay != 0) {
          uint64_t v;
          (void)read(wakefd_, &v, sizeof(v));
          r.broke = true;
        }
        continue;
      }
      uint32_t modes = 0;
      if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        modes |= kPollRead;
      }
      if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) modes |= kPollWrite;
      if (modes == 0) continue;
      out[r.n++] =
          BackendEvent{ev.data.u64, modes, ev.events == EPOLLERR, nullptr};
    }
    return r;
  }

  // The wake-up eventfd's key: no pollDesc handle has a zero low half.
  static constexpr uint64_t kWakeKey = 0;

 private:
  int epfd_;
  int wakefd_;
  HarvestBuffer<epoll_event> harvest_;  // Wait()s with n > kStackEvents
};

}  // namespace

// Go's delay rounding (netpoll_epoll.go): < 0 blocks, 0 polls, under 1 ms
// waits 1 ms, else whole milliseconds; from 1e15 ns (11.5 days) on, 1e9 ms.
int EpollDelayMillis(int64_t delay) {
  if (delay < 0) return -1;
  if (delay == 0) return 0;
  if (delay < 1000000) return 1;
  if (delay < 1000000000000000) return static_cast<int>(delay / 1000000);
  return 1000000000;
}

absl::StatusOr<std::unique_ptr<PollBackend>> NewPollBackend() {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return SysErr(errno, "epoll_create1");
  int wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakefd < 0) {
    int e = errno;
    close(epfd);
    return SysErr(e, "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: stays visible until read
  ev.data.u64 = EpollBackend::kWakeKey;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) {
    int e = errno;
    close(wakefd);
    close(epfd);
    return SysErr(e, "epoll_ctl add eventfd");
  }
  return std::unique_ptr<PollBackend>(new EpollBackend(epfd, wakefd));
}

const char* PollBackendName() { return "epoll"; }

}  // namespace gort::internal
