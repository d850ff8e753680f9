// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for child processes (gort_process_*): a round trip, and every
// entry point's argument checks (NULL, stale handles, out-of-range values
// give an error code, never a crash).
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "gort.h"

#ifdef _WIN32
#include <windows.h>
#endif

namespace {

constexpr uintptr_t kToken = 0xc0de;

std::string ChildPath() {
#ifdef _WIN32
  char buf[MAX_PATH];
  DWORD n = GetModuleFileNameA(nullptr, buf, MAX_PATH);
  std::string s(buf, n);
  return s.substr(0, s.find_last_of("\\/") + 1) + "gort_process_child.exe";
#else
#ifdef GORT_PROCESS_CHILD_EMULATOR
  // qemu-user without binfmt_misc: the child runs under the emulator.
  return GORT_PROCESS_CHILD_EMULATOR;
#else
  return GORT_PROCESS_CHILD;
#endif
#endif
}

// argv for the child: the emulator first where there is one.
std::vector<const char*> ChildArgv(const std::string& path,
                                   std::initializer_list<const char*> args) {
  std::vector<const char*> v = {path.c_str()};
#ifdef GORT_PROCESS_CHILD_EMULATOR
  v.push_back(GORT_PROCESS_CHILD);
#endif
  for (const char* a : args) v.push_back(a);
  v.push_back(nullptr);
  return v;
}

// Runs a wait (or terminate) to its end through gort_poller_poll().
int Drive(gort_poller_t p, gort_process_t proc, gort_exit_status* st,
          bool terminate = false, int64_t grace = 0) {
  for (int rounds = 0; rounds < 600; rounds++) {
    int rc = terminate ? gort_process_terminate(proc, grace, kToken, st)
                       : gort_process_wait(proc, kToken, st);
    if (rc != GORT_POLL_PARKED) return rc;
    bool out = false;
    while (!out) {
      gort_poll_event_t ev[8];
      size_t got = 0;
      int prc = gort_poller_poll(p, 100000000, ev, 8, &got);
      if (prc != 0) return prc;
      for (size_t i = 0; i < got; i++) out |= ev[i].token == kToken;
      if (++rounds > 600) return GORT_ETIMEDOUT;
    }
  }
  return GORT_ETIMEDOUT;
}

gort_spawn_attr Attr(const std::string& path, const char* const* argv) {
  gort_spawn_attr a = {};
  a.size = sizeof(a);
  a.path = path.c_str();
  a.argv = argv;
  a.inherit_env = 1;
  a.stdio[0] = a.stdio[1] = a.stdio[2] = GORT_STDIO_NULL;
  return a;
}

TEST(CApiProcess, SpawnWaitTerminate) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  std::string path = ChildPath();
  std::vector<const char*> argv = ChildArgv(path, {"exit", "5"});
  gort_spawn_attr a = Attr(path, argv.data());
  gort_process_t proc = 0;
  ASSERT_EQ(gort_process_spawn(p, &a, &proc), 0);
  int64_t pid = 0;
  EXPECT_EQ(gort_process_pid(proc, &pid), 0);
  EXPECT_GT(pid, 0);
  gort_exit_status st = {};
  ASSERT_EQ(Drive(p, proc, &st), 0);
  EXPECT_EQ(st.exited, 1);
  EXPECT_EQ(st.code, 5);
  EXPECT_EQ(st.ended_by, 0);
  EXPECT_EQ(gort_process_signal(proc, 9), GORT_ESRCH);
  // The poller cannot close under a process handle.
  EXPECT_EQ(gort_poller_close(p), GORT_EBUSY);
  EXPECT_EQ(gort_process_close(proc), 0);

