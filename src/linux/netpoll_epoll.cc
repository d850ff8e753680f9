// SPDX-License-Identifier: BSD-3-Clause
// The epoll backend (Go: runtime/netpoll_epoll.go); its class and the
// inline Harvest() are in netpoll_epoll.h.
#include "linux/netpoll_epoll.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "gort/errno.h"
#include "netpoll_internal.h"

namespace gort::internal {
namespace {

absl::Status SysErr(int err, const char* context) {
  return Error::FromSys(err).ToStatus(context);
}

}  // namespace

EpollBackend::~EpollBackend() {
  close(wakefd_);
  close(epfd_);
}

absl::Status EpollBackend::Add(intptr_t fd, uint64_t key) {
  if (fd < 0 || fd > INT32_MAX) return SysErr(EBADF, "epoll_ctl add");
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = key;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, static_cast<int>(fd), &ev) != 0) {
    return SysErr(errno, "epoll_ctl add");
  }
  return absl::OkStatus();
}

absl::Status EpollBackend::Remove(intptr_t fd) {
  if (fd < 0 || fd > INT32_MAX) return absl::OkStatus();
  epoll_event ev{};  // non-null for kernels before 2.6.9
  if (epoll_ctl(epfd_, EPOLL_CTL_DEL, static_cast<int>(fd), &ev) != 0 &&
      errno != EBADF && errno != ENOENT) {
    return SysErr(errno, "epoll_ctl del");
  }
  return absl::OkStatus();
}

absl::Status EpollBackend::Break() {
  uint64_t one = 1;
  for (;;) {
    ssize_t n = write(wakefd_, &one, sizeof(one));
    if (n == sizeof(one) || errno == EAGAIN) return absl::OkStatus();
    if (errno != EINTR) return SysErr(errno, "eventfd write");
  }
}

absl::StatusOr<BackendWaitResult> EpollBackend::Wait(int64_t delay,
                                                     BackendEvent* out,
                                                     size_t n) {
  BackendWaitResult r;
  size_t k = 0;
  int err;
  auto put = [out, &k](const EpollEvent& ev) {
    out[k++] = ev.ToBackendEvent();
  };
  EveryEvent h{&put};
  do {
    err = Harvest(delay, n, &r, h);
  } while (err == kHarvestAgain);
  if (err != 0) return WaitError(err);
  if (r.broke) ConsumeWake();
  return r;
}

int EpollBackend::WaitFailed(int64_t delay) {
  if (errno != EINTR) return errno;
  return delay > 0 ? 0 : kHarvestAgain;
}

void EpollBackend::ConsumeWake() {
  uint64_t v;
  (void)read(wakefd_, &v, sizeof(v));
}

absl::Status EpollBackend::WaitError(int err) {
  return SysErr(err, "epoll_wait");
}

absl::StatusOr<std::unique_ptr<EpollBackend>> EpollBackend::Open() {
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
  ev.data.u64 = kWakeKey;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) {
    int e = errno;
    close(wakefd);
    close(epfd);
    return SysErr(e, "epoll_ctl add eventfd");
  }
  return std::unique_ptr<EpollBackend>(new EpollBackend(epfd, wakefd));
}

absl::StatusOr<std::unique_ptr<PollBackend>> NewPollBackend() {
  absl::StatusOr<std::unique_ptr<EpollBackend>> b = EpollBackend::Open();
  if (!b.ok()) return b.status();
  return std::unique_ptr<PollBackend>(std::move(*b));
}

const char* PollBackendName() { return "epoll"; }

}  // namespace gort::internal
