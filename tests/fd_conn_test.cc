// SPDX-License-Identifier: BSD-3-Clause
// How a TCP connection ends, per OS, through the FD layer. Each test says
// what each OS does and asserts what ran here. Only the Fd API plus
// fd_test_util.h's small per-OS helpers, so the same file runs on Linux,
// macOS and Windows (Wine's sockets sit on Linux's: wire behaviour is
// Linux's, error codes Windows').
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "fd_test_util.h"
#include "gort/errno.h"
#include "gort/fd.h"
#include "gort/netpoll.h"

#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#endif

namespace gort {
namespace {

using testing::CodeOf;
using testing::Driver;
using testing::kTokA;
using testing::kTokB;
using testing::TcpPair;

const char* CodeName(int code) { return ErrorCodeName(code); }

#ifndef _WIN32
// Counts SIGPIPEs while a test runs: the FD layer must never raise one.
std::atomic<int> g_sigpipes{0};
void CountSigpipe(int) { g_sigpipes.fetch_add(1); }
#endif

class FdConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef _WIN32
    struct sigaction sa = {};
    sa.sa_handler = CountSigpipe;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGPIPE, &sa, &old_sigpipe_), 0);
    g_sigpipes.store(0);
#endif
    absl::StatusOr<std::unique_ptr<Poller>> p = Poller::Open();
    ASSERT_TRUE(p.ok()) << p.status();
    poller_ = std::move(*p);
    driver_ = std::make_unique<Driver>(*poller_);
    listener_ = testing::Listener(*poller_);
    ASSERT_NE(listener_, nullptr);
    ASSERT_TRUE(testing::Connect(*poller_, *driver_, *listener_, &pair_));
  }
  void TearDown() override {
    pair_ = TcpPair{};
    listener_.reset();
    driver_.reset();
    poller_.reset();
#ifndef _WIN32
    EXPECT_EQ(g_sigpipes.load(), 0) << "SIGPIPE raised";
    sigaction(SIGPIPE, &old_sigpipe_, nullptr);
#endif
  }

  // Reads until the read is done (EOF included) or fails.
  absl::Status ReadAll(Fd& fd, std::string* out, IoResult* r) {
    char buf[256];
    for (;;) {
      absl::Status s = driver_->Read(fd, buf, sizeof(buf), kTokA, r);
      if (!s.ok() || r->n == 0) return s;
      out->append(buf, r->n);
    }
  }

  std::unique_ptr<Poller> poller_;
  std::unique_ptr<Driver> driver_;
  std::unique_ptr<Fd> listener_;
  TcpPair pair_;
#ifndef _WIN32
  struct sigaction old_sigpipe_ = {};
#endif
};

// Everywhere: the peer writes and closes gracefully (FIN); we read its
// bytes, then a kDone of 0 bytes (EOF), and EOF again on the next read.
TEST_F(FdConnTest, EofAfterGracefulClose) {
  IoResult w;
  ASSERT_TRUE(pair_.client->Write("bye", 3, kTokB, &w).ok());
  ASSERT_TRUE(pair_.client->Close().ok());
  std::string got;
  IoResult r;
  ASSERT_TRUE(ReadAll(*pair_.server, &got, &r).ok());
  EXPECT_EQ(got, "bye");
  EXPECT_EQ(r.state, IoState::kDone);
  EXPECT_EQ(r.n, 0u);
  char buf[4];
  ASSERT_TRUE(pair_.server->Read(buf, sizeof(buf), kTokA, &r).ok());
  EXPECT_EQ(r.state, IoState::kDone);
  EXPECT_EQ(r.n, 0u);
}

// The peer closes with SO_LINGER {1, 0}: a RST, not a FIN. A read that was
// already parked fails with ECONNRESET on Linux (recv: ECONNRESET), macOS
// (BSD's tcp_drop sets so_error ECONNRESET; read returns it) and Windows
// (the pending WSARecv completes with WSAECONNRESET; also under Wine).
TEST_F(FdConnTest, ParkedReadGetsResetWhenThePeerAborts) {
  char buf[16];
  IoResult r;
  ASSERT_TRUE(pair_.server->Read(buf, sizeof(buf), kTokA, &r).ok());
  ASSERT_EQ(r.state, IoState::kParked);
  ASSERT_TRUE(testing::SetLingerZero(*pair_.client));
  ASSERT_TRUE(pair_.client->Close().ok());
  absl::Status s = driver_->Run(
      kTokA,
      [&](IoResult* x) {
        return pair_.server->Read(buf, sizeof(buf), kTokA, x);
      },
      &r);
  RecordProperty("read_after_reset", CodeName(CodeOf(s)));
  EXPECT_EQ(CodeOf(s), GORT_ECONNRESET) << s;
}

