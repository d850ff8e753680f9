// SPDX-License-Identifier: BSD-3-Clause
// The FD layer's C ABI (gort_fd_*): every entry point with NULL, stale,
// closed and out-of-range arguments returns a code and never crashes; the
// handle's life around close; a poller is not closed under its fds; an
// echo through the C ABI alone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fd_test_util.h"
#include "gort.h"

#ifndef _WIN32
#include <sys/socket.h>
#endif

namespace {

using gort::testing::Loopback4;

constexpr uintptr_t kTok = 0x100;
constexpr uintptr_t kTok2 = 0x200;

// Polls until `token` comes out; its event.
gort_poll_event_t WaitFor(gort_poller_t p, uintptr_t token,
                          std::vector<gort_poll_event_t>* seen) {
  for (;;) {
    for (size_t i = 0; i < seen->size(); ++i) {
      if ((*seen)[i].token == token) {
        gort_poll_event_t ev = (*seen)[i];
        seen->erase(seen->begin() + static_cast<std::ptrdiff_t>(i));
        return ev;
      }
    }
    gort_poll_event_t evs[8];
    size_t got = 0;
    EXPECT_EQ(gort_poller_poll(p, -1, evs, 8, &got), 0);
    seen->insert(seen->end(), evs, evs + got);
  }
}

class CApiFd : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gort::testing::SocketsUp());
    ASSERT_EQ(gort_poller_open(&p_), 0);
  }
  void TearDown() override { EXPECT_EQ(gort_poller_close(p_), 0); }

  gort_fd_t Listener() {
    gort_fd_t l = 0;
    EXPECT_EQ(gort_fd_socket(p_, AF_INET, SOCK_STREAM, 0, &l), 0);
    gort::SockAddr a = Loopback4(0);
    EXPECT_EQ(gort_fd_bind(l, a.bytes, a.len), 0);
    EXPECT_EQ(gort_fd_listen(l, 8), 0);
    return l;
  }

  gort_poller_t p_ = 0;
  std::vector<gort_poll_event_t> seen_;
};

