// SPDX-License-Identifier: BSD-3-Clause
// The FD layer on Windows: overlapped operations completing on the
// poller's port (Go: internal/poll/fd_windows.go — execIO, operation,
// cancelIO, FD.Close; net/fd_windows.go — connect; net/sock_windows.go —
// sysSocket).
//
// Each operation is Go's execIO cut at its waits, so that a call never
// blocks. Per direction the Fd keeps the phase of its operation:
//
//   kIdle        nothing started: Prepare(), take the pollDesc's operation
//                record (Poller::Overlapped), start the call. A synchronous
//                success with skip-on-success set queued no packet: done
//                at once (Poller::OverlappedNotQueued frees the record).
//                ERROR_IO_PENDING (or a success whose packet is queued):
//                Wait(token) -> kParked.
//   kInFlight    the packet was taken (the record is idle again): collect
//                bytes and error. Otherwise Wait(token) again; if that
//                fails with ECANCELED (closing) or ETIMEDOUT (deadline),
//                CancelIoEx the operation and go on as kCancelling.
//   kCancelling  Go's runtime_pollWaitCanceled: park until the cancelled
//                operation's packet was taken, whatever closing and
//                deadlines say; then ERROR_OPERATION_ABORTED becomes the
//                wait's error (ETIMEDOUT, ECANCELED), any other result is
//                the operation's own (it completed before the cancel).
//
// Only the holder of a direction's fdMutex slot touches that direction's
// phase, so it needs no lock. The caller's buffer belongs to the kernel
// from the start until the packet was taken; the slot (and the reference
// it holds) keeps the descriptor open until then, so Close() never closes
// a handle an operation still uses.
#include <mswsock.h>
#include <windows.h>
#include <winsock2.h>  // before windows.h
#include <ws2tcpip.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

#include "fd_internal.h"
#include "fd_mutex.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/fd.h"
#include "gort/netpoll.h"

namespace gort {
namespace {

using internal::FdMutex;

using internal::CheckIoArgs;
using internal::CheckSockAddr;
using internal::kMaxRW;

absl::Status Err(int code, const char* context) {
  return internal::FdError(code, context);
}

absl::Status SysErr(DWORD e, const char* context) {
  return Error::FromSys(static_cast<int64_t>(e)).ToStatus(context);
}

int CodeOf(const absl::Status& s) {
  std::optional<Error> e = Error::FromStatus(s);
  return e.has_value() ? e->code() : GORT_EUNKNOWN;
}

absl::Status MutexErr(int r, const char* context) {
  return internal::FdMutexError(r, context);
}

// Go's InitWSA: once per process, before the first socket call.
bool WinsockUp() {
  static const bool up = [] {
    WSADATA d;
    return WSAStartup(MAKEWORD(2, 2), &d) == 0;
  }();
  return up;
}

// The Winsock extension functions (Go: syscall.LoadConnectEx, and
// mswsock's AcceptEx / GetAcceptExSockaddrs), looked up once through
// WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) on a socket of the caller.
struct Extensions {
  LPFN_ACCEPTEX accept_ex = nullptr;
  LPFN_GETACCEPTEXSOCKADDRS get_sockaddrs = nullptr;
  LPFN_CONNECTEX connect_ex = nullptr;
};

template <typename Fn>
Fn LoadExtension(SOCKET s, GUID id) {
  Fn fn = nullptr;
  DWORD got = 0;
  if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof(id), &fn,
               sizeof(fn), &got, nullptr, nullptr) != 0) {
    return nullptr;
  }
  return fn;
}

const Extensions& GetExtensions(SOCKET s) {
  static std::mutex mu;
  static Extensions ext;
  static bool loaded = false;
  std::lock_guard<std::mutex> lock(mu);
  if (!loaded) {
    GUID accept_id = WSAID_ACCEPTEX;
    GUID addrs_id = WSAID_GETACCEPTEXSOCKADDRS;
    GUID connect_id = WSAID_CONNECTEX;
    ext.accept_ex = LoadExtension<LPFN_ACCEPTEX>(s, accept_id);
    ext.get_sockaddrs = LoadExtension<LPFN_GETACCEPTEXSOCKADDRS>(s, addrs_id);
    ext.connect_ex = LoadExtension<LPFN_CONNECTEX>(s, connect_id);
    loaded = ext.accept_ex != nullptr && ext.get_sockaddrs != nullptr &&
             ext.connect_ex != nullptr;
  }
  return ext;
}

