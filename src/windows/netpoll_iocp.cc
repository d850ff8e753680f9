// SPDX-License-Identifier: BSD-3-Clause
// The IOCP backend (Go: runtime/netpoll_windows.go, with the per-thread
// high-resolution timer Go 1.23 keeps per M in runtime/os_windows.go).
//
// Windows reports completions, not readiness: the embedder starts an
// overlapped operation with the OVERLAPPED of a pollDesc's WinOp
// (Poller::Overlapped, which marks it in flight), and its packet readies
// that direction and makes the record idle again (src/netpoll.cc). Add()
// associates the handle with the port, keyed with the pollDesc handle; a
// packet is ours only if its OVERLAPPED is a WinOp whose key is the
// packet's key (Go checks op.pd against the key the same way). Packets of
// the backend itself carry keys whose low 32 bits are zero, which no
// pollDesc handle has: the wake-up and the timer packets.
//
// Timeouts: GetQueuedCompletionStatusEx takes milliseconds and Windows
// rounds them up to the ~15.6 ms clock tick. As Go 1.23 does (issue 44343),
// a timed wait first arms this thread's high-resolution waitable timer and
// queues it to the port with NtAssociateWaitCompletionPacket: when it fires,
// a timer packet wakes a waiter. The millisecond timeout stays as the
// backstop, because the timer packet may wake another thread waiting on
// the same port. Where ntdll lacks the functions (before Windows 10, and
// Wine 8) or the high-resolution flag is refused, only the millisecond
// timeout is used, rounded like Go (under 1 ms waits 1 ms).
//
// Thread safety: the port is shared and the Win32 calls on it are
// thread-safe; the timer and its wait completion packet are per thread
// (thread_local, made on a thread's first timed wait, closed when it exits),
// which is Go's per-M ownership. A packet may be associated with any port,
// so one thread can poll several Pollers: each timed wait first cancels the
// thread's previous association, wherever it was.
#include "windows/netpoll_iocp.h"

// clang-format off
#include <winsock2.h>
#include <windows.h>
// clang-format on

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "gort/errno.h"
#include "gort/error_codes.h"
#include "netpoll_internal.h"

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002
#endif

namespace gort::internal {
namespace {

static_assert(sizeof(OVERLAPPED) == sizeof(WinOp{}.overlapped),
              "WinOp's storage must hold exactly one OVERLAPPED");
static_assert(alignof(OVERLAPPED) <= alignof(WinOp),
              "WinOp must be aligned for an OVERLAPPED");
static_assert(offsetof(WinOp, overlapped) == 0,
              "the OVERLAPPED comes first, so OVERLAPPED* maps to its WinOp");

using NtStatus = LONG;
constexpr NtStatus kStatusSuccess = 0;
constexpr NtStatus kStatusPending = 0x00000103;
constexpr NtStatus kStatusCancelled = static_cast<NtStatus>(0xC0000120);

// The backend's own packet keys: the low 32 bits are zero, which no pollDesc
// handle has (its low half is index + 1). Distinct from 0 so that a stray
// packet posted with key 0 is reported as foreign, not taken as a wake-up.
constexpr uint64_t kWakeKey = uint64_t{0x776b} << 32;   // "wk"
constexpr uint64_t kTimerKey = uint64_t{0x746d} << 32;  // "tm"

// Go's cap on a wait: 1e15 ns, about 11.5 days (below INFINITE in ms).
constexpr int64_t kMaxDelay = 1000000000000000;

// Go's rounding: < 0 blocks, 0 polls, under 1 ms waits 1 ms, else whole
// milliseconds (truncated; the caller copes with an early return).
DWORD DelayToMillis(int64_t delay) {
  if (delay < 0) return INFINITE;
  if (delay == 0) return 0;
  if (delay < 1000000) return 1;
  return static_cast<DWORD>(std::min(delay, kMaxDelay) / 1000000);
}

using NtCreateWaitCompletionPacketFn = NtStatus(WINAPI*)(HANDLE* packet,
                                                         ACCESS_MASK access,
                                                         void* attributes);
using NtAssociateWaitCompletionPacketFn = NtStatus(WINAPI*)(
    HANDLE packet, HANDLE port, HANDLE target, void* key, void* apc_context,
    NtStatus io_status, ULONG_PTR io_information, BOOLEAN* already_signaled);
using NtCancelWaitCompletionPacketFn = NtStatus(WINAPI*)(HANDLE packet,
                                                         BOOLEAN remove);
using RtlNtStatusToDosErrorFn = ULONG(WINAPI*)(NtStatus status);

// GetProcAddress returns FARPROC; going through void* keeps
// -Wcast-function-type quiet. ntdll is mapped into every process, so
// GetModuleHandleW loads nothing (no DLL search, no planting).
template <typename Fn>
Fn NtdllProc(const char* name) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr) return nullptr;
  void* p = reinterpret_cast<void*>(GetProcAddress(ntdll, name));
  return reinterpret_cast<Fn>(p);
}

