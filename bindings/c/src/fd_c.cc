// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for the FD layer (include/gort/fd.h).
//
// An fd handle names an Fd and the poller handle it was made with. Every
// call pins the handle for as long as it uses the Fd. When a call finds
// the Fd destroyed (closed, and its last operation ended: Go's
// FD.destroy), it releases the handle after unpinning: the table's
// Remove() waits for calls still pinned (they get ECANCELED or EBADF from
// the Fd), then the Fd is freed and the poller's count of fd handles drops
// (pollers_c.h: a poller with fd handles cannot be closed).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "capi.h"
#include "gort.h"
#include "gort/fd.h"
#include "gort/netpoll.h"
#include "handle_table.h"
#include "pollers_c.h"

namespace {

using gort::Fd;
using gort::FdKind;
using gort::IoResult;
using gort::IoState;
using gort::PollMode;
using gort::SockAddr;
using gort::capi::ExceptionToCode;

struct CFd {
  std::unique_ptr<Fd> fd;
  uint64_t poller;  // the gort_poller_t it was made with
};

// 65536 fd handles at once (16 bytes a slot, 1 MiB in all).
gort::internal::HandleTable<CFd, 65536> g_fds;

int Code(const absl::Status& s) { return gort::capi::StatusToCode(s); }

// The result of an operation call: 0 done, GORT_POLL_PARKED, or the error.
int IoCode(const absl::Status& s, const IoResult& r) {
  if (!s.ok()) return Code(s);
  return r.state == IoState::kParked ? GORT_POLL_PARKED : 0;
}

// IoCode(), storing the count in *done_n unless the call parked: by the
// time a parked call returns, its token may have come out and another
// thread may be continuing the operation with the same `done_n`.
int Finish(const absl::Status& s, const IoResult& r, size_t* done_n) {
  int rc = IoCode(s, r);
  if (rc != GORT_POLL_PARKED) *done_n = r.n;
  return rc;
}

// Runs `f(CFd&)` with the handle pinned (pollers_c.h's WithPollerObject).
template <typename F>
int WithCFd(gort_fd_t h, F&& f) {
  return gort::capi::WithPollerObject(
      g_fds, h, std::forward<F>(f),
      [](const CFd& c) { return c.fd->Destroyed(); });
}

// WithCFd() for calls that need only the Fd.
template <typename F>
int WithFd(gort_fd_t h, F&& f) {
  return WithCFd(h, [&](CFd& c) -> int { return f(*c.fd); });
}

// Gives `fd` a handle (counted for `poller`); the handle in *out, or an
// error with `fd` closed and freed.
int Publish(uint64_t poller, std::unique_ptr<Fd> fd, gort_fd_t* out) {
  if (!gort::capi::AddPollerFd(poller)) {
    (void)fd->Close();  // nothing in progress: closes at once
    return GORT_EBADF;
  }
  CFd* c = new (std::nothrow) CFd{std::move(fd), poller};
  uint64_t h = c != nullptr ? g_fds.Insert(c) : 0;
  if (h == 0) {
    int err = c == nullptr ? GORT_ENOMEM : GORT_EMFILE;
    if (c != nullptr) {
      (void)c->fd->Close();
      delete c;
    }
    gort::capi::RemovePollerFd(poller);
    return err;
  }
  *out = h;
  return 0;
}

// A C address into a SockAddr: EINVAL unless 1 .. 128 bytes.
bool ToSockAddr(const void* addr, uint32_t len, SockAddr* out) {
  if (addr == nullptr || len == 0 || len > sizeof(out->bytes)) return false;
  std::memcpy(out->bytes, addr, len);
  out->len = len;
  return true;
}

// A SockAddr out to (addr, *addrlen): *addrlen is the buffer's size in,
// the address's length out; a longer address is truncated (as accept(2)
// and getsockname(2) do).
void FromSockAddr(const SockAddr& a, void* addr, uint32_t* addrlen) {
  if (addr == nullptr || addrlen == nullptr) return;
  uint32_t n = a.len < *addrlen ? a.len : *addrlen;
  std::memcpy(addr, a.bytes, n);
  *addrlen = a.len;
}

}  // namespace

