// SPDX-License-Identifier: BSD-3-Clause
// No C++ exception crosses the C ABI: this binary replaces the global
// operator new with one that throws std::bad_alloc at the k-th allocation of
// the calling thread, and drives C ABI entry points through every k until
// they no longer allocate. Each must return 0, its usual error or
// GORT_ENOMEM: an exception escaping one fails the test (gtest reports the
// uncaught std::bad_alloc). Also: the guard's code for other exceptions,
// and that installing syscall hooks allocates nothing (memory stays
// bounded however many distinct hooks are installed).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "capi.h"
#include "gort.h"

#ifndef _WIN32
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace {

// Allocations left before the next one throws; < 0: never throw.
thread_local int64_t t_fail_after = -1;
// Whether the armed failure was thrown.
thread_local bool t_thrown = false;
// Allocations made by this thread while counting.
thread_local bool t_counting = false;
thread_local int64_t t_count = 0;

void* Allocate(std::size_t n) {
  if (t_counting) ++t_count;
  if (t_fail_after == 0) {
    t_fail_after = -1;
    t_thrown = true;
    throw std::bad_alloc();
  }
  if (t_fail_after > 0) --t_fail_after;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return Allocate(n); }
void* operator new[](std::size_t n) { return Allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {

// Calls `call` with the k-th allocation failing, for k = 0, 1, ... until a
// call completes without reaching its k-th allocation. Every result must be
// 0, one of `ok` or GORT_ENOMEM; returns how many failures were injected.
template <typename Call>
int Sweep(const char* what, std::initializer_list<int> ok, Call call) {
  int injected = 0;
  for (int64_t k = 0; k < 10000; ++k) {
    t_thrown = false;
    t_fail_after = k;
    int rc = 0;
    try {
      rc = call();
    } catch (const std::exception& e) {
      t_fail_after = -1;
      ADD_FAILURE() << what << ": exception crossed the C ABI at allocation "
                    << k << ": " << e.what();
      return injected;
    }
    t_fail_after = -1;
    bool allowed = rc == 0 || rc == GORT_ENOMEM;
    for (int c : ok) allowed = allowed || rc == c;
    EXPECT_TRUE(allowed) << what << " at allocation " << k << ": " << rc;
    if (!t_thrown) return injected;
    ++injected;
  }
  ADD_FAILURE() << what << ": still allocating after 10000";
  return injected;
}

TEST(CApiFault, TimerEntryPointsReturnENOMEM) {
  gort_timers_t heap = 0;
  ASSERT_EQ(gort_timers_new(&heap), 0);
  int injected = Sweep("gort_timer_add", {}, [&] {
    gort_timer_t t = 0;
    int rc = 0;
    // Enough timers for the heap's arrays to grow.
    for (int i = 0; i < 64 && rc == 0; ++i) {
      rc = gort_timer_add_token(heap, 0x10, &t);
      if (rc == 0) rc = gort_timer_reset(heap, t, 100 + i, 0, nullptr);
    }
    return rc;
  });
  EXPECT_GT(injected, 0) << "the sweep injected nothing";
  // A stale timer: the core's error status is built (and may allocate).
  Sweep("gort_timer_stop(stale)", {GORT_EBADF},
        [&] { return gort_timer_stop(heap, 0xdead0001, nullptr); });
  Sweep("gort_timers_new", {}, [&] {
    gort_timers_t h = 0;
    int rc = gort_timers_new(&h);
    if (rc == 0) rc = gort_timers_free(h);
    return rc;
  });
  EXPECT_EQ(gort_timers_free(heap), 0);
}

TEST(CApiFault, PollerEntryPointsReturnENOMEM) {
  int injected = Sweep("gort_poller_open", {}, [] {
    gort_poller_t p = 0;
    int rc = gort_poller_open(&p);
    if (rc != 0) return rc;
    // A stale pollDesc: an error status with a message.
    rc = gort_poller_prepare(p, 1, GORT_POLL_READ);
    if (rc == GORT_EBADF) rc = 0;
    int closed = gort_poller_close(p);
    return rc != 0 ? rc : closed;
  });
  EXPECT_GT(injected, 0) << "the sweep injected nothing";
}

#ifndef _WIN32
// The FD layer's entry points (not on Windows until branch fd-windows):
// ENOMEM at any allocation, and never a handle left behind: the poller
// closes at the end (GORT_EBUSY if an fd handle leaked).
TEST(CApiFault, FdEntryPointsReturnENOMEM) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  int injected = Sweep("gort_fd_socket", {}, [&] {
    gort_fd_t fd = 0;
    int rc = gort_fd_socket(p, AF_INET, SOCK_DGRAM, 0, &fd);
    if (rc != 0) return rc;
    uint64_t addr[16];
    uint32_t len = sizeof(addr);
    rc = gort_fd_local_addr(fd, addr, &len);
    size_t n = 0;
    int bad = gort_fd_read(fd, addr, 8, 0, &n);  // an error status: EINVAL
    if (rc == 0 && bad != GORT_EINVAL) rc = bad;
    int closed = gort_fd_close(fd);
    return rc != 0 ? rc : closed;
  });
  EXPECT_GT(injected, 0) << "the sweep injected nothing";
  // Open, read (EOF) and close of an adopted descriptor under failures:
  // every handle is released, whatever allocation failed.
  Sweep("gort_fd_open+read+close", {}, [&]() -> int {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return GORT_EIO;
    gort_fd_t fd = 0;
    int rc = gort_fd_open(p, sv[0], GORT_FD_STREAM, &fd);
    if (rc != 0) {
      close(sv[0]);
      close(sv[1]);
      return rc;
    }
    close(sv[1]);  // EOF: the read is done at once
    char buf[4];
    size_t n = 0;
    rc = gort_fd_read(fd, buf, sizeof(buf), 0x100, &n);
    int closed = gort_fd_close(fd);
    return rc != 0 ? rc : closed;
  });
  EXPECT_EQ(gort_poller_close(p), 0) << "an fd handle was left behind";
}
#endif

TEST(CApiFault, ReportsAndTablesReturnENOMEM) {
  Sweep("gort_platform_query", {}, [] {
    gort_platform_info_t info = {};
    info.size = sizeof(info);
    return gort_platform_query(&info);
  });
  Sweep("gort_sysinfo_query", {}, [] {
    static gort_sysinfo_t info;
    info = gort_sysinfo_t{};
    info.size = sizeof(info);
    return gort_sysinfo_query(&info);
  });
  Sweep("gort_syscall_lookup", {GORT_ENOENT}, [] {
    int64_t n = 0;
    return gort_syscall_lookup("linux-amd64", "no_such_call", &n);
  });
  Sweep("gort_sleep", {}, [] { return gort_sleep(1); });
}

TEST(CApiFault, GuardMapsOtherExceptionsToEUNKNOWN) {
  try {
    throw std::runtime_error("not an allocation");
  } catch (...) {
    EXPECT_EQ(gort::capi::ExceptionToCode(), GORT_EUNKNOWN);
  }
  try {
    throw std::bad_alloc();
  } catch (...) {
    EXPECT_EQ(gort::capi::ExceptionToCode(), GORT_ENOMEM);
  }
  try {
    throw 42;
  } catch (...) {
    EXPECT_EQ(gort::capi::ExceptionToCode(), GORT_EUNKNOWN);
  }
}

void Enter(void*, uintptr_t) {}
void Exit(void*, uintptr_t) {}

// Every distinct {enter, exit, user} used to be kept forever (one
// allocation each, found again by a linear scan): installing hooks must
// allocate nothing, however many distinct ones come and go.
TEST(CApiFault, InstallingSyscallHooksAllocatesNothing) {
  static char users[20000];
  t_count = 0;
  t_counting = true;
  for (char& u : users) {
    gort_syscall_hooks_t h = {sizeof(h), Enter, Exit, &u};
    ASSERT_EQ(gort_syscall_set_hooks(&h), 0);
  }
  t_counting = false;
  EXPECT_EQ(gort_syscall_set_hooks(nullptr), 0);
  EXPECT_EQ(t_count, 0) << "allocations for 20000 distinct hook sets";
}

#ifndef _WIN32
// The FD layer's hot path allocates nothing: reads and writes that finish,
// a read that parks and its continuation after the token came out of the
// poller, counted on this thread (the only one here) once the fds exist.
TEST(CApiFault, FdReadWriteAllocateNothing) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  gort_fd_t a = 0, b = 0;
  ASSERT_EQ(gort_fd_open(p, sv[0], GORT_FD_STREAM, &a), 0);
  ASSERT_EQ(gort_fd_open(p, sv[1], GORT_FD_STREAM, &b), 0);
  char buf[64];
  size_t n = 0;
  gort_poll_event_t ev[4];
  size_t got = 0;
  t_count = 0;
  t_counting = true;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(gort_fd_read(a, buf, sizeof(buf), 0x100, &n), GORT_POLL_PARKED);
    ASSERT_EQ(gort_fd_write(b, "ping", 4, 0x200, &n), 0);
    ASSERT_EQ(gort_poller_poll(p, -1, ev, 4, &got), 0);
    ASSERT_EQ(got, 1u);
    ASSERT_EQ(ev[0].token, 0x100u);
    ASSERT_EQ(gort_fd_read(a, buf, sizeof(buf), 0x100, &n), 0);
    ASSERT_EQ(n, 4u);
  }
  t_counting = false;
  EXPECT_EQ(t_count, 0) << "allocations in 100 park/read/write rounds";
  EXPECT_EQ(gort_fd_close(a), 0);
  EXPECT_EQ(gort_fd_close(b), 0);
  EXPECT_EQ(gort_poller_close(p), 0);
}
#endif

}  // namespace