HANDLE NewHighResTimer() {
  return CreateWaitableTimerExW(
      nullptr, nullptr, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
      SYNCHRONIZE | TIMER_QUERY_STATE | TIMER_MODIFY_STATE);
}

// What ntdll offers, looked up once per process.
struct Ntdll {
  RtlNtStatusToDosErrorFn status_to_error = nullptr;
  NtCreateWaitCompletionPacketFn create_packet = nullptr;
  NtAssociateWaitCompletionPacketFn associate_packet = nullptr;
  NtCancelWaitCompletionPacketFn cancel_packet = nullptr;
  bool high_res = false;  // the three packet functions and the timer flag
};

const Ntdll& GetNtdll() {
  static const Ntdll nt = [] {
    Ntdll n;
    n.status_to_error =
        NtdllProc<RtlNtStatusToDosErrorFn>("RtlNtStatusToDosError");
    n.create_packet = NtdllProc<NtCreateWaitCompletionPacketFn>(
        "NtCreateWaitCompletionPacket");
    n.associate_packet = NtdllProc<NtAssociateWaitCompletionPacketFn>(
        "NtAssociateWaitCompletionPacket");
    n.cancel_packet = NtdllProc<NtCancelWaitCompletionPacketFn>(
        "NtCancelWaitCompletionPacket");
    if (n.create_packet != nullptr && n.associate_packet != nullptr &&
        n.cancel_packet != nullptr) {
      // Windows before 10 1803 refuses the flag (ERROR_INVALID_PARAMETER);
      // Go's createHighResTimer probes it the same way.
      HANDLE t = NewHighResTimer();
      if (t != nullptr) {
        CloseHandle(t);
        n.high_res = true;
      }
    }
    return n;
  }();
  return nt;
}

// A completion's Win32 error, as GetOverlappedResult would report it: 0 for
// a success or informational NTSTATUS, else its DOS error.
uint32_t StatusToError(NtStatus status) {
  if (status >= 0) return 0;
  RtlNtStatusToDosErrorFn f = GetNtdll().status_to_error;
  return f != nullptr ? static_cast<uint32_t>(f(status))
                      : static_cast<uint32_t>(ERROR_MR_MID_NOT_FOUND);
}

// One thread's high-resolution timer and the wait completion packet that
// queues its expiry to a port (Go's m.waitIocpTimer / m.waitIocpHandle).
class ThreadWaitTimer {
 public:
  ThreadWaitTimer() {
    const Ntdll& nt = GetNtdll();
    if (!nt.high_res) return;
    timer_ = NewHighResTimer();
    if (timer_ == nullptr) return;
    HANDLE packet = nullptr;
    if (nt.create_packet(&packet, GENERIC_ALL, nullptr) != kStatusSuccess) {
      CloseHandle(timer_);
      timer_ = nullptr;
      return;
    }
    packet_ = packet;
  }
  ~ThreadWaitTimer() {
    if (packet_ != nullptr) {
      (void)GetNtdll().cancel_packet(packet_, TRUE);
      CloseHandle(packet_);
    }
    if (timer_ != nullptr) CloseHandle(timer_);
  }
  ThreadWaitTimer(const ThreadWaitTimer&) = delete;
  ThreadWaitTimer& operator=(const ThreadWaitTimer&) = delete;

