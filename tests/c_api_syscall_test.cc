// SPDX-License-Identifier: BSD-3-Clause
// Every C entry point for system calls checks its arguments: NULL pointers,
// bad sizes and out-of-range values give an error code, never a crash, and
// nothing is called.
#if defined(_WIN32)
#include <windows.h>
#else
#include <unistd.h>
#endif

#include <cstdint>
#include <cstring>
#include <vector>

#include "gort.h"
#include "gtest/gtest.h"

namespace {

int g_hook_calls = 0;
void Hook(void*, uintptr_t) { ++g_hook_calls; }

// A trap that is harmless to make on this OS if a check let it through.
uintptr_t HarmlessTrap() {
#if defined(__linux__)
  int64_t n = -1;
  EXPECT_EQ(gort_syscall_lookup(gort_syscall_native_target(), "getpid", &n), 0);
  return static_cast<uintptr_t>(n);
#elif defined(__APPLE__)
  return reinterpret_cast<uintptr_t>(&::getpid);
#else
  return reinterpret_cast<uintptr_t>(&GetCurrentProcessId);
#endif
}

TEST(CApiSyscall, NullResultIsRefused) {
  uintptr_t t = HarmlessTrap();
  EXPECT_EQ(gort_syscall6(t, 0, 0, 0, 0, 0, 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_rawsyscall6(t, 0, 0, 0, 0, 0, 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_syscall6x(t, 0, 0, 0, 0, 0, 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_rawsyscall6x(t, 0, 0, 0, 0, 0, 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_syscalln(t, 0, nullptr, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_rawsyscalln(t, 0, nullptr, nullptr), GORT_EINVAL);
}

TEST(CApiSyscall, ArgumentArrayIsChecked) {
  uintptr_t t = HarmlessTrap();
  gort_sysret_t out;
  std::memset(&out, 0x5a, sizeof(out));
  EXPECT_EQ(gort_syscalln(t, 1, nullptr, &out), GORT_EINVAL);
  EXPECT_EQ(gort_rawsyscalln(t, 3, nullptr, &out), GORT_EINVAL);
  std::vector<uintptr_t> args(GORT_SYSCALL_MAX_ARGS + 1, 0);
  EXPECT_EQ(gort_syscalln(t, args.size(), args.data(), &out), GORT_ERANGE);
  EXPECT_EQ(gort_rawsyscalln(t, args.size(), args.data(), &out), GORT_ERANGE);
  EXPECT_EQ(gort_rawsyscalln(t, SIZE_MAX, args.data(), &out), GORT_ERANGE);
  // Nothing was called, nothing written.
  gort_sysret_t untouched;
  std::memset(&untouched, 0x5a, sizeof(untouched));
  EXPECT_EQ(std::memcmp(&out, &untouched, sizeof(out)), 0);
}

#if !defined(__linux__)
// Darwin and Windows call `trap` as a function: 0 is refused.
TEST(CApiSyscall, NullFunctionIsRefused) {
  gort_sysret_t out;
  EXPECT_EQ(gort_syscall6(0, 0, 0, 0, 0, 0, 0, &out), GORT_EINVAL);
  EXPECT_EQ(gort_rawsyscall6(0, 0, 0, 0, 0, 0, 0, &out), GORT_EINVAL);
  EXPECT_EQ(gort_syscall6x(0, 0, 0, 0, 0, 0, 0, &out), GORT_EINVAL);
  EXPECT_EQ(gort_rawsyscall6x(0, 0, 0, 0, 0, 0, 0, &out), GORT_EINVAL);
  EXPECT_EQ(gort_syscalln(0, 0, nullptr, &out), GORT_EINVAL);
  EXPECT_EQ(gort_rawsyscalln(0, 0, nullptr, &out), GORT_EINVAL);
}
#else
// Linux: a number the kernel does not have is an ordinary ENOSYS result.
TEST(CApiSyscall, UnknownNumberIsEnosys) {
  gort_sysret_t out;
  EXPECT_EQ(gort_rawsyscall6(100000, 0, 0, 0, 0, 0, 0, &out), GORT_ENOSYS);
  EXPECT_EQ(out.r1, UINTPTR_MAX);
  EXPECT_EQ(out.err, 38);  // ENOSYS on every Linux arch gort supports
  EXPECT_EQ(gort_rawsyscall6(UINTPTR_MAX, 0, 0, 0, 0, 0, 0, &out), GORT_ENOSYS);
}
#endif

TEST(CApiSyscall, HooksAreChecked) {
  gort_syscall_hooks_t h;
  std::memset(&h, 0, sizeof(h));
  h.enter = Hook;
  h.exit = Hook;
  EXPECT_EQ(gort_syscall_set_hooks(&h), GORT_EINVAL);  // size not set
  h.size = sizeof(h) - 1;
  EXPECT_EQ(gort_syscall_set_hooks(&h), GORT_EINVAL);
  h.size = sizeof(h);
  h.exit = nullptr;
  EXPECT_EQ(gort_syscall_set_hooks(&h), GORT_EINVAL);  // enter alone
  h.enter = nullptr;
  h.exit = Hook;
  EXPECT_EQ(gort_syscall_set_hooks(&h), GORT_EINVAL);  // exit alone
  h.enter = Hook;
  ASSERT_EQ(gort_syscall_set_hooks(&h), 0);
#if defined(__linux__)
  g_hook_calls = 0;
  gort_sysret_t out;
  EXPECT_EQ(gort_syscall6(HarmlessTrap(), 0, 0, 0, 0, 0, 0, &out), 0);
  EXPECT_EQ(g_hook_calls, 2);
#endif
  EXPECT_EQ(gort_syscall_set_hooks(nullptr), 0);  // removes them
  h.enter = nullptr;
  h.exit = nullptr;
  EXPECT_EQ(gort_syscall_set_hooks(&h), 0);  // so does "neither"
#if defined(__linux__)
  g_hook_calls = 0;
  EXPECT_EQ(gort_syscall6(HarmlessTrap(), 0, 0, 0, 0, 0, 0, &out), 0);
  EXPECT_EQ(g_hook_calls, 0);
#endif
}

TEST(CApiSyscall, TableLookupsAreChecked) {
  int64_t n = 0;
  const char* name = nullptr;
  EXPECT_EQ(gort_syscall_lookup(nullptr, "read", &n), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_lookup("linux-amd64", nullptr, &n), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_lookup("linux-amd64", "read", nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_lookup("linux-vax", "read", &n), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_lookup("", "read", &n), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_lookup("linux-amd64", "", &n), GORT_ENOENT);
  EXPECT_EQ(gort_syscall_lookup("linux-amd64", "no_such", &n), GORT_ENOENT);
  ASSERT_EQ(gort_syscall_lookup("linux-arm64", "epoll_pwait2", &n), 0);
  EXPECT_EQ(n, 441);

  EXPECT_EQ(gort_syscall_name(nullptr, 0, &name), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_name("linux-amd64", 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_name("windows-amd64", 0, &name), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_name("linux-amd64", -5, &name), GORT_ENOENT);
  EXPECT_EQ(gort_syscall_name("linux-amd64", INT64_MAX, &name), GORT_ENOENT);
  ASSERT_EQ(gort_syscall_name("linux-amd64", 39, &name), 0);
  EXPECT_STREQ(name, "getpid");

  EXPECT_EQ(gort_syscall_at(nullptr, 0, &name, &n), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_at("linux-arm", 0, nullptr, &n), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_at("linux-arm", 0, &name, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_at("darwin-arm64", 0, &name, &n), GORT_EINVAL);
  EXPECT_EQ(gort_syscall_at("linux-arm", SIZE_MAX, &name, &n), GORT_ERANGE);
  ASSERT_EQ(gort_syscall_at("linux-386", 0, &name, &n), 0);
  EXPECT_STREQ(name, "restart_syscall");
  EXPECT_EQ(n, 0);

  ASSERT_NE(gort_syscall_native_target(), nullptr);
}

TEST(CApiSyscall, ProbeIsChecked) {
  gort_syscall_probe_t p;
  std::memset(&p, 0, sizeof(p));
  EXPECT_EQ(gort_probe_syscall("clone3", &p), GORT_EINVAL);  // size not set
  p.size = sizeof(p) - 1;
  EXPECT_EQ(gort_probe_syscall("clone3", &p), GORT_EINVAL);
  p.size = sizeof(p);
  EXPECT_EQ(gort_probe_syscall(nullptr, &p), GORT_EINVAL);
  EXPECT_EQ(gort_probe_syscall("clone3", nullptr), GORT_EINVAL);
#if defined(__linux__)
  EXPECT_EQ(gort_probe_syscall("no_such_call", &p), GORT_ENOENT);
  EXPECT_EQ(gort_probe_syscall("", &p), GORT_ENOENT);
  ASSERT_EQ(gort_probe_syscall("accept4", &p), 0);
  EXPECT_EQ(p.support, GORT_SYSCALL_AVAILABLE);
  EXPECT_EQ(p.err, 9);  // EBADF: accept4(-1, ...)
#else
  EXPECT_EQ(gort_probe_syscall("clone3", &p), GORT_ENOSYS);
#endif
}

TEST(CApiSyscall, DllCallsAreChecked) {
  gort_dll_t dll = 0;
  uintptr_t proc = 0;
  EXPECT_EQ(gort_dll_load(nullptr, &dll), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load("kernel32.dll", nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load_path(nullptr, &dll), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load_path("C:\\x.dll", nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_dll_proc(1, nullptr, &proc), GORT_EINVAL);
  EXPECT_EQ(gort_dll_proc(1, "GetLastError", nullptr), GORT_EINVAL);
#if defined(_WIN32)
  // A path is not a bare name; a relative path is not absolute.
  EXPECT_EQ(gort_dll_load("C:\\Windows\\System32\\kernel32.dll", &dll),
            GORT_EINVAL);
  EXPECT_EQ(gort_dll_load("sub\\kernel32.dll", &dll), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load("./kernel32.dll", &dll), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load("", &dll), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load("\xff\xfe.dll", &dll), GORT_EINVAL);  // not UTF-8
  EXPECT_EQ(gort_dll_load_path("kernel32.dll", &dll), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load_path("sub\\x.dll", &dll), GORT_EINVAL);
  EXPECT_EQ(gort_dll_load("gort_no_such_dll.dll", &dll), GORT_ENOENT);
  // Handles: 0, made up, stale.
  EXPECT_EQ(gort_dll_proc(0, "GetLastError", &proc), GORT_EBADF);
  EXPECT_EQ(gort_dll_proc(0x123456789abcdefULL, "GetLastError", &proc),
            GORT_EBADF);
  EXPECT_EQ(gort_dll_release(0), GORT_EBADF);
  ASSERT_EQ(gort_dll_load("kernel32.dll", &dll), 0);
  EXPECT_NE(dll, 0u);
  ASSERT_EQ(gort_dll_proc(dll, "GetCurrentProcessId", &proc), 0);
  EXPECT_NE(proc, 0u);
  EXPECT_EQ(gort_dll_proc(dll, "NoSuchProcedureInKernel32", &proc),
            GORT_ENOENT);
  EXPECT_EQ(gort_dll_proc(dll, "", &proc), GORT_EINVAL);
  EXPECT_EQ(gort_dll_release(dll), 0);
  EXPECT_EQ(gort_dll_release(dll), GORT_EBADF);
  EXPECT_EQ(gort_dll_proc(dll, "GetCurrentProcessId", &proc), GORT_EBADF);
  // The slot is reused with a new generation: the old handle stays stale.
  gort_dll_t again = 0;
  ASSERT_EQ(gort_dll_load("kernel32.dll", &again), 0);
  EXPECT_NE(again, dll);
  EXPECT_EQ(gort_dll_proc(dll, "GetCurrentProcessId", &proc), GORT_EBADF);
  EXPECT_EQ(gort_dll_proc(again, "GetCurrentProcessId", &proc), 0);
  EXPECT_EQ(gort_dll_release(again), 0);
#else
  EXPECT_EQ(gort_dll_load("kernel32.dll", &dll), GORT_ENOSYS);
  EXPECT_EQ(gort_dll_load_path("/lib/x.dll", &dll), GORT_ENOSYS);
  EXPECT_EQ(gort_dll_proc(1, "GetLastError", &proc), GORT_ENOSYS);
  EXPECT_EQ(gort_dll_release(1), GORT_ENOSYS);
#endif
}

}  // namespace
