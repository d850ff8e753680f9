// SPDX-License-Identifier: BSD-3-Clause
// System calls on every OS: Go's {r1, r2, err} result, and the embedder's
// enter/exit hooks (Go's entersyscall/exitsyscall) around plain calls only.
//
// What `trap` is differs per OS, as in Go: a system call number on Linux,
// a libSystem function on Darwin, a DLL procedure on Windows. The helpers
// below give each test a blocking read and a getpid in the OS's own terms.
// clang-format off
#if defined(_WIN32)
#include <winsock2.h>
#include <windows.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif
// clang-format on

#include "gort/syscall.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "gort.h"
#include "gtest/gtest.h"
#if defined(__linux__)
#include "gort/zsysnum_linux.h"
#endif

namespace {

using gort::SyscallResult;

// ---------------------------------------------------------------------------
// Per-OS helpers.

#if defined(_WIN32)
uintptr_t Kernel32Proc(const char* name) {
  absl::StatusOr<gort::DllHandle> k32 = gort::LoadSystemDll("kernel32.dll");
  if (!k32.ok()) return 0;
  absl::StatusOr<uintptr_t> p = gort::DllProc(*k32, name);
  return p.ok() ? *p : 0;
}
#endif

// The trap that returns the process id, and that id.
uintptr_t GetpidTrap() {
#if defined(__linux__)
  return gort::sysnum::kGetpid;
#elif defined(__APPLE__)
  return reinterpret_cast<uintptr_t>(&::getpid);
#else
  return Kernel32Proc("GetCurrentProcessId");
#endif
}

uintptr_t OwnPid() {
#if defined(_WIN32)
  return GetCurrentProcessId();
#else
  return static_cast<uintptr_t>(::getpid());
#endif
}

// A pipe whose read end blocks until Write().
class Pipe {
 public:
  Pipe() {
#if defined(_WIN32)
    HANDLE r = nullptr, w = nullptr;
    EXPECT_TRUE(CreatePipe(&r, &w, nullptr, 0));
    read_ = reinterpret_cast<uintptr_t>(r);
    write_ = reinterpret_cast<uintptr_t>(w);
    read_trap_ = Kernel32Proc("ReadFile");
#else
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_ = static_cast<uintptr_t>(fds[0]);
    write_ = static_cast<uintptr_t>(fds[1]);
#if defined(__linux__)
    read_trap_ = gort::sysnum::kRead;
#else
    read_trap_ = reinterpret_cast<uintptr_t>(&::read);
#endif
#endif
  }
  ~Pipe() {
#if defined(_WIN32)
    CloseHandle(reinterpret_cast<HANDLE>(read_));
    CloseHandle(reinterpret_cast<HANDLE>(write_));
#else
    ::close(static_cast<int>(read_));
    ::close(static_cast<int>(write_));
#endif
  }

  uintptr_t read_trap() const { return read_trap_; }

  // A plain call that reads one byte into *buf: blocks until Write().
  SyscallResult BlockingRead(char* buf) {
#if defined(_WIN32)
    DWORD n = 0;
    SyscallResult r =
        gort::Syscall6(read_trap_, read_, reinterpret_cast<uintptr_t>(buf), 1,
                       reinterpret_cast<uintptr_t>(&n), 0);
    EXPECT_NE(r.r1, 0u) << "ReadFile failed, error " << r.err;
    r.r1 = n;  // bytes read, as on the other OSes
    return r;
#else
    return gort::Syscall6(read_trap_, read_, reinterpret_cast<uintptr_t>(buf),
                          1);
#endif
  }

  void Write(char c) {
#if defined(_WIN32)
    DWORD n = 0;
    ASSERT_TRUE(
        WriteFile(reinterpret_cast<HANDLE>(write_), &c, 1, &n, nullptr));
    ASSERT_EQ(n, 1u);
#else
    ASSERT_EQ(::write(static_cast<int>(write_), &c, 1), 1);
#endif
  }