  enum class Queued {
    kArmed,     // a timer packet will reach `port` after `delay`
    kSignaled,  // the timer fired before the packet was associated
    kSkipped,   // not available now: rely on the millisecond timeout
  };

  // Go's netpollQueueTimer: arms the timer for `delay` ns (> 0) and queues
  // its expiry to `port`.
  Queued Queue(HANDLE port, int64_t delay) {
    if (packet_ == nullptr) return Queued::kSkipped;
    const Ntdll& nt = GetNtdll();
    // A packet serves one wait at a time. The previous one may still be
    // armed (this thread was woken by something else) or its packet still
    // queued: cancel it, removing a queued packet too.
    NtStatus s = nt.cancel_packet(packet_, TRUE);
    // STATUS_CANCELLED: the timer already fired, which ended the
    // association. STATUS_PENDING: it is firing right now and cannot be
    // cancelled; skip the high-resolution timer this once (Go does too).
    // Anything else (Go throws) also leaves the millisecond timeout alone.
    if (s == kStatusPending) return Queued::kSkipped;
    if (s != kStatusSuccess && s != kStatusCancelled) return Queued::kSkipped;
    LARGE_INTEGER due;
    due.QuadPart = -((delay + 99) / 100);  // relative, 100 ns units, rounded up
    if (!SetWaitableTimer(timer_, &due, 0, nullptr, nullptr, FALSE)) {
      return Queued::kSkipped;
    }
    BOOLEAN signaled = FALSE;
    s = nt.associate_packet(packet_, port, timer_,
                            reinterpret_cast<void*>(kTimerKey), nullptr,
                            kStatusSuccess, 0, &signaled);
    if (s != kStatusSuccess) return Queued::kSkipped;
    return signaled ? Queued::kSignaled : Queued::kArmed;
  }

 private:
  HANDLE timer_ = nullptr;
  HANDLE packet_ = nullptr;
};

// Go's checkSetFileCompletionNotificationModes (internal/poll
// fd_windows.go): skip-on-success is safe on sockets only when every TCP
// provider hands out IFS handles; a non-IFS LSP (KB2568167) would lose
// completions. Looked up once per process, with Winsock started for it
// (WSAStartup counts; this reference is kept).
bool SocketsCanSkipOnSuccess() {
  static const bool ok = [] {
    WSADATA d;
    if (WSAStartup(MAKEWORD(2, 2), &d) != 0) return false;
    INT protos[2] = {IPPROTO_TCP, 0};
    WSAPROTOCOL_INFOW buf[32];
    DWORD len = sizeof(buf);
    int n = WSAEnumProtocolsW(protos, buf, &len);
    if (n == SOCKET_ERROR) return false;
    for (int i = 0; i < n; ++i) {
      if ((buf[i].dwServiceFlags1 & XP1_IFS_HANDLES) == 0) return false;
    }
    return true;
  }();
  return ok;
}

// Whether `h` is a socket: getsockopt succeeds only on one (and fails with
// WSANOTINITIALISED before anyone started Winsock, when no socket exists).
bool IsSocket(HANDLE h) {
  int type = 0;
  int len = sizeof(type);
  return getsockopt(reinterpret_cast<SOCKET>(h), SOL_SOCKET, SO_TYPE,
                    reinterpret_cast<char*>(&type), &len) == 0;
}

absl::Status LastErr(const char* context) {
  return Error::Last().ToStatus(context);
}

}  // namespace

