// SPDX-License-Identifier: BSD-3-Clause
// Descriptor pairs for the netpoller tests, the same on every OS: a Unix
// socketpair (or pipe), or on Windows a loopback TCP connection, where
// "waiting for input" means an overlapped receive started with the
// pollDesc's OVERLAPPED (completion, not readiness).
#ifndef GORT_TESTS_NETPOLL_TEST_UTIL_H_
#define GORT_TESTS_NETPOLL_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>

#include "gort/netpoll.h"

#ifdef _WIN32
// clang-format off
#include <winsock2.h>
#include <windows.h>
// clang-format on
#else
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace gort::testing {

// `a` is the end the poller watches, `b` its peer.
struct Pair {
  intptr_t a = -1;
  intptr_t b = -1;
#ifdef _WIN32
  char buf[256];
  WSABUF wsabuf;
#endif
};

// Go raises RLIMIT_NOFILE's soft limit to the hard one at start-up (Go
// 1.19); the stress test needs thousands of descriptors.
inline void RaiseFdLimit() {
#ifndef _WIN32
  rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &r);
  }
#endif
}

#ifdef _WIN32

inline bool WinsockUp() {
  static const bool up = [] {
    WSADATA d;
    return WSAStartup(MAKEWORD(2, 2), &d) == 0;
  }();
  return up;
}

// A connected loopback TCP pair; both ends overlapped-capable.
inline bool MakePair(Pair* p) {
  if (!WinsockUp()) return false;
  SOCKET l = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (l == INVALID_SOCKET) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int len = sizeof(sa);
  if (bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      listen(l, 1) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    closesocket(l);
    return false;
  }
  SOCKET c = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (c == INVALID_SOCKET ||
      connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    closesocket(l);
    if (c != INVALID_SOCKET) closesocket(c);
    return false;
  }
  SOCKET s = accept(l, nullptr, nullptr);
  closesocket(l);
  if (s == INVALID_SOCKET) {
    closesocket(c);
    return false;
  }
  BOOL one = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<char*>(&one),
             sizeof(one));
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<char*>(&one),
             sizeof(one));
  p->a = static_cast<intptr_t>(s);
  p->b = static_cast<intptr_t>(c);
  return true;
}

inline void ClosePair(Pair* p) {
  if (p->a != -1) closesocket(static_cast<SOCKET>(p->a));
  if (p->b != -1) closesocket(static_cast<SOCKET>(p->b));
  p->a = p->b = -1;
}

inline bool Send(intptr_t s, const char* data, int n) {
  return send(static_cast<SOCKET>(s), data, n, 0) == n;
}

// Starts an overlapped receive on `p->a` with the pollDesc's operation
// record: its completion readies the read direction. True if it was
// started. It may already have completed: then its packet is queued, or,
// on a socket with skip-on-success, the poller is told that none comes
// (which readies the direction the same way).
inline bool StartRead(Poller& poller, PollDescId pd, Pair* p) {
  absl::StatusOr<void*> ov = poller.Overlapped(pd, PollMode::kRead);
  if (!ov.ok()) return false;
  p->wsabuf.buf = p->buf;
  p->wsabuf.len = sizeof(p->buf);
  DWORD flags = 0;
  DWORD got = 0;
  int r = WSARecv(static_cast<SOCKET>(p->a), &p->wsabuf, 1, &got, &flags,
                  static_cast<OVERLAPPED*>(*ov), nullptr);
  DWORD e = r == 0 ? 0 : static_cast<DWORD>(WSAGetLastError());
  if (e == WSA_IO_PENDING) return true;
  absl::StatusOr<bool> skip = poller.SkipsCompletionOnSuccess(pd);
  if (e == 0 && !(skip.ok() && *skip)) return true;  // a packet comes
  (void)poller.OverlappedNotQueued(pd, PollMode::kRead,
                                   OverlappedResult{got, e});
  return e == 0;
}

// Bytes the last completed receive took (Windows) ; on Unix, reads what is
// there until EAGAIN.
inline int64_t TakeRead(Poller& poller, PollDescId pd, Pair*) {
  absl::StatusOr<OverlappedResult> r =
      poller.GetOverlappedResult(pd, PollMode::kRead);
  if (!r.ok() || r->error != 0) return -1;
  return r->bytes;
}

#else  // POSIX

inline bool SetNonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

inline bool MakePair(Pair* p) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return false;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  if (!SetNonblock(fds[0]) || !SetNonblock(fds[1])) return false;
  p->a = fds[0];
  p->b = fds[1];
  return true;
}

inline bool MakePipe(Pair* p) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  if (!SetNonblock(fds[0]) || !SetNonblock(fds[1])) return false;
  p->a = fds[0];
  p->b = fds[1];
  return true;
}

inline void ClosePair(Pair* p) {
  if (p->a != -1) close(static_cast<int>(p->a));
  if (p->b != -1) close(static_cast<int>(p->b));
  p->a = p->b = -1;
}

inline bool Send(intptr_t fd, const char* data, int n) {
  return write(static_cast<int>(fd), data, n) == n;
}

// Readiness needs nothing started.
inline bool StartRead(Poller&, PollDescId, Pair*) { return true; }

// Reads what is there; the count, 0 if nothing (EAGAIN), -1 on error or
// end of file.
inline int64_t TakeRead(Poller&, PollDescId, Pair* p) {
  char buf[256];
  int64_t total = 0;
  for (;;) {
    ssize_t n = read(static_cast<int>(p->a), buf, sizeof(buf));
    if (n > 0) {
      total += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return total;
    return total > 0 ? total : -1;
  }
}

#endif

}  // namespace gort::testing

#endif  // GORT_TESTS_NETPOLL_TEST_UTIL_H_