 private:
  uintptr_t read_ = 0;
  uintptr_t write_ = 0;
  uintptr_t read_trap_ = 0;
};

// ---------------------------------------------------------------------------
// Hooks.

// What the hooks saw.
struct HookLog {
  std::atomic<int> enters{0};
  std::atomic<int> exits{0};
  std::atomic<uintptr_t> enter_trap{0};
  std::atomic<uintptr_t> exit_trap{0};
  std::mutex mu;
  std::thread::id enter_thread;
  std::thread::id exit_thread;
};

void OnEnter(void* user, uintptr_t trap) {
  auto* log = static_cast<HookLog*>(user);
  {
    std::lock_guard<std::mutex> lock(log->mu);
    log->enter_thread = std::this_thread::get_id();
  }
  log->enter_trap.store(trap);
  log->enters.fetch_add(1);
}

void OnExit(void* user, uintptr_t trap) {
  auto* log = static_cast<HookLog*>(user);
  {
    std::lock_guard<std::mutex> lock(log->mu);
    log->exit_thread = std::this_thread::get_id();
  }
  log->exit_trap.store(trap);
  log->exits.fetch_add(1);
}

// Installs hooks logging to `log` for the test's duration.
class ScopedHooks {
 public:
  explicit ScopedHooks(HookLog* log) {
    gort::SyscallHooks h;
    h.enter = OnEnter;
    h.exit = OnExit;
    h.user = log;
    EXPECT_TRUE(gort::SetSyscallHooks(h).ok());
  }
  ~ScopedHooks() { gort::ClearSyscallHooks(); }
};

TEST(SyscallHooks, CalledOnceEachAroundABlockingRead) {
  Pipe pipe;
  HookLog log;
  ScopedHooks hooks(&log);
  std::atomic<bool> returned{false};
  SyscallResult r = {};
  char buf = 0;
  std::thread reader([&] {
    r = pipe.BlockingRead(&buf);
    returned.store(true);
  });
  // The enter hook runs before the call blocks...
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (log.enters.load() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(log.enters.load(), 1);
  // ...and the exit hook not while it is blocked.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(log.exits.load(), 0);
  EXPECT_FALSE(returned.load());
  pipe.Write('g');
  reader.join();
  EXPECT_EQ(log.enters.load(), 1);
  EXPECT_EQ(log.exits.load(), 1);
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.r1, 1u);
  EXPECT_EQ(buf, 'g');
  EXPECT_EQ(log.enter_trap.load(), pipe.read_trap());
  EXPECT_EQ(log.exit_trap.load(), pipe.read_trap());
  std::lock_guard<std::mutex> lock(log.mu);
  EXPECT_EQ(log.enter_thread, log.exit_thread);
  EXPECT_NE(log.enter_thread, std::this_thread::get_id());
}

TEST(SyscallHooks, NeverForRawCalls) {
  HookLog log;
  ScopedHooks hooks(&log);
  uintptr_t trap = GetpidTrap();
  ASSERT_NE(trap, 0u);
  EXPECT_EQ(gort::RawSyscall6(trap).r1, OwnPid());
  EXPECT_EQ(gort::RawSyscall6X(trap).r1, OwnPid());
  absl::StatusOr<SyscallResult> n = gort::RawSyscallN(trap, {});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->r1, OwnPid());
  gort_sysret_t out;
  EXPECT_EQ(gort_rawsyscall6(trap, 0, 0, 0, 0, 0, 0, &out), 0);
  EXPECT_EQ(gort_rawsyscall6x(trap, 0, 0, 0, 0, 0, 0, &out), 0);
  EXPECT_EQ(gort_rawsyscalln(trap, 0, nullptr, &out), 0);
  EXPECT_EQ(out.r1, OwnPid());
  EXPECT_EQ(log.enters.load(), 0);
  EXPECT_EQ(log.exits.load(), 0);
}

TEST(SyscallHooks, EveryPlainFormRunsThem) {
  HookLog log;
  ScopedHooks hooks(&log);
  uintptr_t trap = GetpidTrap();
  EXPECT_EQ(gort::Syscall6(trap).r1, OwnPid());
  EXPECT_EQ(gort::Syscall6X(trap).r1, OwnPid());
  absl::StatusOr<SyscallResult> n = gort::SyscallN(trap, {});
  ASSERT_TRUE(n.ok()) << n.status();
  gort_sysret_t out;
  EXPECT_EQ(gort_syscall6(trap, 0, 0, 0, 0, 0, 0, &out), 0);
  EXPECT_EQ(gort_syscall6x(trap, 0, 0, 0, 0, 0, 0, &out), 0);
  EXPECT_EQ(gort_syscalln(trap, 0, nullptr, &out), 0);
  EXPECT_EQ(out.r1, OwnPid());
  EXPECT_EQ(log.enters.load(), 6);
  EXPECT_EQ(log.exits.load(), 6);
}

TEST(SyscallHooks, SafeWhenNoneAreSet) {
  gort::ClearSyscallHooks();
  gort::SyscallHooks now = gort::CurrentSyscallHooks();
  EXPECT_EQ(now.enter, nullptr);
  EXPECT_EQ(now.exit, nullptr);
  uintptr_t trap = GetpidTrap();
  EXPECT_EQ(gort::Syscall6(trap).r1, OwnPid());
  gort_sysret_t out;
  EXPECT_EQ(gort_syscall6(trap, 0, 0, 0, 0, 0, 0, &out), 0);
  EXPECT_EQ(out.r1, OwnPid());
  Pipe pipe;
  pipe.Write('x');
  char buf = 0;
  SyscallResult r = pipe.BlockingRead(&buf);
  EXPECT_EQ(r.r1, 1u);
  EXPECT_EQ(buf, 'x');
}

