// SPDX-License-Identifier: BSD-3-Clause
// Every descriptor gort opens is close-on-exec: while queries that read
// /etc/os-release, /proc and /sys (and keep cgroup files open) run in one
// thread, another forks and execs `ls -l /proc/self/fd/` over and over; no
// child may list a file gort opened. Linux only (the files and /proc are).
#include <gtest/gtest.h>

#if defined(__linux__)
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "gort.h"

namespace {

#if defined(__linux__)

// Names of the files gort's queries open, as /proc/<pid>/fd/ shows them
// (symlinks resolved: /etc/os-release is often /usr/lib/os-release).
constexpr const char* kGortPaths[] = {"os-release", "cgroup",      "mountinfo",
                                      "cpufreq",    "cpu.max",     "cpu.cfs_",
                                      "memory.max", "memory.limit"};

// The descriptors an exec'd child inherits, as `ls -l /proc/self/fd/`
// lists them; "" if it could not run.
std::string ChildDescriptors() {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls here: the parent has other threads.
    dup2(out[1], 1);
    execl("/bin/ls", "ls", "-l", "/proc/self/fd/", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  return text;
}

std::string GortPathIn(const std::string& listing) {
  for (const char* p : kGortPaths) {
    size_t at = listing.find(p);
    if (at != std::string::npos) {
      size_t bol = listing.rfind('\n', at);
      size_t eol = listing.find('\n', at);
      return listing.substr(bol == std::string::npos ? 0 : bol + 1,
                            eol == std::string::npos ? eol : eol - bol - 1);
    }
  }
  return "";
}

TEST(Cloexec, ChildrenExecdDuringQueriesInheritNothingOfGorts) {
  ASSERT_NE(ChildDescriptors().find("0 ->"), std::string::npos)
      << "cannot run /bin/ls -l /proc/self/fd/ in a child";
  std::atomic<bool> stop{false};
  std::atomic<int64_t> queries{0};
  std::thread querier([&] {
    while (!stop.load()) {
      gort_platform_info_t info = {};
      info.size = sizeof(info);
      EXPECT_EQ(gort_platform_query(&info), 0);
      static gort_sysinfo_t facts;
      facts = gort_sysinfo_t{};
      facts.size = sizeof(facts);
      EXPECT_EQ(gort_sysinfo_query(&facts), 0);
      queries.fetch_add(1);
    }
  });
  while (queries.load() == 0) std::this_thread::yield();
  std::string leaked;
  int children = 0;
  for (; children < 300 && leaked.empty(); ++children) {
    leaked = GortPathIn(ChildDescriptors());
  }
  stop.store(true);
  querier.join();
  EXPECT_EQ(leaked, "") << "a child exec'd while gort read a file inherited "
                           "it (after "
                        << children << " children, " << queries.load()
                        << " queries)";
  EXPECT_GT(queries.load(), 1);
}

// The descriptors gort keeps open (the cgroup CPU quota files) are
// close-on-exec too.
TEST(Cloexec, DescriptorsKeptOpenAreCloseOnExec) {
  int32_t n = 0;
  ASSERT_EQ(gort_available_parallelism(GORT_PARALLELISM_GO125, &n), 0);
  ASSERT_EQ(gort_available_parallelism(GORT_PARALLELISM_LIBUV, &n), 0);
  DIR* d = opendir("/proc/self/fd");
  ASSERT_NE(d, nullptr);
  int checked = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd == dirfd(d)) continue;
    char target[512];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t len = readlink(link.c_str(), target, sizeof(target) - 1);
    if (len <= 0) continue;
    target[len] = '\0';
    std::string path(target);
    if (GortPathIn(path).empty()) continue;
    ++checked;
    int flags = fcntl(fd, F_GETFD);
    EXPECT_TRUE(flags >= 0 && (flags & FD_CLOEXEC) != 0)
        << "fd " << fd << " -> " << path << " is not close-on-exec";
  }
  closedir(d);
  std::printf("gort descriptors kept open, all checked: %d\n", checked);
}

#else

TEST(Cloexec, ChildrenExecdDuringQueriesInheritNothingOfGorts) {
  GTEST_SKIP() << "Linux only: the scan lists /proc/self/fd of an exec'd "
                  "child";
}

#endif

}  // namespace
