// SPDX-License-Identifier: BSD-3-Clause
// Helpers for the FD layer's tests (fd_test.cc, fd_conn_test.cc), the same
// on every OS: loopback addresses, a driver that runs an operation to its
// end through Poller::Poll(), connected pairs made with the Fd API, and the
// few per-OS things the Fd API does not cover (SO_LINGER's struct, error
// codes of the OS, Wine detection).
#ifndef GORT_TESTS_FD_TEST_UTIL_H_
#define GORT_TESTS_FD_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gort/errno.h"
#include "gort/fd.h"
#include "gort/netpoll.h"

#ifdef _WIN32
// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
// clang-format on
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

namespace gort::testing {

// The portable code of a status (0 for OK).
inline int CodeOf(const absl::Status& s) {
  if (s.ok()) return 0;
  std::optional<Error> e = Error::FromStatus(s);
  return e ? e->code() : GORT_EUNKNOWN;
}

inline bool SocketsUp() {
#ifdef _WIN32
  static const bool up = [] {
    WSADATA d;
    return WSAStartup(MAKEWORD(2, 2), &d) == 0;
  }();
  return up;
#else
  return true;
#endif
}

// True when the Windows build runs under Wine (its ntdll exports
// wine_get_version); false elsewhere.
inline bool UnderWine() {
#ifdef _WIN32
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr &&
         GetProcAddress(ntdll, "wine_get_version") != nullptr;
#else
  return false;
#endif
}

// 127.0.0.1:port.
inline SockAddr Loopback4(uint16_t port) {
  sockaddr_in sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  SockAddr out;
  std::memcpy(out.bytes, &sa, sizeof(sa));
  out.len = sizeof(sa);
  return out;
}

inline uint16_t PortOf(const SockAddr& a) {
  sockaddr_in sa;
  std::memcpy(&sa, a.bytes, sizeof(sa));
  return ntohs(sa.sin_port);
}

// Makes the next close of `fd` abortive (SO_LINGER {1, 0}: a RST instead of
// a FIN). The Fd API's SetSockOptInt cannot pass the struct.
inline bool SetLingerZero(Fd& fd) {
  linger l;
  l.l_onoff = 1;
  l.l_linger = 0;
#ifdef _WIN32
  return setsockopt(static_cast<SOCKET>(fd.Sysfd()), SOL_SOCKET, SO_LINGER,
                    reinterpret_cast<const char*>(&l), sizeof(l)) == 0;
#else
  return setsockopt(static_cast<int>(fd.Sysfd()), SOL_SOCKET, SO_LINGER, &l,
                    sizeof(l)) == 0;
#endif
}

// Runs operations to their end on one thread: when one parks, polls until
// its token comes out. Tokens of other operations that come out meanwhile
// are kept for when their turn comes.
class Driver {
 public:
  explicit Driver(Poller& poller) : poller_(poller) {}

  // Blocks (Poll(-1)) until `token` comes out; returns its event.
  PollEvent Next(uintptr_t token) {
    for (;;) {
      for (size_t i = 0; i < seen_.size(); ++i) {
        if (seen_[i].token == token) {
          PollEvent ev = seen_[i];
          seen_.erase(seen_.begin() + static_cast<std::ptrdiff_t>(i));
          return ev;
        }
      }
      PollEvent evs[16];
      absl::StatusOr<size_t> n = poller_.Poll(-1, evs, 16);
      EXPECT_TRUE(n.ok()) << n.status();
      if (!n.ok()) return PollEvent{token, PollMode::kRead, PollReason::kReady};
      seen_.insert(seen_.end(), evs, evs + *n);
    }
  }

  // Blocks until any token comes out; the oldest one not taken yet.
  PollEvent NextAny() {
    while (seen_.empty()) {
      PollEvent evs[16];
      absl::StatusOr<size_t> n = poller_.Poll(-1, evs, 16);
      EXPECT_TRUE(n.ok()) << n.status();
      if (!n.ok()) return PollEvent{0, PollMode::kRead, PollReason::kReady};
      seen_.insert(seen_.end(), evs, evs + *n);
    }
    PollEvent ev = seen_.front();
    seen_.erase(seen_.begin());
    return ev;
  }