// HANDLE is void* (the header does not include <windows.h>).
static_assert(std::is_same_v<HANDLE, void*>,
              "IocpBackend keeps its port as void*");

IocpBackend::IocpBackend(void* port) : port_(port) {}
IocpBackend::~IocpBackend() { CloseHandle(port_); }

// Go's netpollopen: one association for the handle's life. A handle
// registered before (and Close()d) is still associated, with its old key:
// CreateIoCompletionPort fails with ERROR_INVALID_PARAMETER (87). Windows
// 8.1+ could re-key it (FileReplaceCompletionInformation), but Wine 8
// does not implement that (STATUS_NOT_IMPLEMENTED) and Go does not either.
absl::Status IocpBackend::Add(intptr_t fd, uint64_t key) {
  HANDLE h = reinterpret_cast<HANDLE>(fd);
  if (h == nullptr || h == INVALID_HANDLE_VALUE) {
    return Error::FromSys(ERROR_INVALID_HANDLE)
        .ToStatus("CreateIoCompletionPort");
  }
  if (CreateIoCompletionPort(h, port_, static_cast<ULONG_PTR>(key), 0) ==
      nullptr) {
    return LastErr("CreateIoCompletionPort");
  }
  return absl::OkStatus();
}

// Go's FD.Init: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
// FILE_SKIP_SET_EVENT_ON_HANDLE where allowed (Go 1.21 through 1.24:
// `fd.kind != kindNet || socketCanUseSetFileCompletionNotificationModes`,
// i.e. every handle that is not a socket, and sockets without a non-IFS
// LSP). A success that completes at once then queues no packet.
bool IocpBackend::SetSkipOnSuccess(intptr_t fd) {
  HANDLE h = reinterpret_cast<HANDLE>(fd);
  if (IsSocket(h) && !SocketsCanSkipOnSuccess()) return false;
  return SetFileCompletionNotificationModes(
             h, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                    FILE_SKIP_SET_EVENT_ON_HANDLE) != FALSE;
}

// Go's netpollclose does nothing either: a handle cannot leave its port
// (it does when it is closed). Late packets are dropped by the portable
// layer, whose key check sees the pollDesc's new sequence.
absl::Status IocpBackend::Remove(intptr_t) { return absl::OkStatus(); }

absl::Status IocpBackend::Break() {
  if (!PostQueuedCompletionStatus(port_, 0, static_cast<ULONG_PTR>(kWakeKey),
                                  nullptr)) {
    return LastErr("PostQueuedCompletionStatus");
  }
  return absl::OkStatus();
}

absl::StatusOr<BackendWaitResult> IocpBackend::Wait(int64_t delay,
                                                    BackendEvent* out,
                                                    size_t n) {
  if (out == nullptr || n == 0) {
    return Error::FromCode(GORT_EINVAL).ToStatus("iocp wait");
  }
  BackendWaitResult r;
  int err = WaitInto(delay, out, n, &r);
  if (err != 0) return WaitError(err);
  return r;
}

absl::Status IocpBackend::WaitError(int err) {
  return Error::FromSys(static_cast<DWORD>(err))
      .ToStatus("GetQueuedCompletionStatusEx");
}