// A new overlapped, non-inheritable socket (Go's sysSocket: WSASocket with
// WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT).
SOCKET NewSocket(int family, int type, int protocol) {
  return WSASocketW(family, type, protocol, nullptr, 0,
                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

// AcceptEx wants room for each address plus 16 bytes.
constexpr DWORD kAcceptAddrLen = sizeof(sockaddr_storage) + 16;

}  // namespace

class Fd::Impl {
 public:
  enum class Phase { kIdle, kInFlight, kCancelling };

  // One direction's operation, touched only by its slot's holder.
  struct Op {
    Phase phase = Phase::kIdle;
    void* ov = nullptr;  // the record's OVERLAPPED while started
    int wait_code = 0;   // why the operation was cancelled
    size_t done = 0;     // Write: bytes of earlier chunks
    WSABUF wsabuf{};     // the buffer of the call in flight
    DWORD flags = 0;     // WSARecv / WSARecvFrom flags
    INT from_len = 0;    // WSARecvFrom's address length (kernel-written)
    SOCKET accepted = INVALID_SOCKET;  // Accept: the socket AcceptEx fills
    alignas(8) unsigned char accept_buf[2 * kAcceptAddrLen];
  };

  // One operation's outcome when it did not park.
  struct Outcome {
    bool parked = false;
    int code = 0;        // a poller error (ECANCELED, ETIMEDOUT, ...) or 0
    DWORD error = 0;     // the operation's Win32 error, 0 on success
    uint32_t bytes = 0;  // bytes transferred
  };

  Impl(Poller* poller, intptr_t sysfd, FdKind kind, PollDescId pd, bool skip)
      : poller_(poller), sysfd_(sysfd), kind_(kind), pd_(pd), skip_(skip) {}

  // A call of an operation: its fdMutex slot, and the destroy when it
  // leaves as the last reference of a closed Fd.
  class Call {
   public:
    Call(Impl* fd, int dir, uintptr_t token) : fd_(fd), dir_(dir) {
      code_ = fd->mu_.Begin(dir, token, &op_);
    }
    ~Call() {
      if (code_ == 0 && fd_->mu_.End(dir_, finished_)) fd_->Destroy();
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    int code() const { return code_; }
    bool started() const { return op_ == FdMutex::Op::kStarted; }
    // Records how the call ended: parked keeps the slot. Writes nothing
    // to `r` then: Exec() stored kParked before it published the token,
    // after which the operation may already be continuing elsewhere.
    absl::Status Finish(absl::Status s, const Outcome& o, IoResult*) {
      finished_ = !o.parked;
      return s;
    }
    void set_finished(bool f) { finished_ = f; }

   private:
    Impl* fd_;
    int dir_;
    int code_;
    bool finished_ = true;
    FdMutex::Op op_ = FdMutex::Op::kStarted;
  };

  // Go's execIO, re-entrant. `start(ov, &qty)` issues the call with the
  // record's OVERLAPPED and returns 0 (it succeeded at once), or its error
  // (ERROR_IO_PENDING: it is in flight).
  // `r` gets kParked before a Wait publishes the token (and kDone back if
  // it did not park): nothing is written after the publication.
  template <typename Start>
  Outcome Exec(int dir, uintptr_t token, IoResult* r, Start start);

  HANDLE handle() const { return reinterpret_cast<HANDLE>(sysfd_); }
  SOCKET sock() const { return static_cast<SOCKET>(sysfd_); }
  bool is_socket() const { return kind() != FdKind::kPipe; }
  FdKind kind() const { return kind_.load(std::memory_order_acquire); }

  // Go's FD.destroy: deregister, then close the handle, exactly once.
  void Destroy();
  // The operation in flight is cancelled (Close, or a failed wait).
  void CancelOp(Op& op) {
    if (op.ov == nullptr) return;
    // ERROR_NOT_FOUND: it completed already; its packet tells.
    (void)CancelIoEx(handle(), static_cast<OVERLAPPED*>(op.ov));
  }

  Poller* poller_;
  intptr_t sysfd_;
  std::atomic<FdKind> kind_;
  PollDescId pd_;
  bool skip_;  // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set
  FdMutex mu_;
  std::atomic<bool> destroyed_{false};  // Destroy() ran (or is running)
  std::atomic<bool> open_{true};        // the handle is not closed yet
  Op ops_[2];
};

template <typename Start>
Fd::Impl::Outcome Fd::Impl::Exec(int dir, uintptr_t token, IoResult* r,
                                 Start start) {
  PollMode mode = dir == FdMutex::kRead ? PollMode::kRead : PollMode::kWrite;
  Op& op = ops_[dir];
  Outcome out;
  bool started_now = false;
  if (op.phase == Phase::kIdle) {
    // Go: fd.pd.prepare, then submit.
    absl::Status s = poller_->Prepare(pd_, mode);
    if (!s.ok()) {
      out.code = CodeOf(s);
      return out;
    }
    absl::StatusOr<void*> ov = poller_->Overlapped(pd_, mode);
    if (!ov.ok()) {
      out.code = CodeOf(ov.status());
      return out;
    }
    DWORD qty = 0;
    DWORD e = start(static_cast<OVERLAPPED*>(*ov), &qty);
    if (e == 0 && skip_) {
      // Skip-on-success: no packet comes; the record is free again.
      (void)poller_->OverlappedNotQueued(pd_, mode, OverlappedResult{qty, 0});
      out.bytes = qty;
      return out;
    }
    if (e != 0 && e != ERROR_IO_PENDING) {
      (void)poller_->OverlappedNotQueued(pd_, mode, OverlappedResult{0, e});
      out.error = e;
      return out;
    }
    op.ov = *ov;
    op.phase = Phase::kInFlight;
    // Just started and pending: go straight to the wait. If another
    // thread's Poll() took the packet already, it readied the direction and
    // Wait() says kReady. Asking first would build an EBUSY status, which
    // allocates, for every operation that parks.
    started_now = true;
  }
  for (;; started_now = false) {
    // Has the packet been taken? Then the record holds the result.
    absl::StatusOr<OverlappedResult> res;
    if (!started_now) res = poller_->GetOverlappedResult(pd_, mode);
    if (!started_now && res.ok()) {
      bool cancelled = op.phase == Phase::kCancelling;
      int wait_code = op.wait_code;
      op.phase = Phase::kIdle;
      op.ov = nullptr;
      op.wait_code = 0;
      out.bytes = res->bytes;
      out.error = res->error;
      if (res->error == ERROR_OPERATION_ABORTED) {
        // Our cancel (Go: waitErr), or Close()'s CancelIoEx.
        if (cancelled) {
          out.code = wait_code;
        } else if (mu_.closed()) {
          out.code = GORT_ECANCELED;
        }
      }
      return out;
    }
    if (!started_now && CodeOf(res.status()) != GORT_EBUSY) {
      out.code = CodeOf(res.status());  // EBADF: cannot happen while held
      return out;
    }
    if (op.phase == Phase::kInFlight) {
      r->state = IoState::kParked;  // before the token can be out
      absl::StatusOr<WaitResult> w = poller_->Wait(pd_, mode, token);
      if (w.ok() && *w == WaitResult::kParked) {
        out.parked = true;
        return out;  // nothing written from here on
      }
      if (w.ok()) {
        r->state = IoState::kDone;
        continue;  // ready: the packet was taken
      }
      int code = CodeOf(w.status());
      if (code == GORT_EBUSY) {
        // Only this operation parks on the direction: EBUSY means its own
        // token is still parked, by an earlier call (this one came before
        // the token was out). It still comes out once; nothing changed,
        // and this call's own IoResult says kParked.
        out.parked = true;
        return out;
      }
      r->state = IoState::kDone;
      if (code != GORT_ECANCELED && code != GORT_ETIMEDOUT) {
        out.code = code;
        return out;
      }
      // Go's cancelIO: cancel, then wait for the packet.
      op.wait_code = code;
      op.phase = Phase::kCancelling;
      CancelOp(op);
    }
    r->state = IoState::kParked;  // before the token can be out
    absl::StatusOr<WaitResult> w = poller_->WaitCanceled(pd_, mode, token);
    if (w.ok() && *w == WaitResult::kParked) {
      out.parked = true;
      return out;  // nothing written from here on
    }
    if (!w.ok() && CodeOf(w.status()) == GORT_EBUSY) {
      out.parked = true;  // our token is parked by an earlier call: as above
      return out;
    }
    r->state = IoState::kDone;
    if (!w.ok()) {
      out.code = CodeOf(w.status());
      return out;
    }
    // kReady: the cancelled packet was taken; collect it above.
  }
}

void Fd::Impl::Destroy() {
  if (destroyed_.exchange(true, std::memory_order_acq_rel)) return;
  (void)poller_->Unregister(pd_);
  if (is_socket()) {
    (void)closesocket(sock());
  } else {
    (void)CloseHandle(handle());
  }
  open_.store(false, std::memory_order_release);
}

absl::StatusOr<std::unique_ptr<Fd>> Fd::Open(Poller& poller, intptr_t sysfd,
                                             FdKind kind) {
  if (!internal::ValidKind(kind)) return Err(GORT_EINVAL, "fd open: kind");
  // A SOCKET or HANDLE: never 0 or INVALID_HANDLE_VALUE, and its value
  // fits 32 bits sign-extended (Windows keeps handles there for 32-bit
  // interop), so anything else is out of range, not a descriptor.
  if (sysfd == 0 || sysfd == -1 ||
      sysfd != static_cast<intptr_t>(static_cast<int32_t>(sysfd))) {
    return Err(GORT_EINVAL, "fd open: not a handle");
  }
  absl::StatusOr<PollDescId> pd = poller.Register(sysfd);
  if (!pd.ok()) return pd.status();
  absl::StatusOr<bool> skip = poller.SkipsCompletionOnSuccess(*pd);
  std::unique_ptr<Impl> impl(
      new (std::nothrow) Impl(&poller, sysfd, kind, *pd, skip.ok() && *skip));
  std::unique_ptr<Fd> fd(impl ? new (std::nothrow) Fd(std::move(impl))
                              : nullptr);
  if (fd == nullptr) {
    (void)poller.Unregister(*pd);
    return Err(GORT_ENOMEM, "fd open");
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<Fd>> Fd::Socket(Poller& poller, int family,
                                               int type, int protocol) {
  if (!WinsockUp()) return SysErr(WSAGetLastError(), "WSAStartup");
  SOCKET s = NewSocket(family, type, protocol);
  if (s == INVALID_SOCKET) return SysErr(WSAGetLastError(), "WSASocketW");
  absl::StatusOr<std::unique_ptr<Fd>> fd =
      Open(poller, static_cast<intptr_t>(s),
           type == SOCK_DGRAM ? FdKind::kDatagram : FdKind::kStream);
  if (!fd.ok()) closesocket(s);
  return fd;
}

Fd::Fd(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Fd::~Fd() {
  if (impl_ == nullptr) return;
  (void)Close();
  if (!impl_->destroyed_.load(std::memory_order_acquire)) {
    // A call is running or an operation is parked or in flight: its next
    // call would use freed memory, and the kernel still owns its buffer.
#ifndef NDEBUG
    std::fputs("gort: Fd destroyed while an operation holds it\n", stderr);
    std::abort();
#else
    // At least the handle does not leak (as on Unix). Safe for the
    // poller: Unregister() keeps the pollDesc (and its OVERLAPPED) until
    // the aborted operation's packet was taken.
    impl_->Destroy();
#endif
  }
}

absl::Status Fd::Read(void* buf, size_t n, uintptr_t token, IoResult* r) {
  if (absl::Status s = CheckIoArgs(buf, n, token, r, "fd read"); !s.ok()) {
    if (r != nullptr) *r = IoResult{};  // fd.h: both fields on every return
    return s;
  }
  r->state = IoState::kDone;
  r->n = 0;
  Impl& fd = *impl_;
  if (fd.kind() == FdKind::kListener) return Err(GORT_EINVAL, "fd read");
  Impl::Call call(&fd, FdMutex::kRead, token);
  if (call.code() != 0) return MutexErr(call.code(), "fd read");
  // A zero-byte read is done at once, as on Unix (Go's fd_unix.go). Go's
  // fd_windows.go would issue a zero-byte WSARecv, which waits until data
  // is there: gort keeps one result on every OS.
  if (n == 0 && call.started()) return absl::OkStatus();
  Impl::Op& op = fd.ops_[FdMutex::kRead];
  size_t len = std::min(n, kMaxRW);
  Impl::Outcome o = fd.Exec(
      FdMutex::kRead, token, r, [&](OVERLAPPED* ov, DWORD* qty) -> DWORD {
        if (!fd.is_socket()) {
          return ReadFile(fd.handle(), buf, static_cast<DWORD>(len), qty, ov)
                     ? 0
                     : GetLastError();
        }
        op.wsabuf.buf = static_cast<char*>(buf);
        op.wsabuf.len = static_cast<ULONG>(len);
        op.flags = 0;
        return WSARecv(fd.sock(), &op.wsabuf, 1, qty, &op.flags, ov, nullptr) ==
                       0
                   ? 0
                   : static_cast<DWORD>(WSAGetLastError());
      });
  if (o.parked) return call.Finish(absl::OkStatus(), o, r);
  if (o.code != 0) return call.Finish(Err(o.code, "fd read"), o, r);
  r->n = o.bytes;
  // End of stream: a pipe whose writer left (Go's fd_windows.go Read maps
  // ERROR_BROKEN_PIPE and ERROR_HANDLE_EOF to io.EOF for pipes and files).
  if (o.error == ERROR_BROKEN_PIPE || o.error == ERROR_HANDLE_EOF) {
    if (!fd.is_socket()) return call.Finish(absl::OkStatus(), o, r);
  }
  if (o.error != 0) return call.Finish(SysErr(o.error, "fd read"), o, r);
  return call.Finish(absl::OkStatus(), o, r);
}

// Fd::TryRead() and TryWrite(): overlapped I/O has no attempt that does
// not start an operation (and so park), so after the argument checks and
// ECANCELED once closing, both report kWouldBlock, and the caller goes on
// with Read()/Write() (which reports EBUSY and the deadline).
namespace {
// Both tries' one body: `closed` is the fdMutex's state, `what` the
// operation's context.
absl::Status TryOverlapped(const void* buf, size_t n, IoResult* r, bool closed,
                           const char* what) {
  if (absl::Status s = CheckIoArgs(buf, n, 3, r, what); !s.ok()) {
    if (r != nullptr) *r = IoResult{};  // fd.h: both fields on every return
    return s;
  }
  r->state = IoState::kDone;
  r->n = 0;
  if (closed) return Err(GORT_ECANCELED, what);
  r->state = IoState::kWouldBlock;
  return absl::OkStatus();
}
}  // namespace

absl::Status Fd::TryRead(void* buf, size_t n, IoResult* r) {
  return TryOverlapped(buf, n, r, impl_->mu_.closed(), "fd read");
}
absl::Status Fd::TryWrite(const void* buf, size_t n, IoResult* r) {
  return TryOverlapped(buf, n, r, impl_->mu_.closed(), "fd write");
}

absl::Status Fd::Write(const void* buf, size_t n, uintptr_t token,
                       IoResult* r) {
  if (absl::Status s = CheckIoArgs(buf, n, token, r, "fd write"); !s.ok()) {
    if (r != nullptr) *r = IoResult{};  // fd.h: both fields on every return
    return s;
  }
  r->state = IoState::kDone;
  r->n = 0;
  Impl& fd = *impl_;
  if (fd.kind() == FdKind::kListener) return Err(GORT_EINVAL, "fd write");
  Impl::Call call(&fd, FdMutex::kWrite, token);
  if (call.code() != 0) return MutexErr(call.code(), "fd write");
  Impl::Op& op = fd.ops_[FdMutex::kWrite];
  if (call.started()) op.done = 0;
  r->n = op.done;  // so far (ours: we hold the write slot)
  const char* p = static_cast<const char*>(buf);
  // Go's FD.Write: one call per chunk until all bytes went or one failed.
  for (;;) {
    size_t len = std::min(n - op.done, kMaxRW);
    const char* chunk = p + op.done;
    Impl::Outcome o = fd.Exec(
        FdMutex::kWrite, token, r, [&](OVERLAPPED* ov, DWORD* qty) -> DWORD {
          if (!fd.is_socket()) {
            return WriteFile(fd.handle(), chunk, static_cast<DWORD>(len), qty,
                             ov)
                       ? 0
                       : GetLastError();
          }
          op.wsabuf.buf = const_cast<char*>(chunk);
          op.wsabuf.len = static_cast<ULONG>(len);
          return WSASend(fd.sock(), &op.wsabuf, 1, qty, 0, ov, nullptr) == 0
                     ? 0
                     : static_cast<DWORD>(WSAGetLastError());
        });
    if (o.parked) return call.Finish(absl::OkStatus(), o, r);
    op.done += o.bytes;
    r->n = op.done;
    if (o.code != 0) return call.Finish(Err(o.code, "fd write"), o, r);
    if (o.error != 0) return call.Finish(SysErr(o.error, "fd write"), o, r);
    if (op.done == n) return call.Finish(absl::OkStatus(), o, r);
    if (o.bytes == 0) {  // Go: io.ErrUnexpectedEOF
      return call.Finish(Err(GORT_EIO, "fd write: no progress"), o, r);
    }
    // More to write: the next chunk starts in this call.
  }
}

// Readiness does not exist for overlapped I/O. Go's RawRead issues a
// zero-byte read to learn that a socket is readable; not done here yet.
absl::Status Fd::WaitRead(uintptr_t token, IoResult* r) {
  if (absl::Status s = CheckIoArgs(nullptr, 0, token, r, "fd wait read");
      !s.ok()) {
    return s;
  }
  *r = IoResult{};
  return Err(GORT_ENOTSUP, "fd wait read: no readiness on Windows");
}

absl::Status Fd::Accept(uintptr_t token, IoResult* r, std::unique_ptr<Fd>* out,
                        SockAddr* peer) {
  if (out == nullptr) return Err(GORT_EINVAL, "fd accept");
  if (absl::Status s = CheckIoArgs(nullptr, 0, token, r, "fd accept");
      !s.ok()) {
    return s;
  }
  r->state = IoState::kDone;
  r->n = 0;
  Impl& fd = *impl_;
  if (fd.kind() != FdKind::kListener) return Err(GORT_EINVAL, "fd accept");
  Impl::Call call(&fd, FdMutex::kRead, token);
  if (call.code() != 0) return MutexErr(call.code(), "fd accept");
  Impl::Op& op = fd.ops_[FdMutex::kRead];
  const Extensions& ext = GetExtensions(fd.sock());
  if (ext.accept_ex == nullptr || ext.get_sockaddrs == nullptr) {
    call.set_finished(true);
    return SysErr(WSAEOPNOTSUPP, "fd accept: AcceptEx");
  }
  for (;;) {
    if (op.phase == Impl::Phase::kIdle && op.accepted == INVALID_SOCKET) {
      // The socket AcceptEx fills: of the listener's family and protocol.
      WSAPROTOCOL_INFOW info;
      int len = sizeof(info);
      if (getsockopt(fd.sock(), SOL_SOCKET, SO_PROTOCOL_INFOW,
                     reinterpret_cast<char*>(&info), &len) != 0) {
        return SysErr(WSAGetLastError(), "fd accept: getsockopt");
      }
      op.accepted =
          NewSocket(info.iAddressFamily, info.iSocketType, info.iProtocol);
      if (op.accepted == INVALID_SOCKET) {
        return SysErr(WSAGetLastError(), "fd accept: WSASocketW");
      }
    }
    Impl::Outcome o = fd.Exec(
        FdMutex::kRead, token, r, [&](OVERLAPPED* ov, DWORD* qty) -> DWORD {
          return ext.accept_ex(fd.sock(), op.accepted, op.accept_buf, 0,
                               kAcceptAddrLen, kAcceptAddrLen, qty, ov)
                     ? 0
                     : static_cast<DWORD>(WSAGetLastError());
        });
    if (o.parked) return call.Finish(absl::OkStatus(), o, r);
    SOCKET s = op.accepted;
    op.accepted = INVALID_SOCKET;
    if (o.code != 0) {
      closesocket(s);
      return call.Finish(Err(o.code, "fd accept"), o, r);
    }
    if (o.error == ERROR_NETNAME_DELETED || o.error == WSAECONNRESET) {
      closesocket(s);  // the peer left before we took it: Go tries again
      continue;
    }
    if (o.error != 0) {
      closesocket(s);
      return call.Finish(SysErr(o.error, "fd accept: AcceptEx"), o, r);
    }
    SOCKET listener = fd.sock();
    if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                   reinterpret_cast<char*>(&listener), sizeof(listener)) != 0) {
      DWORD e = static_cast<DWORD>(WSAGetLastError());
      closesocket(s);
      return call.Finish(SysErr(e, "fd accept: SO_UPDATE_ACCEPT_CONTEXT"), o,
                         r);
    }
    if (peer != nullptr) {
      sockaddr* local = nullptr;
      sockaddr* remote = nullptr;
      INT local_len = 0, remote_len = 0;
      ext.get_sockaddrs(op.accept_buf, 0, kAcceptAddrLen, kAcceptAddrLen,
                        &local, &local_len, &remote, &remote_len);
      size_t n =
          remote != nullptr && remote_len > 0
              ? std::min(sizeof(peer->bytes), static_cast<size_t>(remote_len))
              : 0;
      if (n != 0) std::memcpy(peer->bytes, remote, n);
      peer->len = static_cast<uint32_t>(n);
    }
    absl::StatusOr<std::unique_ptr<Fd>> nfd =
        Open(*fd.poller_, static_cast<intptr_t>(s), FdKind::kStream);
    if (!nfd.ok()) {
      closesocket(s);
      return call.Finish(nfd.status(), o, r);
    }
    *out = std::move(*nfd);
    return call.Finish(absl::OkStatus(), o, r);
  }
}

absl::Status Fd::Connect(const SockAddr& addr, uintptr_t token, IoResult* r) {
  if (absl::Status s = CheckIoArgs(nullptr, 0, token, r, "fd connect");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSockAddr(addr, "fd connect"); !s.ok()) return s;
  r->state = IoState::kDone;
  r->n = 0;
  Impl& fd = *impl_;
  FdKind kind = fd.kind();
  if (kind != FdKind::kStream && kind != FdKind::kDatagram) {
    return Err(GORT_EINVAL, "fd connect");
  }
  Impl::Call call(&fd, FdMutex::kWrite, token);
  if (call.code() != 0) return MutexErr(call.code(), "fd connect");
  const sockaddr* sa = reinterpret_cast<const sockaddr*>(addr.bytes);
  if (kind == FdKind::kDatagram) {
    // Go: ConnectEx only for TCP; a datagram socket connects at once.
    if (connect(fd.sock(), sa, static_cast<int>(addr.len)) != 0) {
      return SysErr(WSAGetLastError(), "fd connect");
    }
    return absl::OkStatus();
  }
  const Extensions& ext = GetExtensions(fd.sock());
  if (ext.connect_ex == nullptr) {
    return SysErr(WSAEOPNOTSUPP, "fd connect: ConnectEx");
  }
  if (call.started()) {
    // ConnectEx needs a bound socket (Go binds to the wildcard address).
    sockaddr_storage self{};
    int self_len = sizeof(self);
    if (getsockname(fd.sock(), reinterpret_cast<sockaddr*>(&self), &self_len) !=
        0) {
      sockaddr_storage any{};
      any.ss_family = sa->sa_family;
      int any_len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                              : sizeof(sockaddr_in);
      if (bind(fd.sock(), reinterpret_cast<sockaddr*>(&any), any_len) != 0) {
        return SysErr(WSAGetLastError(), "fd connect: bind");
      }
    }
  }
  Impl::Outcome o = fd.Exec(
      FdMutex::kWrite, token, r, [&](OVERLAPPED* ov, DWORD* qty) -> DWORD {
        return ext.connect_ex(fd.sock(), sa, static_cast<int>(addr.len),
                              nullptr, 0, qty, ov)
                   ? 0
                   : static_cast<DWORD>(WSAGetLastError());
      });
  if (o.parked) return call.Finish(absl::OkStatus(), o, r);
  if (o.code != 0) return call.Finish(Err(o.code, "fd connect"), o, r);
  if (o.error != 0) return call.Finish(SysErr(o.error, "fd connect"), o, r);
  // Go: refresh the socket's properties (getpeername, shutdown work).
  if (setsockopt(fd.sock(), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr,
                 0) != 0) {
    return call.Finish(
        SysErr(WSAGetLastError(), "fd connect: SO_UPDATE_CONNECT_CONTEXT"), o,
        r);
  }
  return call.Finish(absl::OkStatus(), o, r);
}

absl::Status Fd::ReadFrom(void* buf, size_t n, SockAddr* from, uintptr_t token,
                          IoResult* r) {
  if (from == nullptr) return Err(GORT_EINVAL, "fd read from");
  if (absl::Status s = CheckIoArgs(buf, n, token, r, "fd read from"); !s.ok()) {
    return s;
  }
  r->state = IoState::kDone;
  r->n = 0;
  Impl& fd = *impl_;
  if (fd.kind() != FdKind::kDatagram) return Err(GORT_EINVAL, "fd read from");
  Impl::Call call(&fd, FdMutex::kRead, token);
  if (call.code() != 0) return MutexErr(call.code(), "fd read from");
  Impl::Op& op = fd.ops_[FdMutex::kRead];
  size_t len = std::min(n, kMaxRW);
  Impl::Outcome o = fd.Exec(
      FdMutex::kRead, token, r, [&](OVERLAPPED* ov, DWORD* qty) -> DWORD {
        op.wsabuf.buf = static_cast<char*>(buf);
        op.wsabuf.len = static_cast<ULONG>(len);
        op.flags = 0;
        op.from_len = static_cast<INT>(sizeof(from->bytes));
        return WSARecvFrom(fd.sock(), &op.wsabuf, 1, qty, &op.flags,
                           reinterpret_cast<sockaddr*>(from->bytes),
                           &op.from_len, ov, nullptr) == 0
                   ? 0
                   : static_cast<DWORD>(WSAGetLastError());
      });
  if (o.parked) return call.Finish(absl::OkStatus(), o, r);
  if (o.code != 0) return call.Finish(Err(o.code, "fd read from"), o, r);
  if (o.error != 0) return call.Finish(SysErr(o.error, "fd read from"), o, r);
  r->n = o.bytes;
  from->len = static_cast<uint32_t>(
      std::clamp<INT>(op.from_len, 0, sizeof(from->bytes)));
  return call.Finish(absl::OkStatus(), o, r);
}

absl::Status Fd::WriteTo(const void* buf, size_t n, const SockAddr& to,
                         uintptr_t token, IoResult* r) {
  if (absl::Status s = CheckIoArgs(buf, n, token, r, "fd write to"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSockAddr(to, "fd write to"); !s.ok()) return s;
  if (n > kMaxRW) return Err(GORT_EMSGSIZE, "fd write to");
  r->state = IoState::kDone;
  r->n = 0;
  Impl& fd = *impl_;
  if (fd.kind() != FdKind::kDatagram) return Err(GORT_EINVAL, "fd write to");
  Impl::Call call(&fd, FdMutex::kWrite, token);
  if (call.code() != 0) return MutexErr(call.code(), "fd write to");
  Impl::Op& op = fd.ops_[FdMutex::kWrite];
  Impl::Outcome o = fd.Exec(
      FdMutex::kWrite, token, r, [&](OVERLAPPED* ov, DWORD* qty) -> DWORD {
        op.wsabuf.buf = const_cast<char*>(static_cast<const char*>(buf));
        op.wsabuf.len = static_cast<ULONG>(n);
        return WSASendTo(fd.sock(), &op.wsabuf, 1, qty, 0,
                         reinterpret_cast<const sockaddr*>(to.bytes),
                         static_cast<int>(to.len), ov, nullptr) == 0
                   ? 0
                   : static_cast<DWORD>(WSAGetLastError());
      });
  if (o.parked) return call.Finish(absl::OkStatus(), o, r);
  r->n = o.bytes;
  if (o.code != 0) return call.Finish(Err(o.code, "fd write to"), o, r);
  if (o.error != 0) return call.Finish(SysErr(o.error, "fd write to"), o, r);
  return call.Finish(absl::OkStatus(), o, r);
}

absl::Status Fd::Shutdown(PollMode how) {
  int sd = how == PollMode::kRead    ? SD_RECEIVE
           : how == PollMode::kWrite ? SD_SEND
                                     : SD_BOTH;
  if (how != PollMode::kRead && how != PollMode::kWrite &&
      how != PollMode::kReadWrite) {
    return Err(GORT_EINVAL, "fd shutdown: how");
  }
  Impl& fd = *impl_;
  if (!fd.is_socket()) return Err(GORT_ENOTSOCK, "fd shutdown");
  if (!fd.mu_.Incref()) return Err(GORT_ECANCELED, "fd shutdown");
  absl::Status s = shutdown(fd.sock(), sd) == 0
                       ? absl::OkStatus()
                       : SysErr(WSAGetLastError(), "fd shutdown");
  if (fd.mu_.Decref()) fd.Destroy();
  return s;
}

absl::Status Fd::SetDeadline(int64_t d, PollMode mode) {
  Impl& fd = *impl_;
  if (!fd.mu_.Incref()) return Err(GORT_ECANCELED, "fd set deadline");
  absl::Status s = fd.poller_->SetDeadline(fd.pd_, d, mode);
  if (fd.mu_.Decref()) fd.Destroy();
  return s;
}

absl::Status Fd::Bind(const SockAddr& addr) {
  if (absl::Status s = CheckSockAddr(addr, "fd bind"); !s.ok()) return s;
  Impl& fd = *impl_;
  if (!fd.is_socket()) return Err(GORT_ENOTSOCK, "fd bind");
  if (!fd.mu_.Incref()) return Err(GORT_ECANCELED, "fd bind");
  absl::Status s =
      bind(fd.sock(), reinterpret_cast<const sockaddr*>(addr.bytes),
           static_cast<int>(addr.len)) == 0
          ? absl::OkStatus()
          : SysErr(WSAGetLastError(), "fd bind");
  if (fd.mu_.Decref()) fd.Destroy();
  return s;
}

absl::Status Fd::Listen(int backlog) {
  Impl& fd = *impl_;
  if (fd.kind() != FdKind::kStream && fd.kind() != FdKind::kListener) {
    return Err(GORT_EINVAL, "fd listen");
  }
  if (!fd.mu_.Incref()) return Err(GORT_ECANCELED, "fd listen");
  absl::Status s = listen(fd.sock(), backlog) == 0
                       ? absl::OkStatus()
                       : SysErr(WSAGetLastError(), "fd listen");
  if (s.ok()) fd.kind_.store(FdKind::kListener, std::memory_order_release);
  if (fd.mu_.Decref()) fd.Destroy();
  return s;
}

absl::StatusOr<SockAddr> Fd::LocalAddr() {
  Impl& fd = *impl_;
  if (!fd.is_socket()) return Err(GORT_ENOTSOCK, "fd local addr");
  if (!fd.mu_.Incref()) return Err(GORT_ECANCELED, "fd local addr");
  SockAddr a;
  int len = sizeof(a.bytes);
  absl::Status s =
      getsockname(fd.sock(), reinterpret_cast<sockaddr*>(a.bytes), &len) == 0
          ? absl::OkStatus()
          : SysErr(WSAGetLastError(), "fd local addr");
  a.len = static_cast<uint32_t>(len);
  if (fd.mu_.Decref()) fd.Destroy();
  if (!s.ok()) return s;
  return a;
}

absl::Status Fd::SetSockOptInt(int level, int name, int value) {
  Impl& fd = *impl_;
  if (!fd.is_socket()) return Err(GORT_ENOTSOCK, "fd setsockopt");
  if (!fd.mu_.Incref()) return Err(GORT_ECANCELED, "fd setsockopt");
  absl::Status s =
      setsockopt(fd.sock(), level, name, reinterpret_cast<const char*>(&value),
                 sizeof(value)) == 0
          ? absl::OkStatus()
          : SysErr(WSAGetLastError(), "fd setsockopt");
  if (fd.mu_.Decref()) fd.Destroy();
  return s;
}

// Go's FD.Close without its wait: mark closed, hand the waiters out
// (evict), cancel the operations in flight (Go does this for pipes; gort
// does it for every handle, so a parked operation's cancelled packet comes
// without waiting for its caller), and destroy once the last reference
// leaves.
absl::Status Fd::Close() {
  Impl& fd = *impl_;
  if (!fd.mu_.IncrefAndClose()) return Err(GORT_EBADF, "fd close");
  (void)fd.poller_->Evict(fd.pd_);
  // Cancels every operation this process issued on the handle; the
  // holders collect the cancelled packets (ECANCELED) when they come back.
  if (fd.mu_.held(FdMutex::kRead) || fd.mu_.held(FdMutex::kWrite)) {
    (void)CancelIoEx(fd.handle(), nullptr);
  }
  if (fd.mu_.Decref()) fd.Destroy();
  return absl::OkStatus();
}

bool Fd::Destroyed() const {
  return !impl_->open_.load(std::memory_order_acquire);
}
// -1 once the handle is closed, as on Unix.
intptr_t Fd::Sysfd() const {
  return impl_->open_.load(std::memory_order_acquire) ? impl_->sysfd_ : -1;
}
FdKind Fd::kind() const { return impl_->kind(); }
PollDescId Fd::pd() const { return impl_->pd_; }

}  // namespace gort