// The RST arrives before the read starts. Linux and macOS: ECONNRESET
// (the socket's pending error). Windows: WSAECONNRESET; Wine: a plain
// receive after the reset returns 0 (EOF) instead (cross-targets.md), so
// under Wine EOF is what runs.
TEST_F(FdConnTest, ReadAfterResetArrived) {
  ASSERT_TRUE(testing::SetLingerZero(*pair_.client));
  ASSERT_TRUE(pair_.client->Close().ok());
  char buf[16];
  IoResult r;
  absl::Status s = driver_->Read(*pair_.server, buf, sizeof(buf), kTokA, &r);
  RecordProperty("read_after_reset", s.ok() ? "EOF" : CodeName(CodeOf(s)));
  if (testing::UnderWine()) {
    EXPECT_TRUE(s.ok() ? r.n == 0 : CodeOf(s) == GORT_ECONNRESET) << s;
  } else {
    EXPECT_EQ(CodeOf(s), GORT_ECONNRESET) << s;
  }
}

// Writing to a peer that went away (closed; its kernel answers our data
// with a RST). The first writes may succeed (the data is in flight); one
// then fails: Linux EPIPE (the RST came while we were in CLOSE_WAIT) or
// ECONNRESET; macOS EPIPE or ECONNRESET; Windows WSAECONNRESET (or
// WSAECONNABORTED), ECONNRESET under Wine. SIGPIPE is never raised
// (Linux MSG_NOSIGNAL, macOS SO_NOSIGPIPE): the fixture counts it.
TEST_F(FdConnTest, WriteToAPeerThatWentAway) {
  ASSERT_TRUE(pair_.server->Close().ok());
  // Our side sees the FIN first.
  char buf[4];
  IoResult r;
  ASSERT_TRUE(driver_->Read(*pair_.client, buf, sizeof(buf), kTokA, &r).ok());
  EXPECT_EQ(r.n, 0u);
  std::vector<char> chunk(1024, 'z');
  absl::Status s;
  int writes = 0;
  for (; writes < 100000 && s.ok(); ++writes) {
    s = driver_->Write(*pair_.client, chunk.data(), chunk.size(), kTokB, &r);
  }
  RecordProperty("write_error", CodeName(CodeOf(s)));
  RecordProperty("writes_before_error", writes);
  ASSERT_FALSE(s.ok()) << "every write succeeded";
#ifdef _WIN32
  EXPECT_TRUE(CodeOf(s) == GORT_ECONNRESET || CodeOf(s) == GORT_ECONNABORTED)
      << s;
#else
  EXPECT_TRUE(CodeOf(s) == GORT_EPIPE || CodeOf(s) == GORT_ECONNRESET) << s;
#endif
}

#ifndef _WIN32
// Unix pipes: a write after the reader closed fails with EPIPE and raises
// no SIGPIPE (Linux: SIGPIPE blocked around the write and the pending one
// taken; macOS: F_SETNOSIGPIPE). Windows has no such pipes.
TEST_F(FdConnTest, PipeWriteAfterReaderClosedIsEpipeWithoutSigpipe) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  absl::StatusOr<std::unique_ptr<Fd>> w =
      Fd::Open(*poller_, p[1], FdKind::kPipe);
  ASSERT_TRUE(w.ok());
  close(p[0]);
  IoResult r;
  absl::Status s = (*w)->Write("x", 1, kTokB, &r);
  EXPECT_EQ(CodeOf(s), GORT_EPIPE) << s;
  EXPECT_EQ(r.n, 0u);
  EXPECT_EQ(g_sigpipes.load(), 0);
  // A SIGPIPE pending before the write (blocked by the caller) is left for
  // the caller: only the one the write raised is taken.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGPIPE), 0);
  s = (*w)->Write("x", 1, kTokB, &r);
  EXPECT_EQ(CodeOf(s), GORT_EPIPE) << s;
  sigset_t pending;
  sigemptyset(&pending);
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 1);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);  // delivered now
  EXPECT_EQ(g_sigpipes.exchange(0), 1);
}
#endif

