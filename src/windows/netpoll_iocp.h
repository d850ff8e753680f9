// SPDX-License-Identifier: BSD-3-Clause
// gort-internal view of the IOCP backend (src/windows/netpoll_iocp.cc; Go:
// runtime/netpoll_windows.go): its class, declared here so the portable
// layer (src/netpoll.cc) calls the OS's own backend without a virtual call
// or a StatusOr on every Poll() (Harvest()); and, for gort's own tests and
// the probe, which timeout path it uses and the completion port behind a
// backend made by NewPollBackend(). Without <windows.h>: a HANDLE is kept
// as void*. Not part of the public API.
#ifndef GORT_SRC_WINDOWS_NETPOLL_IOCP_H_
#define GORT_SRC_WINDOWS_NETPOLL_IOCP_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "netpoll_internal.h"

struct _OVERLAPPED_ENTRY;  // <minwinbase.h>'s OVERLAPPED_ENTRY

namespace gort::internal {

class IocpBackend final : public PollBackend {
 public:
  // Go's netpollinit: the completion port.
  static absl::StatusOr<std::unique_ptr<IocpBackend>> Open();
  ~IocpBackend() override;

  absl::Status Add(intptr_t fd, uint64_t key) override;
  absl::Status Remove(intptr_t fd) override;
  bool SetSkipOnSuccess(intptr_t fd) override;
  absl::Status Break() override;
  absl::StatusOr<BackendWaitResult> Wait(int64_t delay, BackendEvent* out,
                                         size_t n) override;

  // Go's netpoll: PollBackend::Wait()'s contract, but each event goes to
  // the handler `h` (see EveryEvent in netpoll_internal.h; called with a
  // const BackendEvent&), and the result is a Win32
  // error (0: done; *r says what was seen). Inline, for Poll(); the
  // packets themselves are taken out of line (WaitInto). WaitError()
  // makes the Status of a failure.
  template <typename Handler>
  [[gnu::always_inline]] inline int Harvest(int64_t delay, size_t n,
                                            BackendWaitResult* r, Handler& h) {
    BackendEvent stack[kStackEvents];
    size_t cap;
    BackendEvent* out = events_.Get(stack, n, &cap);
    int err = WaitInto(delay, out, cap, r);
    if (err != 0) return err;
    size_t i = 0;
    while (i < r->n && h.Fast(out[i])) ++i;
    for (; i < r->n; ++i) h.Slow(out[i]);
    return 0;
  }
  static absl::Status WaitError(int err);
  // Harvest() has consumed the wake-up it reports (r->broke) already:
  // nothing is left to read. (The epoll backend's is an eventfd.)
  void ConsumeWake() {}
  // Completion keys are pollDesc handles: CompleteOp() and the stale
  // checks compare a record's key with them.
  static constexpr bool kTaggedKeys = false;

  void* port() const { return port_; }

 private:
  // Out of line, as is the destructor: harvest_'s element type is
  // complete only in netpoll_iocp.cc.
  explicit IocpBackend(void* port);
  // Wait()'s work: up to `n` (> 0) events into `out`; 0 or a Win32 error.
  int WaitInto(int64_t delay, BackendEvent* out, size_t n,
               BackendWaitResult* r);
  void OnWake(int64_t delay, BackendWaitResult* r);

  void* port_;  // HANDLE
  // Harvest()s and Wait()s with n > kStackEvents.
  HarvestBuffer<_OVERLAPPED_ENTRY> harvest_;
  HarvestBuffer<BackendEvent> events_;
};

// The backend Poller::Open() makes on this OS.
using NativePollBackend = IocpBackend;

// Whether timed waits use Go 1.23's high-resolution path: a per-thread
// CREATE_WAITABLE_TIMER_HIGH_RESOLUTION timer queued to the port through
// NtCreateWaitCompletionPacket / NtAssociateWaitCompletionPacket (Windows
// 10 1803+). False: GetQueuedCompletionStatusEx's millisecond timeout alone
// (Windows rounds it to the ~15.6 ms tick). Decided once per process; Wine
// 8 exports none of the Nt*WaitCompletionPacket functions, so false there.
bool IocpHighResTimeouts();

// The completion port (a HANDLE) of `backend`, which must come from this
// OS's NewPollBackend(). For tests that post packets of their own.
void* IocpPortForTesting(PollBackend* backend);

}  // namespace gort::internal

#endif  // GORT_SRC_WINDOWS_NETPOLL_IOCP_H_