extern "C" {

int gort_fd_open(gort_poller_t poller, intptr_t sysfd, int kind,
                 gort_fd_t* out) try {
  auto p = gort::capi::g_pollers.Acquire(poller);
  if (!p) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  absl::StatusOr<std::unique_ptr<Fd>> fd =
      Fd::Open(*p.get(), sysfd, static_cast<FdKind>(kind));
  if (!fd.ok()) return Code(fd.status());
  return Publish(poller, std::move(*fd), out);
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_socket(gort_poller_t poller, int family, int type, int protocol,
                   gort_fd_t* out) try {
  auto p = gort::capi::g_pollers.Acquire(poller);
  if (!p) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  absl::StatusOr<std::unique_ptr<Fd>> fd =
      Fd::Socket(*p.get(), family, type, protocol);
  if (!fd.ok()) return Code(fd.status());
  return Publish(poller, std::move(*fd), out);
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_read(gort_fd_t fd, void* buf, size_t n, uintptr_t token,
                 size_t* done_n) try {
  return WithFd(fd, [&](Fd& f) -> int {
    if (done_n == nullptr) return GORT_EINVAL;
    IoResult r;
    absl::Status s = f.Read(buf, n, token, &r);
    return Finish(s, r, done_n);
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_write(gort_fd_t fd, const void* buf, size_t n, uintptr_t token,
                  size_t* done_n) try {
  return WithFd(fd, [&](Fd& f) -> int {
    if (done_n == nullptr) return GORT_EINVAL;
    IoResult r;
    absl::Status s = f.Write(buf, n, token, &r);
    return Finish(s, r, done_n);
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_accept(gort_fd_t fd, uintptr_t token, gort_fd_t* out, void* addr,
                   uint32_t* addrlen) try {
  uint64_t poller = 0;
  std::unique_ptr<Fd> conn;
  SockAddr peer;
  int rc = WithCFd(fd, [&](CFd& c) -> int {
    if (out == nullptr || (addr != nullptr && addrlen == nullptr)) {
      return GORT_EINVAL;
    }
    IoResult r;
    absl::Status s = c.fd->Accept(token, &r, &conn, &peer);
    poller = c.poller;
    return IoCode(s, r);
  });
  if (rc != 0 || conn == nullptr) return rc;
  // The listener's handle keeps the poller counted, so the count can rise.
  rc = Publish(poller, std::move(conn), out);
  if (rc == 0) FromSockAddr(peer, addr, addrlen);
  return rc;
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_connect(gort_fd_t fd, const void* addr, uint32_t addrlen,
                    uintptr_t token) try {
  return WithFd(fd, [&](Fd& f) -> int {
    SockAddr a;
    if (!ToSockAddr(addr, addrlen, &a)) return GORT_EINVAL;
    IoResult r;
    absl::Status s = f.Connect(a, token, &r);
    return IoCode(s, r);
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_read_from(gort_fd_t fd, void* buf, size_t n, void* addr,
                      uint32_t* addrlen, uintptr_t token, size_t* done_n) try {
  return WithFd(fd, [&](Fd& f) -> int {
    if (done_n == nullptr || (addr != nullptr && addrlen == nullptr)) {
      return GORT_EINVAL;
    }
    IoResult r;
    SockAddr from;
    absl::Status s = f.ReadFrom(buf, n, &from, token, &r);
    int rc = Finish(s, r, done_n);
    if (rc == 0) FromSockAddr(from, addr, addrlen);
    return rc;
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_write_to(gort_fd_t fd, const void* buf, size_t n, const void* addr,
                     uint32_t addrlen, uintptr_t token, size_t* done_n) try {
  return WithFd(fd, [&](Fd& f) -> int {
    SockAddr a;
    if (done_n == nullptr || !ToSockAddr(addr, addrlen, &a)) {
      return GORT_EINVAL;
    }
    IoResult r;
    absl::Status s = f.WriteTo(buf, n, a, token, &r);
    return Finish(s, r, done_n);
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_shutdown(gort_fd_t fd, int how) try {
  return WithFd(fd, [&](Fd& f) -> int {
    return Code(f.Shutdown(static_cast<PollMode>(how)));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_set_deadline(gort_fd_t fd, int64_t d, int mode) try {
  return WithFd(fd, [&](Fd& f) -> int {
    return Code(f.SetDeadline(d, static_cast<PollMode>(mode)));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_bind(gort_fd_t fd, const void* addr, uint32_t addrlen) try {
  return WithFd(fd, [&](Fd& f) -> int {
    SockAddr a;
    if (!ToSockAddr(addr, addrlen, &a)) return GORT_EINVAL;
    return Code(f.Bind(a));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_listen(gort_fd_t fd, int backlog) try {
  return WithFd(fd, [&](Fd& f) -> int { return Code(f.Listen(backlog)); });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_local_addr(gort_fd_t fd, void* addr, uint32_t* addrlen) try {
  return WithFd(fd, [&](Fd& f) -> int {
    if (addr == nullptr || addrlen == nullptr) return GORT_EINVAL;
    absl::StatusOr<SockAddr> a = f.LocalAddr();
    if (!a.ok()) return Code(a.status());
    FromSockAddr(*a, addr, addrlen);
    return 0;
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_setsockopt_int(gort_fd_t fd, int level, int name, int value) try {
  return WithFd(fd, [&](Fd& f) -> int {
    return Code(f.SetSockOptInt(level, name, value));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_close(gort_fd_t fd) try {
  return WithFd(fd, [&](Fd& f) -> int { return Code(f.Close()); });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_sysfd(gort_fd_t fd, intptr_t* out) try {
  return WithFd(fd, [&](Fd& f) -> int {
    if (out == nullptr) return GORT_EINVAL;
    *out = f.Sysfd();
    return 0;
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_fd_wait_read(gort_fd_t fd, uintptr_t token) try {
  return WithFd(fd, [&](Fd& f) -> int {
    IoResult r;
    return IoCode(f.WaitRead(token, &r), r);
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_pipe_open(uint32_t flags, intptr_t fds[2]) try {
  if (fds == nullptr) return GORT_EINVAL;
  absl::StatusOr<gort::PipeEnds> p = gort::OpenPipe(flags);
  if (!p.ok()) return Code(p.status());
  fds[0] = p->read;
  fds[1] = p->write;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_pipe_close_end(intptr_t end) try {
  return Code(gort::ClosePipeEnd(end));
} catch (...) {
  return ExceptionToCode();
}

}  // extern "C"