int IocpBackend::WaitInto(int64_t delay, BackendEvent* out, size_t n,
                          BackendWaitResult* r) {
  if (delay > kMaxDelay) delay = kMaxDelay;
  if (delay > 0 && GetNtdll().high_res) {
    thread_local ThreadWaitTimer timer;
    // The timer fired before it could be queued: the wait is over.
    if (timer.Queue(port_, delay) == ThreadWaitTimer::Queued::kSignaled) {
      return 0;
    }
  }
  OVERLAPPED_ENTRY stack[kStackEvents];
  size_t cap;
  OVERLAPPED_ENTRY* entries = harvest_.Get(stack, n, &cap);
  ULONG max = static_cast<ULONG>(cap);
  ULONG got = 0;
  if (!GetQueuedCompletionStatusEx(port_, entries, max, &got,
                                   DelayToMillis(delay), FALSE)) {
    DWORD e = GetLastError();
    if (e == WAIT_TIMEOUT) return 0;
    return static_cast<int>(e);
  }
  for (ULONG i = 0; i < got; ++i) {
    const OVERLAPPED_ENTRY& en = entries[i];
    uint64_t key = static_cast<uint64_t>(en.lpCompletionKey);
    if (static_cast<uint32_t>(key) == 0) {
      if (key == kWakeKey && en.lpOverlapped == nullptr) {
        OnWake(delay, r);
      } else if (key != kTimerKey || en.lpOverlapped != nullptr) {
        ++r->foreign;  // the timer's packet needs nothing: it woke us
      }
      continue;
    }
    // A pollDesc's key: the packet is ours if its OVERLAPPED is the
    // WinOp handed out for that key (an embedder may run I/O of its own
    // on a registered handle; Go ignores those packets too).
    if (en.lpOverlapped == nullptr) {
      ++r->foreign;
      continue;
    }
    WinOp* op = reinterpret_cast<WinOp*>(en.lpOverlapped);
    if (op->key != key || (op->mode != kPollRead && op->mode != kPollWrite)) {
      ++r->foreign;
      continue;
    }
    // Only a record in flight has a packet coming; one found idle was
    // reported as not queued (or never handed out): taking its packet
    // would give some later operation this one's result.
    if (op->in_flight.load(std::memory_order_acquire) != 1) {
      ++r->foreign;
      continue;
    }
    // The completion status is the NTSTATUS in OVERLAPPED.Internal; only
    // its low 32 bits are meaningful (an NTSTATUS is 32 bits; do not
    // trust the upper half under Wine).
    ULONG_PTR internal;
    std::memcpy(&internal, op->overlapped + offsetof(OVERLAPPED, Internal),
                sizeof(internal));
    op->bytes = en.dwNumberOfBytesTransferred;
    op->error =
        StatusToError(static_cast<NtStatus>(static_cast<uint32_t>(internal)));
    out[r->n++] = BackendEvent{key, op->mode, false, op};
  }
  return 0;
}

// The wake-up packet, once taken off the port, is gone. A blocking wait
// consumes it (the portable layer then re-arms Wake()); a non-blocking
// one is not the poll it was meant for, so it posts it again, as Go's
// netpoll forwards it with netpollBreak.
void IocpBackend::OnWake(int64_t delay, BackendWaitResult* r) {
  if (delay != 0) {
    r->broke = true;
    return;
  }
  if (!PostQueuedCompletionStatus(port_, 0, static_cast<ULONG_PTR>(kWakeKey),
                                  nullptr)) {
    r->broke = true;  // lost: let the next Wake() post a new one
  }
}

absl::StatusOr<std::unique_ptr<IocpBackend>> IocpBackend::Open() {
  // DWORD_MAX concurrency, as Go: with 0 (one thread per CPU) the port would
  // hold waiters back while as many threads that took packets from it are
  // running, whatever the embedder's own scheduler intends; the embedder
  // decides how many threads poll.
  HANDLE port =
      CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, MAXDWORD);
  if (port == nullptr) return LastErr("CreateIoCompletionPort");
  (void)GetNtdll();  // resolve ntdll once, off the hot path
  return std::unique_ptr<IocpBackend>(new IocpBackend(port));
}

absl::StatusOr<std::unique_ptr<PollBackend>> NewPollBackend() {
  absl::StatusOr<std::unique_ptr<IocpBackend>> b = IocpBackend::Open();
  if (!b.ok()) return b.status();
  return std::unique_ptr<PollBackend>(std::move(*b));
}

const char* PollBackendName() { return "iocp"; }

bool IocpHighResTimeouts() { return GetNtdll().high_res; }

void* IocpPortForTesting(PollBackend* backend) {
  return static_cast<IocpBackend*>(backend)->port();
}

}  // namespace gort::internal