TEST_F(CApiFd, NullStaleClosedAndOutOfRangeArguments) {
  gort_fd_t fd = 0;
  char buf[8];
  size_t n = 0;
  uint32_t alen = sizeof(buf);
  intptr_t sys = 0;
  gort::SockAddr a = Loopback4(1);

  // Creating: NULL out, bad poller, bad kind, bad descriptor.
  EXPECT_EQ(gort_fd_socket(p_, AF_INET, SOCK_STREAM, 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_fd_open(p_, 0, GORT_FD_PIPE, nullptr), GORT_EINVAL);
  for (gort_poller_t bad : {gort_poller_t{0}, gort_poller_t{4097},
                            ~gort_poller_t{0}, p_ + (uint64_t{2} << 32)}) {
    EXPECT_EQ(gort_fd_socket(bad, AF_INET, SOCK_STREAM, 0, &fd), GORT_EBADF);
    EXPECT_EQ(gort_fd_open(bad, 0, GORT_FD_PIPE, &fd), GORT_EBADF);
  }
  for (int kind : {0, 5, -1, 1000}) {
    EXPECT_EQ(gort_fd_open(p_, 0, kind, &fd), GORT_EINVAL) << kind;
  }
  EXPECT_EQ(gort_fd_open(p_, -1, GORT_FD_STREAM, &fd), GORT_EINVAL);
  EXPECT_EQ(gort_fd_open(p_, intptr_t{1} << 40, GORT_FD_STREAM, &fd),
            GORT_EINVAL);
  EXPECT_EQ(gort_fd_socket(p_, -5, SOCK_STREAM, 0, &fd), GORT_EAFNOSUPPORT);

  // A live fd with bad arguments.
  ASSERT_EQ(gort_fd_socket(p_, AF_INET, SOCK_STREAM, 0, &fd), 0);
  ASSERT_NE(fd, 0u);
  EXPECT_EQ(gort_fd_read(fd, buf, sizeof(buf), kTok, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_fd_read(fd, nullptr, 8, kTok, &n), GORT_EINVAL);
  EXPECT_EQ(gort_fd_write(fd, buf, sizeof(buf), kTok, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_fd_write(fd, nullptr, 8, kTok, &n), GORT_EINVAL);
  for (uintptr_t bad : {uintptr_t{0}, uintptr_t{1}, uintptr_t{2}}) {
    EXPECT_EQ(gort_fd_read(fd, buf, sizeof(buf), bad, &n), GORT_EINVAL);
    EXPECT_EQ(gort_fd_write(fd, buf, sizeof(buf), bad, &n), GORT_EINVAL);
    EXPECT_EQ(gort_fd_connect(fd, a.bytes, a.len, bad), GORT_EINVAL);
    EXPECT_EQ(gort_fd_accept(fd, bad, &fd, nullptr, nullptr), GORT_EINVAL);
    EXPECT_EQ(gort_fd_wait_read(fd, bad), GORT_EINVAL);
  }
  EXPECT_EQ(gort_fd_accept(fd, kTok, nullptr, nullptr, nullptr), GORT_EINVAL);
  gort_fd_t out = 0;
  EXPECT_EQ(gort_fd_accept(fd, kTok, &out, buf, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_fd_connect(fd, nullptr, 16, kTok), GORT_EINVAL);
  EXPECT_EQ(gort_fd_connect(fd, a.bytes, 0, kTok), GORT_EINVAL);
  EXPECT_EQ(gort_fd_connect(fd, a.bytes, 129, kTok), GORT_EINVAL);
  EXPECT_EQ(gort_fd_read_from(fd, buf, sizeof(buf), buf, &alen, kTok, nullptr),
            GORT_EINVAL);
  EXPECT_EQ(gort_fd_read_from(fd, buf, sizeof(buf), buf, nullptr, kTok, &n),
            GORT_EINVAL);
  EXPECT_EQ(gort_fd_write_to(fd, buf, sizeof(buf), nullptr, 16, kTok, &n),
            GORT_EINVAL);
  EXPECT_EQ(
      gort_fd_write_to(fd, buf, sizeof(buf), a.bytes, a.len, kTok, nullptr),
      GORT_EINVAL);
  EXPECT_EQ(gort_fd_write_to(fd, buf, sizeof(buf), a.bytes, 200, kTok, &n),
            GORT_EINVAL);
  for (int bad : {0, 4, -1, int{'r'}}) {
    EXPECT_EQ(gort_fd_shutdown(fd, bad), GORT_EINVAL) << bad;
    EXPECT_EQ(gort_fd_set_deadline(fd, 1, bad), GORT_EINVAL) << bad;
  }
  EXPECT_EQ(gort_fd_bind(fd, nullptr, 16), GORT_EINVAL);
  EXPECT_EQ(gort_fd_bind(fd, a.bytes, 0), GORT_EINVAL);
  EXPECT_EQ(gort_fd_local_addr(fd, nullptr, &alen), GORT_EINVAL);
  EXPECT_EQ(gort_fd_local_addr(fd, buf, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_fd_sysfd(fd, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_fd_setsockopt_int(fd, -12345, -1, 0) != 0, true);

  // Stale, never-issued and closed handles: every entry point.
  ASSERT_EQ(gort_fd_close(fd), 0);
  for (gort_fd_t bad : {fd, gort_fd_t{0}, gort_fd_t{1}, gort_fd_t{65537},
                        ~gort_fd_t{0}, fd + (uint64_t{2} << 32)}) {
    EXPECT_EQ(gort_fd_read(bad, buf, sizeof(buf), kTok, &n), GORT_EBADF);
    EXPECT_EQ(gort_fd_write(bad, buf, sizeof(buf), kTok, &n), GORT_EBADF);
    EXPECT_EQ(gort_fd_accept(bad, kTok, &out, nullptr, nullptr), GORT_EBADF);
    EXPECT_EQ(gort_fd_connect(bad, a.bytes, a.len, kTok), GORT_EBADF);
    EXPECT_EQ(
        gort_fd_read_from(bad, buf, sizeof(buf), nullptr, nullptr, kTok, &n),
        GORT_EBADF);
    EXPECT_EQ(gort_fd_write_to(bad, buf, 1, a.bytes, a.len, kTok, &n),
              GORT_EBADF);
    EXPECT_EQ(gort_fd_shutdown(bad, GORT_POLL_WRITE), GORT_EBADF);
    EXPECT_EQ(gort_fd_set_deadline(bad, 1, GORT_POLL_READ), GORT_EBADF);
    EXPECT_EQ(gort_fd_bind(bad, a.bytes, a.len), GORT_EBADF);
    EXPECT_EQ(gort_fd_listen(bad, 1), GORT_EBADF);
    EXPECT_EQ(gort_fd_local_addr(bad, buf, &alen), GORT_EBADF);
    EXPECT_EQ(gort_fd_setsockopt_int(bad, 1, 1, 1), GORT_EBADF);
    EXPECT_EQ(gort_fd_close(bad), GORT_EBADF);
    EXPECT_EQ(gort_fd_sysfd(bad, &sys), GORT_EBADF);
    EXPECT_EQ(gort_fd_wait_read(bad, kTok), GORT_EBADF);
  }
}

// A poller its fds still use is not closed (GORT_EBUSY) and stays usable;
// once they are closed it is.
TEST_F(CApiFd, PollerWithOpenFdsIsBusy) {
  gort_fd_t fd = 0;
  ASSERT_EQ(gort_fd_socket(p_, AF_INET, SOCK_DGRAM, 0, &fd), 0);
  EXPECT_EQ(gort_poller_close(p_), GORT_EBUSY);
  gort_poll_event_t ev[2];
  size_t got = 0;
  EXPECT_EQ(gort_poller_poll(p_, 0, ev, 2, &got), 0);
  EXPECT_EQ(gort_fd_set_deadline(fd, 1000, GORT_POLL_READ), 0);
  EXPECT_EQ(gort_fd_close(fd), 0);
  // TearDown closes the poller: 0 now.
}

// Close with a parked read: the handle lives (new calls ECANCELED, a
// second close EBADF, the poller busy) until the read is called again;
// then the descriptor is closed and the handle released.
TEST_F(CApiFd, HandleLivesUntilTheLastOperationEnds) {
  gort_fd_t l = Listener();
  gort_fd_t conn = 0;
  EXPECT_EQ(gort_fd_accept(l, kTok, &conn, nullptr, nullptr), GORT_POLL_PARKED);
  intptr_t sys = -1;
  ASSERT_EQ(gort_fd_sysfd(l, &sys), 0);
  EXPECT_GE(sys, 0);
  ASSERT_EQ(gort_fd_close(l), 0);
  EXPECT_EQ(gort_fd_close(l), GORT_EBADF);
  EXPECT_EQ(gort_fd_listen(l, 1), GORT_ECANCELED);
  EXPECT_EQ(gort_fd_accept(l, kTok2, &conn, nullptr, nullptr), GORT_ECANCELED);
  intptr_t sys2 = -1;
  EXPECT_EQ(gort_fd_sysfd(l, &sys2), 0);
  EXPECT_EQ(sys2, sys);
  EXPECT_EQ(gort_poller_close(p_), GORT_EBUSY);
  EXPECT_EQ(WaitFor(p_, kTok, &seen_).reason, GORT_POLL_CLOSING);
  EXPECT_EQ(gort_fd_accept(l, kTok, &conn, nullptr, nullptr), GORT_ECANCELED);
  EXPECT_EQ(gort_fd_sysfd(l, &sys2), GORT_EBADF);
  EXPECT_EQ(gort_fd_close(l), GORT_EBADF);
}

// A connection and an echo through the C ABI alone.
TEST_F(CApiFd, Echo) {
  gort_fd_t l = Listener();
  unsigned char addr[128];
  uint32_t alen = sizeof(addr);
  ASSERT_EQ(gort_fd_local_addr(l, addr, &alen), 0);
  ASSERT_GT(alen, 0u);
  gort_fd_t c = 0;
  ASSERT_EQ(gort_fd_socket(p_, AF_INET, SOCK_STREAM, 0, &c), 0);
  int rc = gort_fd_connect(c, addr, alen, kTok);
  ASSERT_TRUE(rc == 0 || rc == GORT_POLL_PARKED) << rc;
  gort_fd_t s = 0;
  unsigned char peer[128];
  uint32_t plen = sizeof(peer);
  int ar;
  while ((ar = gort_fd_accept(l, kTok2, &s, peer, &plen)) == GORT_POLL_PARKED) {
    WaitFor(p_, kTok2, &seen_);
  }
  ASSERT_EQ(ar, 0);
  EXPECT_NE(s, 0u);
  EXPECT_EQ(plen, alen);
  while (rc == GORT_POLL_PARKED) {
    WaitFor(p_, kTok, &seen_);
    rc = gort_fd_connect(c, addr, alen, kTok);
  }
  ASSERT_EQ(rc, 0);
  size_t n = 0;
  ASSERT_EQ(gort_fd_write(c, "ping", 4, kTok, &n), 0);
  EXPECT_EQ(n, 4u);
  char buf[16];
  while ((rc = gort_fd_read(s, buf, sizeof(buf), kTok2, &n)) ==
         GORT_POLL_PARKED) {
    WaitFor(p_, kTok2, &seen_);
  }
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(gort_fd_write(s, buf, n, kTok2, &n), 0);
  while ((rc = gort_fd_read(c, buf, sizeof(buf), kTok, &n)) ==
         GORT_POLL_PARKED) {
    WaitFor(p_, kTok, &seen_);
  }
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(std::string(buf, n), "ping");
  ASSERT_EQ(gort_fd_shutdown(c, GORT_POLL_WRITE), 0);
  while ((rc = gort_fd_read(s, buf, sizeof(buf), kTok2, &n)) ==
         GORT_POLL_PARKED) {
    WaitFor(p_, kTok2, &seen_);
  }
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(n, 0u);  // EOF
  EXPECT_EQ(gort_fd_close(s), 0);
  EXPECT_EQ(gort_fd_close(c), 0);
  EXPECT_EQ(gort_fd_close(l), 0);
}

#ifndef _WIN32
// The continuation of a parked read runs on the polling thread with the
// same `done_n` pointer, possibly before the parking call has returned: a
// parked call does not write *done_n. (The first version did, after the
// token was published; that raced only when the continuation pinned the
// handle before the parking call unpinned it, which no test here can force:
// this one checks the pattern stays free of races under TSan.)
TEST_F(CApiFd, ContinuationOnThePollingThreadSharesDoneN) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  gort_fd_t a = 0, b = 0;
  ASSERT_EQ(gort_fd_open(p_, sv[0], GORT_FD_STREAM, &a), 0);
  ASSERT_EQ(gort_fd_open(p_, sv[1], GORT_FD_STREAM, &b), 0);
  struct Op {
    gort_fd_t fd;
    char buf[16];
    size_t n;  // shared by every call of the operation
    std::atomic<int> rc{1};
  };
  std::atomic<bool> stop{false};
  std::atomic<bool> left{false};
  std::thread poll_thread([&] {
    gort_poll_event_t evs[8];
    while (!stop.load()) {
      size_t got = 0;
      if (gort_poller_poll(p_, -1, evs, 8, &got) != 0) continue;
      for (size_t k = 0; k < got; ++k) {
        Op* op = reinterpret_cast<Op*>(evs[k].token);
        int rc = gort_fd_read(op->fd, op->buf, sizeof(op->buf), evs[k].token,
                              &op->n);
        if (rc != GORT_POLL_PARKED) op->rc.store(rc);
      }
    }
    left.store(true);
  });
  int parked = 0;
  for (int i = 0; i < 200; ++i) {
    Op op;
    op.fd = a;
    int rc = gort_fd_read(a, op.buf, sizeof(op.buf),
                          reinterpret_cast<uintptr_t>(&op), &op.n);
    if (rc == GORT_POLL_PARKED) {
      ++parked;
      size_t w = 0;
      ASSERT_EQ(gort_fd_write(b, "c", 1, kTok2, &w), 0);
      while (op.rc.load() == 1) std::this_thread::yield();
      rc = op.rc.load();
    }
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(op.n, 1u);
  }
  stop.store(true);
  while (!left.load()) {
    ASSERT_EQ(gort_poller_wake(p_), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  poll_thread.join();
  EXPECT_EQ(parked, 200);
  EXPECT_EQ(gort_fd_close(a), 0);
  EXPECT_EQ(gort_fd_close(b), 0);
}
#endif  // !_WIN32

}  // namespace