TEST(SyscallHooks, BothOrNeither) {
  gort::SyscallHooks half;
  half.enter = OnEnter;
  absl::Status s = gort::SetSyscallHooks(half);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(gort::CurrentSyscallHooks().enter, nullptr);
  half = {};
  half.exit = OnExit;
  EXPECT_FALSE(gort::SetSyscallHooks(half).ok());
  HookLog log;
  gort::SyscallHooks both;
  both.enter = OnEnter;
  both.exit = OnExit;
  both.user = &log;
  ASSERT_TRUE(gort::SetSyscallHooks(both).ok());
  EXPECT_EQ(gort::CurrentSyscallHooks().user, &log);
  // Neither: the same as ClearSyscallHooks().
  EXPECT_TRUE(gort::SetSyscallHooks(gort::SyscallHooks{}).ok());
  EXPECT_EQ(gort::CurrentSyscallHooks().enter, nullptr);
  gort::Syscall6(GetpidTrap());
  EXPECT_EQ(log.enters.load(), 0);
}

// Hooks replaced while other threads are between enter and exit: each call
// finishes with the pair it started with, so every log balances.
TEST(SyscallHooks, EnterAndExitPairWhileHooksChange) {
  HookLog a, b;
  gort::SyscallHooks ha{OnEnter, OnExit, &a};
  gort::SyscallHooks hb{OnEnter, OnExit, &b};
  std::atomic<bool> stop{false};
  uintptr_t trap = GetpidTrap();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      while (!stop.load()) gort::Syscall6(trap);
    });
  }
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(gort::SetSyscallHooks(i % 3 == 2   ? gort::SyscallHooks{}
                                      : i % 3 == 1 ? hb
                                                   : ha)
                    .ok());
    if (i % 100 == 0) std::this_thread::yield();
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  gort::ClearSyscallHooks();
  EXPECT_EQ(a.enters.load(), a.exits.load());
  EXPECT_EQ(b.enters.load(), b.exits.load());
  std::printf("calls seen by hooks a: %d, b: %d\n", a.enters.load(),
              b.enters.load());
}

// The user pointer each thread's enter hook saw, checked by its exit hook.
thread_local void* t_entered_with = nullptr;
std::atomic<int> g_mismatched{0};
std::atomic<int64_t> g_paired{0};

void PairEnter(void* user, uintptr_t) { t_entered_with = user; }

void PairExit(void* user, uintptr_t) {
  if (user != t_entered_with) g_mismatched.fetch_add(1);
  t_entered_with = nullptr;
  g_paired.fetch_add(1, std::memory_order_relaxed);
}

// Many distinct hook sets (a new user pointer each time) while other threads
// make hooked calls: each call's exit hook gets the user its enter hook got
// (the set is copied whole, never torn between two installs), and nothing
// is kept per set (CApiFault.InstallingSyscallHooksAllocatesNothing).
TEST(SyscallHooks, DistinctHooksComeAndGoWhileCallsRun) {
  static char users[50000];
  std::atomic<bool> stop{false};
  uintptr_t trap = GetpidTrap();
  g_mismatched.store(0);
  g_paired.store(0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      while (!stop.load()) gort::Syscall6(trap);
    });
  }
  // Until the calling threads run (slow under Wine), then through every
  // user, then on until they made calls during the changes.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  size_t i = 0;
  auto install_next = [&] {
    gort_syscall_hooks_t h = {sizeof(h), PairEnter, PairExit,
                              &users[i++ % sizeof(users)]};
    return gort_syscall_set_hooks(&h);
  };
  while (g_paired.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(install_next(), 0);
  }
  int64_t paired_before = g_paired.load();
  for (size_t n = 0; n < sizeof(users); ++n) ASSERT_EQ(install_next(), 0);
  while (g_paired.load() < paired_before + 100 &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(install_next(), 0);
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  gort::ClearSyscallHooks();
  EXPECT_EQ(g_mismatched.load(), 0);
  EXPECT_GE(g_paired.load(), paired_before + 100);
}

// ---------------------------------------------------------------------------
// Results, per OS.

TEST(Syscall, GetpidEqualsTheDirectCall) {
  SyscallResult r = gort::Syscall6(GetpidTrap());
  EXPECT_EQ(r.r1, OwnPid());
#if !defined(_WIN32)
  EXPECT_EQ(r.err, 0);  // Windows: whatever the last error was, see below
#endif
  EXPECT_TRUE(gort::SyscallN(GetpidTrap(), {}).ok());
}

TEST(Syscall, TooManyArgumentsAreRefused) {
  std::vector<uintptr_t> args(gort::kMaxSyscallArgs + 1, 0);
  absl::StatusOr<SyscallResult> r = gort::SyscallN(GetpidTrap(), args);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << r.status();
  r = gort::RawSyscallN(GetpidTrap(), args);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << r.status();
  args.pop_back();
  EXPECT_TRUE(gort::RawSyscallN(GetpidTrap(), args).ok());
}