// Everywhere: an Accept parked on a listener that Close() closes comes out
// with kClosing, and calling it again gives ECANCELED (Go's
// ErrNetClosing); the listening socket is closed then.
TEST_F(FdConnTest, AcceptOnAClosedListenerIsCanceled) {
  std::unique_ptr<Fd> conn;
  IoResult r;
  ASSERT_TRUE(listener_->Accept(kTokA, &r, &conn, nullptr).ok());
  ASSERT_EQ(r.state, IoState::kParked);
  ASSERT_TRUE(listener_->Close().ok());
  EXPECT_FALSE(listener_->Destroyed());
  EXPECT_EQ(driver_->Next(kTokA).reason, PollReason::kClosing);
  EXPECT_EQ(CodeOf(listener_->Accept(kTokA, &r, &conn, nullptr)),
            GORT_ECANCELED);
  EXPECT_EQ(conn, nullptr);
  EXPECT_TRUE(listener_->Destroyed());
}

// A connect to a port nobody listens on: ECONNREFUSED everywhere (Linux
// and macOS through SO_ERROR, or at once; Windows: ConnectEx completes
// with ERROR_CONNECTION_REFUSED, mapped to ECONNREFUSED).
TEST_F(FdConnTest, ConnectToAClosedPortIsRefused) {
  // A port that was free a moment ago: bound, never listened on, closed.
  absl::StatusOr<std::unique_ptr<Fd>> tmp =
      Fd::Socket(*poller_, AF_INET, SOCK_STREAM, 0);
  ASSERT_TRUE(tmp.ok());
  ASSERT_TRUE((*tmp)->Bind(testing::Loopback4(0)).ok());
  absl::StatusOr<SockAddr> addr = (*tmp)->LocalAddr();
  ASSERT_TRUE(addr.ok());
  ASSERT_TRUE((*tmp)->Close().ok());
  absl::StatusOr<std::unique_ptr<Fd>> c =
      Fd::Socket(*poller_, AF_INET, SOCK_STREAM, 0);
  ASSERT_TRUE(c.ok());
  IoResult r;
  absl::Status s = driver_->Run(
      kTokB, [&](IoResult* x) { return (*c)->Connect(*addr, kTokB, x); }, &r);
  RecordProperty("connect", CodeName(CodeOf(s)));
  EXPECT_EQ(CodeOf(s), GORT_ECONNREFUSED) << s;
}

// Everywhere: after Shutdown(kWrite) the peer reads EOF but can still
// send; we read what it sends, then its EOF once it closes.
TEST_F(FdConnTest, HalfClose) {
  ASSERT_TRUE(pair_.client->Shutdown(PollMode::kWrite).ok());
  std::string got;
  IoResult r;
  ASSERT_TRUE(ReadAll(*pair_.server, &got, &r).ok());
  EXPECT_EQ(got, "");
  EXPECT_EQ(r.n, 0u);
  ASSERT_TRUE(driver_->Write(*pair_.server, "still here", 10, kTokB, &r).ok());
  EXPECT_EQ(r.n, 10u);
  ASSERT_TRUE(pair_.server->Close().ok());
  got.clear();
  ASSERT_TRUE(ReadAll(*pair_.client, &got, &r).ok());
  EXPECT_EQ(got, "still here");
  // Writing on our shut side fails: EPIPE (Linux, macOS); WSAESHUTDOWN on
  // Windows (ESHUTDOWN).
  absl::Status s = pair_.client->Write("x", 1, kTokB, &r);
  RecordProperty("write_after_shutdown", CodeName(CodeOf(s)));
#ifdef _WIN32
  EXPECT_EQ(CodeOf(s), GORT_ESHUTDOWN) << s;
#else
  EXPECT_EQ(CodeOf(s), GORT_EPIPE) << s;
#endif
}

// A read parked on an idle connection is woken by the peer's graceful
// close and reads EOF: Linux reports EPOLLIN|EPOLLRDHUP, macOS EVFILT_READ
// with EV_EOF, Windows completes the pending WSARecv with 0 bytes.
TEST_F(FdConnTest, ParkedReadIsWokenByThePeersClose) {
  char buf[8];
  IoResult r;
  ASSERT_TRUE(pair_.server->Read(buf, sizeof(buf), kTokA, &r).ok());
  ASSERT_EQ(r.state, IoState::kParked);
  ASSERT_TRUE(pair_.client->Close().ok());
  PollEvent ev = driver_->Next(kTokA);
  EXPECT_EQ(ev.reason, PollReason::kReady);
  ASSERT_TRUE(pair_.server->Read(buf, sizeof(buf), kTokA, &r).ok());
  EXPECT_EQ(r.state, IoState::kDone);
  EXPECT_EQ(r.n, 0u);
}

}  // namespace
}  // namespace gort
