// SPDX-License-Identifier: BSD-3-Clause
// gort-internal view of the IOCP backend (src/windows/netpoll_iocp.cc), for
// gort's own tests and the probe: which timeout path it uses, and the
// completion port behind a backend made by NewPollBackend(). Not part of
// the public API.
#ifndef GORT_SRC_WINDOWS_NETPOLL_IOCP_H_
#define GORT_SRC_WINDOWS_NETPOLL_IOCP_H_

#include "netpoll_internal.h"

namespace gort::internal {

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
