// SPDX-License-Identifier: BSD-3-Clause
// Kernel feature probes: whether the running kernel serves a newer system
// call, and how that differs between a real kernel, qemu-user and a seccomp
// filter. Linux only; other OSes answer GORT_ENOSYS (checked at the end).
#if defined(__linux__)
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <thread>

#include "gort.h"
#include "gort/platform.h"
#include "gort/syscall.h"
#include "gtest/gtest.h"
#if defined(__linux__)
#include "gort/zsysnum_linux.h"
#include "linux/kernel_abi_linux.h"
#endif

namespace {

using gort::SyscallResult;
using gort::SyscallSupport;

TEST(SyscallProbe, KnowsTheNewerCalls) {
  const auto& names = gort::ProbedSyscalls();
  for (std::string_view want :
       {"epoll_pwait2", "pidfd_open", "close_range", "clone3", "io_uring_setup",
        "openat2", "accept4", "futex_waitv", "futex_wait", "mseal", "listmount",
        "cachestat", "map_shadow_stack"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  EXPECT_EQ(gort::SyscallSupportName(SyscallSupport::kAvailable), "available");
  EXPECT_EQ(gort::SyscallSupportName(SyscallSupport::kNoSys), "ENOSYS");
  EXPECT_EQ(gort::SyscallSupportName(SyscallSupport::kBlocked), "blocked");
}

#if defined(__linux__)

bool UnderQemu() { return gort::GetPlatformInfo().emulator == "qemu-user"; }

// The running kernel's major.minor, as a number: 6.18 -> 618.
int KernelVersion() {
  struct utsname u;
  if (uname(&u) != 0) return 0;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return 0;
  return major * 100 + minor;
}

// The Linux release that brought each call (accept4: 2.6.28 on x86; the
// arm64 and riscv64 ports had it from their start).
const std::map<std::string_view, int>& Introduced() {
  static const auto* m = new std::map<std::string_view, int>{
      {"epoll_pwait2", 511},
      {"pidfd_open", 503},
      {"close_range", 509},
      {"clone3", 503},
      {"io_uring_setup", 501},
      {"openat2", 506},
      {"accept4", 206},
      {"rseq", 418},
      {"futex_waitv", 516},
      {"cachestat", 605},
      {"futex_wait", 607},
      {"listmount", 608},
      {"mseal", 610},
      // Where the kernel has it at all (x86-64 6.6 with user shadow stacks,
      // arm64 6.13 with GCS): a build option, so never required.
      {"map_shadow_stack", 9999}};
  return *m;
}

// What qemu-user 7.2 (the emulator of this project's CI, see
// shared/reference/cross-targets.md) does not implement, measured: it
// answers ENOSYS itself, whatever the host kernel has. pidfd_open,
// close_range and accept4 it passes through.
bool QemuLacks(std::string_view name) {
  return name == "epoll_pwait2" || name == "clone3" ||
         name == "io_uring_setup" || name == "rseq" || name == "openat2" ||
         name == "futex_waitv" || name == "cachestat" ||
         name == "map_shadow_stack" || name == "futex_wait" ||
         name == "listmount" || name == "mseal";
}

gort::SyscallProbe MustProbe(std::string_view name) {
  absl::StatusOr<gort::SyscallProbe> p = gort::ProbeSyscall(name);
  EXPECT_TRUE(p.ok()) << name << ": " << p.status();
  return p.ok() ? *p : gort::SyscallProbe{name, SyscallSupport::kNoSys, -1, 0};
}

TEST(SyscallProbe, AnswersMatchTheKernelOrTheEmulator) {
  bool qemu = UnderQemu();
  int kernel = KernelVersion();
  std::printf("kernel %d.%02d%s\n", kernel / 100, kernel % 100,
              qemu ? ", under qemu-user" : "");
  for (std::string_view name : gort::ProbedSyscalls()) {
    gort::SyscallProbe p = MustProbe(name);
    std::printf("  %-15s %-9s (errno %lld)\n", std::string(name).c_str(),
                std::string(gort::SyscallSupportName(p.support)).c_str(),
                static_cast<long long>(p.err));
    absl::StatusOr<int64_t> n =
        gort::SyscallNumber(gort::NativeSyscallTarget(), name);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(p.number, *n) << name;
    if (qemu && QemuLacks(name)) {
      // qemu-user: no such call, whatever the host kernel has.
      EXPECT_EQ(p.support, SyscallSupport::kNoSys) << name;
      EXPECT_EQ(p.err, ENOSYS) << name;
    } else if (name == "map_shadow_stack") {
      // A build option and a CPU feature: any answer will do.
    } else if (kernel >= Introduced().at(name)) {
      // A kernel that has it: available, unless a seccomp filter or a
      // sysctl forbids it (EPERM), as in some containers.
      EXPECT_NE(p.support, SyscallSupport::kNoSys) << name;
      if (p.support == SyscallSupport::kAvailable) {
        EXPECT_NE(p.err, 0) << name << ": the harmless call succeeded?";
      } else {
        EXPECT_EQ(p.err, EPERM) << name;
      }
    } else {
      EXPECT_EQ(p.support, SyscallSupport::kNoSys) << name;
    }
  }
}

// The probe's answer holds for a real use of each call.
TEST(SyscallProbe, RealUseAgrees) {
  using gort::RawSyscall6;
  namespace kabi = gort::internal::kabi;
  auto expect = [](std::string_view name, const SyscallResult& r) {
    gort::SyscallProbe p = MustProbe(name);
    switch (p.support) {
      case SyscallSupport::kNoSys:
        EXPECT_EQ(r.err, ENOSYS) << name;
        break;
      case SyscallSupport::kBlocked:
        EXPECT_EQ(r.err, EPERM) << name;
        break;
      case SyscallSupport::kAvailable:
        EXPECT_EQ(r.err, 0) << name;
        break;
    }
    return p.support == SyscallSupport::kAvailable && r.err == 0;
  };

  SyscallResult r = RawSyscall6(gort::sysnum::kPidfdOpen,
                                static_cast<uintptr_t>(getpid()), 0);
  if (expect("pidfd_open", r)) close(static_cast<int>(r.r1));

  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  r = RawSyscall6(gort::sysnum::kCloseRange, static_cast<uintptr_t>(fd),
                  static_cast<uintptr_t>(fd), kabi::kCloseRangeCloexec);
  if (expect("close_range", r)) {
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  }
  close(fd);

  kabi::OpenHow how = {O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                       kabi::kResolveNoSymlinks};
  r = RawSyscall6(gort::sysnum::kOpenat2,
                  static_cast<uintptr_t>(kabi::kAtFdcwd),
                  reinterpret_cast<uintptr_t>("/"),
                  reinterpret_cast<uintptr_t>(&how), sizeof(how));
  if (expect("openat2", r)) close(static_cast<int>(r.r1));

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  ASSERT_EQ(listen(ls, 1), 0);
  r = RawSyscall6(gort::sysnum::kAccept4, static_cast<uintptr_t>(ls), 0, 0,
                  SOCK_CLOEXEC);
  // Nothing to accept: EAGAIN proves the call ran.
  gort::SyscallProbe accept4 = MustProbe("accept4");
  if (accept4.support == SyscallSupport::kAvailable) {
    EXPECT_EQ(r.err, EAGAIN);
  }
  close(ls);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  struct epoll_event ev[1];
  kabi::KernelTimespec zero = {0, 0};
  r = RawSyscall6(gort::sysnum::kEpollPwait2, static_cast<uintptr_t>(ep),
                  reinterpret_cast<uintptr_t>(ev), 1,
                  reinterpret_cast<uintptr_t>(&zero), 0, 0);
  if (expect("epoll_pwait2", r)) {
    EXPECT_EQ(r.r1, 0u);
  }
  close(ep);

  alignas(8) unsigned char params[kabi::kIoUringParamsSize] = {};
  r = RawSyscall6(gort::sysnum::kIoUringSetup, 4,
                  reinterpret_cast<uintptr_t>(params));
  if (expect("io_uring_setup", r)) close(static_cast<int>(r.r1));

  // futex_waitv on a word whose value is not the expected one: EAGAIN at
  // once.
  alignas(8) static uint32_t word = 1;
  struct {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t reserved;
  } waiter = {0, reinterpret_cast<uintptr_t>(&word), 2 | 128, 0};
  r = RawSyscall6(gort::sysnum::kFutexWaitv,
                  reinterpret_cast<uintptr_t>(&waiter), 1, 0, 0, 1);
  gort::SyscallProbe waitv = MustProbe("futex_waitv");
  if (waitv.support == SyscallSupport::kAvailable) {
    EXPECT_EQ(r.err, EAGAIN);
  } else {
    EXPECT_EQ(r.err, waitv.err);
  }
}

// A seccomp filter on one thread: the probe there says "blocked" for a call
// the filter answers with EPERM (and ENOSYS for one it answers ENOSYS, which
// no probe can tell from a missing call), while other threads still see the
// kernel. qemu-user refuses seccomp filters (they would apply to qemu
// itself): prctl fails with EINVAL, and the probe answers stay the
// emulator's.
TEST(SyscallProbe, SeccompFilterMeansBlocked) {
  bool qemu = UnderQemu();
  // accept4 is in every kernel gort supports and every seccomp profile.
  gort::SyscallProbe before = MustProbe("accept4");
  ASSERT_EQ(before.support, SyscallSupport::kAvailable);
  SyscallSupport pidfd_before = MustProbe("pidfd_open").support;
  std::thread t([&] {
    ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    const uint32_t blocked = static_cast<uint32_t>(gort::sysnum::kAccept4);
    const uint32_t nosys = static_cast<uint32_t>(gort::sysnum::kCloseRange);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, blocked, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nosys, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
    int rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
    if (qemu) {
      EXPECT_EQ(rc, -1);
      EXPECT_EQ(errno, EINVAL);
      EXPECT_EQ(MustProbe("accept4").support, SyscallSupport::kAvailable);
      return;
    }
    ASSERT_EQ(rc, 0) << "errno " << errno;
    gort::SyscallProbe p = MustProbe("accept4");
    EXPECT_EQ(p.support, SyscallSupport::kBlocked);
    EXPECT_EQ(p.err, EPERM);
    EXPECT_EQ(MustProbe("close_range").support, SyscallSupport::kNoSys);
    EXPECT_EQ(MustProbe("pidfd_open").support, pidfd_before);
    gort_syscall_probe_t c = {};
    c.size = sizeof(c);
    ASSERT_EQ(gort_probe_syscall("accept4", &c), 0);
    EXPECT_EQ(c.support, GORT_SYSCALL_BLOCKED);
  });
  t.join();
  // The filter stayed on that thread.
  EXPECT_EQ(MustProbe("accept4").support, SyscallSupport::kAvailable);
  EXPECT_EQ(MustProbe("pidfd_open").support, pidfd_before);
}

// The release that added each call above the table's 6.12 headers, as
// major * 100 + minor.
int LaterSince(int64_t number) {
  if (number <= 466) return 613;  // the *xattrat calls
  if (number == 467) return 615;  // open_tree_attr
  if (number <= 469) return 617;  // file_getattr, file_setattr
  if (number == 470) return 619;  // listns
  return 700;                     // rseq_slice_yield
}

// The numbers past the table: a kernel no newer than the table serves none,
// and qemu-user 7.2 serves nothing past its own (6.1-era) table whatever the
// host kernel is, so there the answer is 0 and so is every call the table
// has after its headers.
TEST(SyscallProbe, BeyondTheTable) {
  bool qemu = UnderQemu();
  int kernel = KernelVersion();
  absl::StatusOr<gort::SyscallSkew> skew = gort::ProbeBeyondTable();
  ASSERT_TRUE(skew.ok()) << skew.status();
  std::string line = gort::SyscallSkewLine(*skew);
  std::string later = gort::SyscallLaterLine(*skew);
  std::printf("%s\n%s\n", line.c_str(), later.c_str());
  EXPECT_EQ(skew->table.target, gort::NativeSyscallTarget());
  EXPECT_GE(skew->probed_to, skew->table.highest + gort::kSkewEnosysRun);
  EXPECT_EQ(line.rfind("kernel serves " + std::to_string(skew->served.size()) +
                           (skew->served.size() == 1 ? " call" : " calls") +
                           " newer than gort's table (",
                       0),
            0u)
      << line;
  for (int64_t n : skew->served) EXPECT_GT(n, skew->table.highest);
  if (qemu || kernel <= 700) {
    EXPECT_TRUE(skew->served.empty()) << line;
    EXPECT_NE(line.find("(" + std::string(skew->table.target) +
                        ", current to Linux 7.0, highest 471; probed 472.."),
              std::string::npos)
        << line;
  }
  // Every call after the headers is either served or lacking, by release.
  EXPECT_EQ(skew->lacking.size() + skew->later_served.size(), 9u);
  for (int64_t n : skew->lacking) {
    EXPECT_TRUE(qemu || kernel < LaterSince(n)) << n << ": " << later;
  }
  for (int64_t n : skew->later_served) {
    EXPECT_TRUE(!qemu && kernel >= LaterSince(n)) << n << ": " << later;
  }
  if (qemu) {
    EXPECT_EQ(later,
              "the kernel serves 0 of the table's 9 calls after its 6.12 "
              "headers and lacks 9 (463..471)");
  }
}

TEST(SyscallProbe, UnknownNameIsNotFound) {
  absl::StatusOr<gort::SyscallProbe> p = gort::ProbeSyscall("read");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound) << p.status();
}

TEST(SyscallProbe, CApiAgrees) {
  for (std::string_view name : gort::ProbedSyscalls()) {
    gort_syscall_probe_t c = {};
    c.size = sizeof(c);
    std::string n(name);
    ASSERT_EQ(gort_probe_syscall(n.c_str(), &c), 0) << name;
    gort::SyscallProbe p = MustProbe(name);
    EXPECT_EQ(c.support, static_cast<int>(p.support)) << name;
    EXPECT_EQ(c.number, p.number) << name;
  }
}

#else  // !__linux__

TEST(SyscallProbe, OtherOsesSayEnosysBeyondTheTable) {
  EXPECT_EQ(gort::ProbeBeyondTable().status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(SyscallProbe, OtherOsesSayEnosys) {
  absl::StatusOr<gort::SyscallProbe> p = gort::ProbeSyscall("clone3");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnimplemented) << p.status();
  gort_syscall_probe_t c = {};
  c.size = sizeof(c);
  EXPECT_EQ(gort_probe_syscall("clone3", &c), GORT_ENOSYS);
}

#endif

}  // namespace