  std::vector<const char*> sleeper = ChildArgv(path, {"sleep", "30000"});
  a = Attr(path, sleeper.data());
  ASSERT_EQ(gort_process_spawn(p, &a, &proc), 0);
  // Closing while a wait is parked: EBUSY, not a dangling token.
  EXPECT_EQ(gort_process_wait(proc, kToken, &st), GORT_POLL_PARKED);
  EXPECT_EQ(gort_process_close(proc), GORT_EBUSY);
  // An expired deadline hands the token out; the wait then times out.
  EXPECT_EQ(gort_process_set_deadline(proc, -1), 0);
  bool out = false;
  for (int i = 0; i < 100 && !out; i++) {
    gort_poll_event_t ev[4];
    size_t got = 0;
    ASSERT_EQ(gort_poller_poll(p, 100000000, ev, 4, &got), 0);
    for (size_t k = 0; k < got; k++) out |= ev[k].token == kToken;
  }
  ASSERT_TRUE(out);
  // Windows parks once more, for the cancelled read's completion, before
  // it reports the error (fd.h); Unix reports it at once.
  EXPECT_EQ(Drive(p, proc, &st), GORT_ETIMEDOUT);
  ASSERT_EQ(Drive(p, proc, &st, true, 100000000), 0);
  EXPECT_TRUE(st.ended_by == 1 || st.ended_by == 2);
  EXPECT_EQ(gort_process_close(proc), 0);
  EXPECT_EQ(gort_poller_close(p), 0);
}

TEST(CApiProcess, MissingProgramIsEnoent) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
#ifdef _WIN32
  std::string path = "C:\\no\\such\\gort.exe";
#else
  std::string path = "/no/such/gort";
#endif
  gort_spawn_attr a = Attr(path, nullptr);
  gort_process_t proc = 0;
  int rc = gort_process_spawn(p, &a, &proc);
  // glibc under qemu-user cannot report it (see process_test.cc).
  if (rc == 0) {
    gort_exit_status st = {};
    ASSERT_EQ(Drive(p, proc, &st), 0);
    EXPECT_EQ(st.code, 127);
    EXPECT_EQ(gort_process_close(proc), 0);
  } else {
    EXPECT_EQ(rc, GORT_ENOENT);
  }
  EXPECT_EQ(gort_poller_close(p), 0);
}