#if !defined(_WIN32)
// A failing call: r1 = -1 and err = errno (Linux: decoded from the kernel's
// -EBADF; Darwin: errno read in the same call).
TEST(Syscall, FailureGivesMinusOneAndErrno) {
#if defined(__linux__)
  uintptr_t close_trap = gort::sysnum::kClose;
#else
  uintptr_t close_trap = reinterpret_cast<uintptr_t>(&::close);
#endif
  SyscallResult r = gort::Syscall6(close_trap, ~uintptr_t{0});
#if defined(__linux__)
  EXPECT_EQ(r.r1, ~uintptr_t{0});
  EXPECT_EQ(r.r2, 0u);
#else
  EXPECT_EQ(static_cast<int32_t>(r.r1), -1);
#endif
  EXPECT_EQ(r.err, EBADF);
  EXPECT_EQ(r.error().code(), GORT_EBADF);
  gort_sysret_t out;
  EXPECT_EQ(gort_syscall6(close_trap, ~uintptr_t{0}, 0, 0, 0, 0, 0, &out),
            GORT_EBADF);
  EXPECT_EQ(out.err, EBADF);
}
#endif

#if defined(__linux__)
// The kernel's error convention is a range: -4095..-1 is -errno, -4096 and
// below are results. /proc/self/mem's lseek returns any offset it is given
// (force_successful_syscall_return), so it shows the boundary exactly: a
// result of -4096 is a success, -4095 reads as errno 4095, -1 as EPERM.
TEST(SyscallLinux, ErrorRangeIsMinus4095ToMinus1) {
  int fd = ::open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "cannot open /proc/self/mem, errno " << errno;
  auto seek = [&](int64_t off) {
    return gort::RawSyscall6(gort::sysnum::kLseek, static_cast<uintptr_t>(fd),
                             static_cast<uintptr_t>(off), SEEK_SET);
  };
  SyscallResult r = seek(-4096);
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.r1, static_cast<uintptr_t>(int64_t{-4096}));
  r = seek(-4097);
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.r1, static_cast<uintptr_t>(int64_t{-4097}));
  r = seek(-4095);
  EXPECT_EQ(r.err, 4095);
  EXPECT_EQ(r.r1, ~uintptr_t{0});
  EXPECT_EQ(r.r2, 0u);
  r = seek(-1);
  EXPECT_EQ(r.err, 1);
  EXPECT_EQ(r.r1, ~uintptr_t{0});
  r = seek(4096);
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.r1, 4096u);
  ::close(fd);
}

TEST(SyscallLinux, ArgumentsArriveInOrder) {
  // pipe2 and write/read with all their arguments; then a six-argument call
  // whose every argument matters: mmap(NULL, 8192, PROT_READ|PROT_WRITE,
  // MAP_PRIVATE|MAP_ANONYMOUS, -1, 0).
  int fds[2] = {-1, -1};
  SyscallResult r = gort::RawSyscall6(
      gort::sysnum::kPipe2, reinterpret_cast<uintptr_t>(fds), O_CLOEXEC);
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), FD_CLOEXEC);
  const char msg[] = "gort";
  r = gort::Syscall6(gort::sysnum::kWrite, static_cast<uintptr_t>(fds[1]),
                     reinterpret_cast<uintptr_t>(msg), 4);
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.r1, 4u);
  char buf[8] = {};
  r = gort::Syscall6(gort::sysnum::kRead, static_cast<uintptr_t>(fds[0]),
                     reinterpret_cast<uintptr_t>(buf), sizeof(buf));
  EXPECT_EQ(r.r1, 4u);
  EXPECT_STREQ(buf, "gort");
  ::close(fds[0]);
  ::close(fds[1]);

  constexpr uintptr_t kProtRw = 0x1 | 0x2, kPrivateAnon = 0x02 | 0x20;
  r = gort::RawSyscall6(gort::sysnum::kMmap, 0, 8192, kProtRw, kPrivateAnon,
                        ~uintptr_t{0}, 0);
  ASSERT_EQ(r.err, 0);
  auto* p = reinterpret_cast<volatile char*>(r.r1);
  p[0] = 1;
  p[8191] = 2;
  EXPECT_EQ(gort::RawSyscall6(gort::sysnum::kMunmap, r.r1, 8192).err, 0);
  // An offset that is not page-aligned: the sixth argument reached the
  // kernel.
  r = gort::RawSyscall6(gort::sysnum::kMmap, 0, 8192, kProtRw, kPrivateAnon,
                        ~uintptr_t{0}, 1);
  EXPECT_EQ(r.err, EINVAL);
}
#endif

}  // namespace