  // Whether `token` has come out already (polls without waiting).
  bool Out(uintptr_t token) {
    PollEvent evs[16];
    absl::StatusOr<size_t> n = poller_.Poll(0, evs, 16);
    if (n.ok()) seen_.insert(seen_.end(), evs, evs + *n);
    for (const PollEvent& ev : seen_) {
      if (ev.token == token) return true;
    }
    return false;
  }

  // Calls `op(IoResult*)` until it is done or fails, waiting for `token`
  // between calls. The last event's reason goes to *reason if not null.
  template <typename Op>
  absl::Status Run(uintptr_t token, Op op, IoResult* r,
                   PollReason* reason = nullptr) {
    for (;;) {
      absl::Status s = op(r);
      if (!s.ok() || r->state == IoState::kDone) return s;
      PollEvent ev = Next(token);
      if (reason != nullptr) *reason = ev.reason;
    }
  }

  absl::Status Read(Fd& fd, void* buf, size_t n, uintptr_t token, IoResult* r) {
    return Run(
        token, [&](IoResult* x) { return fd.Read(buf, n, token, x); }, r);
  }
  absl::Status Write(Fd& fd, const void* buf, size_t n, uintptr_t token,
                     IoResult* r) {
    return Run(
        token, [&](IoResult* x) { return fd.Write(buf, n, token, x); }, r);
  }

 private:
  Poller& poller_;
  std::vector<PollEvent> seen_;
};

// Tokens: any value above 2; these name the tests' operations.
inline constexpr uintptr_t kTokA = 0x1000;
inline constexpr uintptr_t kTokB = 0x2000;
inline constexpr uintptr_t kTokC = 0x3000;
inline constexpr uintptr_t kTokD = 0x4000;

// A listening TCP socket on 127.0.0.1 (an ephemeral port).
inline std::unique_ptr<Fd> Listener(Poller& poller, int backlog = 16) {
  if (!SocketsUp()) return nullptr;
  absl::StatusOr<std::unique_ptr<Fd>> l =
      Fd::Socket(poller, AF_INET, SOCK_STREAM, 0);
  EXPECT_TRUE(l.ok()) << l.status();
  if (!l.ok()) return nullptr;
  EXPECT_TRUE((*l)->Bind(Loopback4(0)).ok());
  EXPECT_TRUE((*l)->Listen(backlog).ok());
  return std::move(*l);
}

// A connected TCP pair over 127.0.0.1: `client` connected to a connection
// `server` accepted from `listener`.
struct TcpPair {
  std::unique_ptr<Fd> client;
  std::unique_ptr<Fd> server;
};

inline bool Connect(Poller& poller, Driver& d, Fd& listener, TcpPair* p) {
  absl::StatusOr<SockAddr> addr = listener.LocalAddr();
  EXPECT_TRUE(addr.ok()) << addr.status();
  if (!addr.ok()) return false;
  absl::StatusOr<std::unique_ptr<Fd>> c =
      Fd::Socket(poller, AF_INET, SOCK_STREAM, 0);
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return false;
  p->client = std::move(*c);
  IoResult cr;
  absl::Status cs = p->client->Connect(*addr, kTokC, &cr);
  EXPECT_TRUE(cs.ok()) << cs;
  if (!cs.ok()) return false;
  IoResult ar;
  absl::Status as = d.Run(
      kTokD,
      [&](IoResult* x) {
        return listener.Accept(kTokD, x, &p->server, nullptr);
      },
      &ar);
  EXPECT_TRUE(as.ok()) << as;
  if (!as.ok()) return false;
  if (cr.state == IoState::kParked) {
    d.Next(kTokC);
    cs = d.Run(
        kTokC, [&](IoResult* x) { return p->client->Connect(*addr, kTokC, x); },
        &cr);
    EXPECT_TRUE(cs.ok()) << cs;
    if (!cs.ok()) return false;
  }
  return p->client != nullptr && p->server != nullptr;
}

}  // namespace gort::testing

#endif  // GORT_TESTS_FD_TEST_UTIL_H_
