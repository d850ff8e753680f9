// SPDX-License-Identifier: BSD-3-Clause
// `co_await rt::Readable(fd)`: waits until `fd` may have input, without
// reading (Go: internal/poll's pd.waitRead, which RawConn.Read uses).
//
// Why: gort's poller is edge-triggered, and an Fd Read that starts resets
// the direction's readiness (Go's prepareRead), so a reader must read until
// EAGAIN to be sure it missed no edge: one extra read per message. After a
// short read, the socket was empty when read; any byte arriving later
// brings a new edge, which marks the pollDesc ready or hands out a token
// parked here. So a stream reader that got less than it asked for can
// co_await Readable() and skip the read that would say EAGAIN, as libuv
// (level-triggered) stops after a short read. The next Read then finds the
// data (or EAGAIN after a stale edge, and parks: still correct).
//
// It is gort::Fd::WaitRead. Readiness backends only (epoll, kqueue): on
// Windows the poller sees completions, and WaitRead fails with ENOTSUP, so
// there Readable() returns at once and the Read waits instead (kSupported
// is false). Errors (closing, deadline) are left for the next Read to
// report: Readable() then returns at once too.
#ifndef GORT_EXAMPLES_RUNTIME_READABLE_H_
#define GORT_EXAMPLES_RUNTIME_READABLE_H_

#include <coroutine>
#include <cstdint>

#include "absl/status/status.h"
#include "fd_ops.h"
#include "gort/fd.h"
#include "scheduler.h"
#include "task.h"

namespace rt {

// Not a Waiter of its own: nothing needs doing when the token comes out but
// resuming the coroutine, and the task's promise does just that when run
// (task.h). So the promise is the token, and the awaitable stores nothing
// but the Fd.
class ReadableAwait {
 public:
#ifdef _WIN32
  static constexpr bool kSupported = false;
#else
  static constexpr bool kSupported = true;
#endif

  explicit ReadableAwait(gort::Fd& fd) : fd_(fd) {}
  ReadableAwait(const ReadableAwait&) = delete;
  ReadableAwait& operator=(const ReadableAwait&) = delete;

  bool await_ready() const noexcept { return !kSupported; }
  // Parks the token once the coroutine is suspended (as fd_ops.h does); any
  // other outcome (ready, closing, deadline) resumes at once.
  bool await_suspend(std::coroutine_handle<Task::promise_type> h) {
    // r is this call's own: kParked is written before the token can be
    // published (and another worker resume the coroutine), nothing after.
    // Not initialised: WaitRead writes both fields on every return but
    // EINVAL, where r is not read (s is not OK).
    RawIoResult raw;
    gort::IoResult& r = *raw.get();
    absl::Status s = fd_.WaitRead(
        reinterpret_cast<uintptr_t>(static_cast<Waiter*>(&h.promise())), &r);
    return s.ok() && r.state == gort::IoState::kParked;
  }
  // The token came out (or the wait was over at once): nothing to finish.
  void await_resume() const noexcept {}

 private:
  gort::Fd& fd_;
};

inline ReadableAwait Readable(Scheduler&, gort::Fd& fd) {
  return ReadableAwait(fd);
}

}  // namespace rt

#endif  // GORT_EXAMPLES_RUNTIME_READABLE_H_