TEST(CApiProcess, ArgumentChecks) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  std::string path = ChildPath();
  gort_spawn_attr a = Attr(path, nullptr);
  gort_process_t proc = 0;
  EXPECT_EQ(gort_process_spawn(p, nullptr, &proc), GORT_EINVAL);
  EXPECT_EQ(gort_process_spawn(p, &a, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_process_spawn(0, &a, &proc), GORT_EBADF);
  EXPECT_EQ(gort_process_spawn(p ^ (uint64_t{2} << 32), &a, &proc), GORT_EBADF);
  gort_spawn_attr bad = a;
  bad.size = 8;
  EXPECT_EQ(gort_process_spawn(p, &bad, &proc), GORT_EINVAL);
  bad = a;
  bad.path = nullptr;
  EXPECT_EQ(gort_process_spawn(p, &bad, &proc), GORT_EINVAL);
  bad = a;
  bad.path = "";
  EXPECT_EQ(gort_process_spawn(p, &bad, &proc), GORT_EINVAL);
  bad = a;
  bad.flags = 0x80;
  EXPECT_EQ(gort_process_spawn(p, &bad, &proc), GORT_EINVAL);

  gort_exit_status st = {};
  int64_t pid = 0;
  for (gort_process_t h :
       {gort_process_t{0}, gort_process_t{12345}, ~gort_process_t{0}}) {
    EXPECT_EQ(gort_process_wait(h, kToken, &st), GORT_EBADF);
    EXPECT_EQ(gort_process_terminate(h, 0, kToken, &st), GORT_EBADF);
    EXPECT_EQ(gort_process_signal(h, 9), GORT_EBADF);
    EXPECT_EQ(gort_process_set_deadline(h, 1), GORT_EBADF);
    EXPECT_EQ(gort_process_pid(h, &pid), GORT_EBADF);
    EXPECT_EQ(gort_process_close(h), GORT_EBADF);
  }

  std::vector<const char*> argv = ChildArgv(path, {"exit", "0"});
  a = Attr(path, argv.data());
  ASSERT_EQ(gort_process_spawn(p, &a, &proc), 0);
  EXPECT_EQ(gort_process_wait(proc, kToken, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_process_wait(proc, 0, &st), GORT_EINVAL);
  EXPECT_EQ(gort_process_wait(proc, 2, &st), GORT_EINVAL);
  EXPECT_EQ(gort_process_terminate(proc, 0, kToken, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_process_pid(proc, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_process_signal(proc, 0), GORT_EINVAL);
  EXPECT_EQ(gort_process_signal(proc, 65), GORT_EINVAL);
  EXPECT_EQ(gort_process_signal(proc, -1), GORT_EINVAL);
  ASSERT_EQ(Drive(p, proc, &st), 0);
  EXPECT_EQ(gort_process_close(proc), 0);
  // Stale now.
  EXPECT_EQ(gort_process_wait(proc, kToken, &st), GORT_EBADF);
  EXPECT_EQ(gort_process_close(proc), GORT_EBADF);
  EXPECT_EQ(gort_poller_close(p), 0);
}

}  // namespace

// A child's stdout read through the poller with the C ABI alone: a pipe
// whose read end is pollable, gort_fd_open on it, reads parked and
// continued until end of stream.
TEST(CApiProcess, StdoutThroughAPollablePipe) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  intptr_t fds[2] = {-1, -1};
  ASSERT_EQ(gort_pipe_open(GORT_PIPE_READ_POLLABLE, fds), 0);
  std::string path = ChildPath();
  std::vector<const char*> argv = ChildArgv(path, {"args", "a b", ""});
  gort_spawn_attr a = Attr(path, argv.data());
  a.stdio[1] = fds[1];
  gort_process_t proc = 0;
  ASSERT_EQ(gort_process_spawn(p, &a, &proc), 0);
  EXPECT_EQ(gort_pipe_close_end(fds[1]), 0);
  gort_fd_t rd = 0;
  ASSERT_EQ(gort_fd_open(p, fds[0], GORT_FD_PIPE, &rd), 0);
  std::string got;
  char buf[256];
  for (int rounds = 0; rounds < 600;) {
    size_t n = 0;
    int rc = gort_fd_read(rd, buf, sizeof(buf), kToken + 1, &n);
    if (rc == 0 && n == 0) break;  // end of stream
    if (rc == 0) {
      got.append(buf, n);
      continue;
    }
    ASSERT_EQ(rc, GORT_POLL_PARKED);
    gort_poll_event_t ev[4];
    size_t k = 0;
    ASSERT_EQ(gort_poller_poll(p, 100000000, ev, 4, &k), 0);
    rounds++;
  }
  std::string clean;
  for (char c : got) {
    if (c != '\r') clean.push_back(c);
  }
  EXPECT_EQ(clean, "3:a b\n0:\n");
  gort_exit_status st = {};
  ASSERT_EQ(Drive(p, proc, &st), 0);
  EXPECT_EQ(st.exited, 1);
  EXPECT_EQ(gort_fd_close(rd), 0);
  EXPECT_EQ(gort_process_close(proc), 0);
  EXPECT_EQ(gort_poller_close(p), 0);
}

TEST(CApiProcess, PipeArgumentChecks) {
  intptr_t fds[2] = {-1, -1};
  EXPECT_EQ(gort_pipe_open(0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_pipe_open(4, fds), GORT_EINVAL);
  EXPECT_EQ(gort_pipe_open(~0u, fds), GORT_EINVAL);
  EXPECT_EQ(fds[0], -1);  // untouched on error
  EXPECT_EQ(gort_pipe_close_end(-1), GORT_EBADF);
  ASSERT_EQ(
      gort_pipe_open(GORT_PIPE_READ_POLLABLE | GORT_PIPE_WRITE_POLLABLE, fds),
      0);
  EXPECT_EQ(gort_pipe_close_end(fds[0]), 0);
  EXPECT_EQ(gort_pipe_close_end(fds[1]), 0);
#ifndef _WIN32
  // Closed: EBADF, never a crash. (Not on Windows: closing a closed
  // HANDLE value is undefined there, it may name another handle by now.)
  EXPECT_EQ(gort_pipe_close_end(fds[0]), GORT_EBADF);
#endif
}
