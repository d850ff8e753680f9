// SPDX-License-Identifier: BSD-3-Clause
// The generated system call tables: every arch on every machine, both
// directions, and agreement with the C library's own <sys/syscall.h> of the
// arch this test was built for (glibc for amd64 and arm64, musl for
// riscv64). That every __NR_ of the kernel headers is in the tables is
// checked by the ctest tables.syscalls_match_kernel_headers
// (tools/gen_syscalls.py --check).
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gort.h"
#include "gort/syscall.h"
#include "gtest/gtest.h"
#if defined(__linux__)
#include "gort/zsysnum_linux.h"
#endif

namespace {

int64_t Number(std::string_view target, std::string_view name) {
  absl::StatusOr<int64_t> n = gort::SyscallNumber(target, name);
  EXPECT_TRUE(n.ok()) << target << " " << name << ": " << n.status();
  return n.ok() ? *n : -1;
}

TEST(SyscallTables, EveryTargetIsThere) {
  std::vector<std::string_view> targets = gort::SyscallTargets();
  EXPECT_EQ(targets, (std::vector<std::string_view>{"linux-386", "linux-amd64",
                                                    "linux-arm", "linux-arm64",
                                                    "linux-riscv64"}));
}

TEST(SyscallTables, KnownNumbers) {
  // x86-64 has its own numbering...
  EXPECT_EQ(Number("linux-amd64", "read"), 0);
  EXPECT_EQ(Number("linux-amd64", "getpid"), 39);
  EXPECT_EQ(Number("linux-amd64", "epoll_wait"), 232);
  EXPECT_EQ(Number("linux-amd64", "epoll_pwait2"), 441);
  EXPECT_EQ(Number("linux-amd64", "_sysctl"), 156);
  // ...the newer arches share asm-generic's...
  for (const char* t : {"linux-arm64", "linux-riscv64"}) {
    EXPECT_EQ(Number(t, "read"), 63) << t;
    EXPECT_EQ(Number(t, "getpid"), 172) << t;
    EXPECT_EQ(Number(t, "epoll_pwait2"), 441) << t;
    EXPECT_EQ(Number(t, "clone3"), 435) << t;
  }
  EXPECT_EQ(Number("linux-riscv64", "riscv_flush_icache"), 259);
  // ...the 32-bit ones follow i386.
  EXPECT_EQ(Number("linux-386", "getpid"), 20);
  EXPECT_EQ(Number("linux-arm", "getpid"), 20);
  EXPECT_EQ(Number("linux-arm", "_llseek"), 140);
  // arm has two names for one number; the first by name answers.
  EXPECT_EQ(Number("linux-arm", "sync_file_range2"), 341);
  EXPECT_EQ(Number("linux-arm", "arm_sync_file_range"), 341);
  EXPECT_EQ(*gort::SyscallName("linux-arm", 341), "arm_sync_file_range");
}

// Each table claims its headers' release (6.12) and the release it is
// current to (7.0): it has the calls of both, at the numbers the kernel's
// syscall.tbl files give them, and the ones above the headers' highest
// number are exactly the calls added by hand.
TEST(SyscallTables, CurrentToTheReleaseTheyClaim) {
  struct Call {
    const char* name;
    int64_t number;
  };
  // Calls 6.5 .. 6.12 added: every arch has each at one number.
  const Call kTo612[] = {{"cachestat", 451},         {"fchmodat2", 452},
                         {"map_shadow_stack", 453},  {"futex_wake", 454},
                         {"futex_wait", 455},        {"futex_requeue", 456},
                         {"statmount", 457},         {"listmount", 458},
                         {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460},
                         {"lsm_list_modules", 461},  {"mseal", 462}};
  // After 6.12, by hand: 6.13, 6.15, 6.17, 6.19, 7.0.
  const Call kLater[] = {{"setxattrat", 463},      {"getxattrat", 464},
                         {"listxattrat", 465},     {"removexattrat", 466},
                         {"open_tree_attr", 467},  {"file_getattr", 468},
                         {"file_setattr", 469},    {"listns", 470},
                         {"rseq_slice_yield", 471}};
  for (std::string_view t : gort::SyscallTargets()) {
    absl::StatusOr<gort::SyscallTableInfo> info = gort::DescribeSyscallTable(t);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->target, t);
    EXPECT_EQ(info->headers, "6.12") << t;
    EXPECT_EQ(info->kernel, "7.0") << t;
    EXPECT_EQ(info->headers_highest, 462) << t;
    EXPECT_EQ(info->highest, 471) << t;
    absl::StatusOr<std::vector<gort::SyscallInfo>> all = gort::ListSyscalls(t);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(info->count, all->size()) << t;
    for (const Call& c : kTo612) EXPECT_EQ(Number(t, c.name), c.number) << t;
    std::vector<std::string_view> above;
    for (const gort::SyscallInfo& s : *all) {
      if (s.number > info->headers_highest) above.push_back(s.name);
    }
    ASSERT_EQ(above.size(), std::size(kLater)) << t;
    for (size_t i = 0; i < above.size(); ++i) {
      EXPECT_EQ(above[i], kLater[i].name) << t;
      EXPECT_EQ(Number(t, kLater[i].name), kLater[i].number) << t;
    }
  }
  // Arch-specific calls of the 6.12 headers that the old ones lacked.
  EXPECT_EQ(Number("linux-riscv64", "riscv_hwprobe"), 258);
  EXPECT_EQ(Number("linux-amd64", "uretprobe"), 335);
  EXPECT_FALSE(gort::SyscallNumber("linux-arm64", "uretprobe").ok());
  EXPECT_EQ(gort::DescribeSyscallTable("linux-vax").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SyscallTables, CallsAnArchDoesNotHave) {
  // asm-generic arches never had open(2), fork(2) or epoll_wait(2).
  for (const char* t : {"linux-arm64", "linux-riscv64"}) {
    for (const char* name : {"open", "fork", "epoll_wait", "epoll_create"}) {
      absl::StatusOr<int64_t> n = gort::SyscallNumber(t, name);
      EXPECT_EQ(n.status().code(), absl::StatusCode::kNotFound)
          << t << " " << name;
    }
  }
  EXPECT_EQ(
      gort::SyscallNumber("linux-arm64", "riscv_flush_icache").status().code(),
      absl::StatusCode::kNotFound);
}

TEST(SyscallTables, BothDirectionsForEveryEntry) {
  for (std::string_view target : gort::SyscallTargets()) {
    absl::StatusOr<std::vector<gort::SyscallInfo>> all =
        gort::ListSyscalls(target);
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_GT(all->size(), 290u) << target;
    std::set<std::string_view> names;
    int64_t prev = -1;
    for (const gort::SyscallInfo& s : *all) {
      EXPECT_TRUE(names.insert(s.name).second) << target << " " << s.name;
      EXPECT_GE(s.number, prev) << target << " " << s.name;
      prev = s.number;
      EXPECT_EQ(Number(target, s.name), s.number);
      absl::StatusOr<std::string_view> back =
          gort::SyscallName(target, s.number);
      ASSERT_TRUE(back.ok()) << back.status();
      // The name, or the other name of the same number.
      EXPECT_EQ(Number(target, *back), s.number);
      // And the C ABI agrees.
      int64_t n = -1;
      const char* cname = nullptr;
      std::string name_str(s.name), target_str(target);
      ASSERT_EQ(gort_syscall_lookup(target_str.c_str(), name_str.c_str(), &n),
                0);
      EXPECT_EQ(n, s.number);
      ASSERT_EQ(gort_syscall_name(target_str.c_str(), s.number, &cname), 0);
      EXPECT_EQ(std::string_view(cname), *back);
    }
  }
}

TEST(SyscallTables, CApiListsATableInOrder) {
  const char* name = nullptr;
  int64_t number = -1;
  size_t i = 0;
  int64_t prev = -1;
  while (gort_syscall_at("linux-riscv64", i, &name, &number) == 0) {
    EXPECT_GE(number, prev);
    prev = number;
    ++i;
  }
  EXPECT_EQ(i, gort::ListSyscalls("linux-riscv64")->size());
  EXPECT_EQ(gort_syscall_at("linux-riscv64", i, &name, &number), GORT_ERANGE);
  ASSERT_EQ(gort_syscall_at("linux-riscv64", 0, &name, &number), 0);
  EXPECT_STREQ(name, "io_setup");
  EXPECT_EQ(number, 0);
}

TEST(SyscallTables, UnknownTargetAndName) {
  EXPECT_EQ(gort::SyscallNumber("plan9-amd64", "read").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gort::SyscallName("linux-sparc", 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gort::ListSyscalls("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gort::SyscallNumber("linux-amd64", "no_such_call").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(gort::SyscallName("linux-amd64", 999).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(gort::SyscallName("linux-amd64", -1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SyscallTables, NativeTarget) {
  std::string_view native = gort::NativeSyscallTarget();
  EXPECT_STREQ(gort_syscall_native_target(), std::string(native).c_str());
#if defined(__linux__)
  EXPECT_EQ(native.rfind("linux-", 0), 0u) << native;
  EXPECT_TRUE(gort::ListSyscalls(native).ok());
#elif defined(__APPLE__)
  EXPECT_EQ(native.rfind("darwin-", 0), 0u) << native;
#else
  EXPECT_EQ(native.rfind("windows-", 0), 0u) << native;
#endif
}

#if defined(__linux__)
// The C library's numbers for the arch of this build (its own headers,
// independent of gort's generator) and gort::sysnum agree with the table.
TEST(SyscallTables, AgreeWithTheCLibraryAndSysnum) {
  std::string_view native = gort::NativeSyscallTarget();
  int checked = 0;
  auto check = [&](const char* name, long libc, uintptr_t ours) {
    EXPECT_EQ(Number(native, name), libc) << name;
    EXPECT_EQ(ours, static_cast<uintptr_t>(libc)) << name;
    ++checked;
  };
  check("read", SYS_read, gort::sysnum::kRead);
  check("write", SYS_write, gort::sysnum::kWrite);
  check("close", SYS_close, gort::sysnum::kClose);
  check("getpid", SYS_getpid, gort::sysnum::kGetpid);
  check("gettid", SYS_gettid, gort::sysnum::kGettid);
  check("mmap", SYS_mmap, gort::sysnum::kMmap);
  check("munmap", SYS_munmap, gort::sysnum::kMunmap);
  check("openat", SYS_openat, gort::sysnum::kOpenat);
  check("pipe2", SYS_pipe2, gort::sysnum::kPipe2);
  check("dup3", SYS_dup3, gort::sysnum::kDup3);
  check("fcntl", SYS_fcntl, gort::sysnum::kFcntl);
  check("lseek", SYS_lseek, gort::sysnum::kLseek);
  check("ioctl", SYS_ioctl, gort::sysnum::kIoctl);
  check("futex", SYS_futex, gort::sysnum::kFutex);
  check("clone", SYS_clone, gort::sysnum::kClone);
  check("execve", SYS_execve, gort::sysnum::kExecve);
  check("exit_group", SYS_exit_group, gort::sysnum::kExitGroup);
  check("tgkill", SYS_tgkill, gort::sysnum::kTgkill);
  check("rt_sigaction", SYS_rt_sigaction, gort::sysnum::kRtSigaction);
  check("rt_sigprocmask", SYS_rt_sigprocmask, gort::sysnum::kRtSigprocmask);
  check("sigaltstack", SYS_sigaltstack, gort::sysnum::kSigaltstack);
  check("clock_gettime", SYS_clock_gettime, gort::sysnum::kClockGettime);
  check("nanosleep", SYS_nanosleep, gort::sysnum::kNanosleep);
  check("sched_getaffinity", SYS_sched_getaffinity,
        gort::sysnum::kSchedGetaffinity);
  check("sched_yield", SYS_sched_yield, gort::sysnum::kSchedYield);
  check("epoll_create1", SYS_epoll_create1, gort::sysnum::kEpollCreate1);
  check("epoll_ctl", SYS_epoll_ctl, gort::sysnum::kEpollCtl);
  check("epoll_pwait", SYS_epoll_pwait, gort::sysnum::kEpollPwait);
  check("eventfd2", SYS_eventfd2, gort::sysnum::kEventfd2);
  check("socket", SYS_socket, gort::sysnum::kSocket);
  check("connect", SYS_connect, gort::sysnum::kConnect);
  check("accept4", SYS_accept4, gort::sysnum::kAccept4);
  check("sendmsg", SYS_sendmsg, gort::sysnum::kSendmsg);
  check("recvmsg", SYS_recvmsg, gort::sysnum::kRecvmsg);
  check("shutdown", SYS_shutdown, gort::sysnum::kShutdown);
  check("madvise", SYS_madvise, gort::sysnum::kMadvise);
  check("prctl", SYS_prctl, gort::sysnum::kPrctl);
  check("getrandom", SYS_getrandom, gort::sysnum::kGetrandom);
  check("statx", SYS_statx, gort::sysnum::kStatx);
  check("pidfd_open", SYS_pidfd_open, gort::sysnum::kPidfdOpen);
  check("clone3", SYS_clone3, gort::sysnum::kClone3);
  check("close_range", SYS_close_range, gort::sysnum::kCloseRange);
  check("openat2", SYS_openat2, gort::sysnum::kOpenat2);
  check("io_uring_setup", SYS_io_uring_setup, gort::sysnum::kIoUringSetup);
#if defined(SYS_epoll_pwait2)  // not in musl 1.2.3
  check("epoll_pwait2", SYS_epoll_pwait2, gort::sysnum::kEpollPwait2);
#endif
#if defined(SYS_futex_waitv)
  check("futex_waitv", SYS_futex_waitv, gort::sysnum::kFutexWaitv);
#endif
#if defined(__x86_64__)
  check("arch_prctl", SYS_arch_prctl, gort::sysnum::kArchPrctl);
  check("epoll_wait", SYS_epoll_wait, gort::sysnum::kEpollWait);
  check("open", SYS_open, gort::sysnum::kOpen);
#endif
#if defined(__riscv)
  check("riscv_flush_icache", SYS_riscv_flush_icache,
        gort::sysnum::kRiscvFlushIcache);
#endif
  EXPECT_GE(checked, 44);
}

// A number from the table makes the real call.
TEST(SyscallTables, DriveARealCall) {
  int64_t n = Number(gort::NativeSyscallTarget(), "getpid");
  EXPECT_EQ(gort::RawSyscall6(static_cast<uintptr_t>(n)).r1,
            static_cast<uintptr_t>(getpid()));
}
#endif

}  // namespace
