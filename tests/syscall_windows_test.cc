// SPDX-License-Identifier: BSD-3-Clause
// Windows: SyscallN through the Win64 trampoline and DLLs loaded from
// System32 only. Runs under Wine for windows-x86_64; compiles and links for
// windows-aarch64. The test DLL (tests/testdll/gort_testdll.c) is built by
// the suite and sits next to this program.
#if defined(_WIN32)
#include <windows.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "gort.h"
#include "gort/platform.h"
#include "gort/syscall.h"
#include "gtest/gtest.h"

namespace {

using gort::SyscallResult;

uint64_t Expected(int i) {
  return UINT64_C(0xA5A5000000000000) | (static_cast<uint64_t>(i) << 24) |
         (static_cast<uint64_t>(i) << 8) | static_cast<uint64_t>(i);
}

std::wstring ExeDir() {
  wchar_t path[MAX_PATH];
  DWORD n = GetModuleFileNameW(nullptr, path, MAX_PATH);
  std::wstring s(path, n);
  return s.substr(0, s.find_last_of(L"\\/") + 1);
}

std::string Utf8(const std::wstring& w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()),
                              nullptr, 0, nullptr, nullptr);
  std::string s(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()),
                      s.data(), n, nullptr, nullptr);
  return s;
}

uintptr_t Proc(gort::DllHandle dll, const char* name) {
  absl::StatusOr<uintptr_t> p = gort::DllProc(dll, name);
  EXPECT_TRUE(p.ok()) << name << ": " << p.status();
  return p.ok() ? *p : 0;
}

class TestDll : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<gort::DllHandle> dll =
        gort::LoadDllFromPath(Utf8(ExeDir() + L"gort_testdll.dll"));
    ASSERT_TRUE(dll.ok()) << dll.status();
    dll_ = *dll;
  }
  void TearDown() override { EXPECT_TRUE(gort::ReleaseDll(dll_).ok()); }

  gort::DllHandle dll_ = 0;
};

TEST_F(TestDll, FifteenArgumentsEachInItsPlace) {
  uintptr_t fn = Proc(dll_, "gort_testdll_args15");
  ASSERT_NE(fn, 0u);
  std::vector<uintptr_t> args;
  for (int i = 1; i <= 15; ++i) args.push_back(Expected(i));
  absl::StatusOr<SyscallResult> r = gort::SyscallN(fn, args);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->r1, 0x7fffu);
  // Each argument moved to the wrong place clears exactly its bit.
  for (int wrong = 0; wrong < 15; ++wrong) {
    std::vector<uintptr_t> bad = args;
    bad[wrong] = Expected(wrong + 2);
    r = gort::RawSyscallN(fn, bad);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->r1, 0x7fffu & ~(uintptr_t{1} << wrong)) << wrong;
  }
  // And through the C ABI.
  gort_sysret_t out;
  ASSERT_EQ(gort_syscalln(fn, args.size(), args.data(), &out), 0);
  EXPECT_EQ(out.r1, 0x7fffu);
}

TEST_F(TestDll, FortyTwoArguments) {
  uintptr_t fn = Proc(dll_, "gort_testdll_args42");
  std::vector<uintptr_t> args;
  for (int i = 1; i <= 42; ++i) args.push_back(Expected(i));
  absl::StatusOr<SyscallResult> r = gort::SyscallN(fn, args);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->r1, (uintptr_t{1} << 42) - 1);
  args.push_back(0);
  EXPECT_EQ(gort::SyscallN(fn, args).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(TestDll, StackIsAlignedForEveryArgumentCount) {
  uintptr_t fn = Proc(dll_, "gort_testdll_stack_misalignment");
  std::vector<uintptr_t> args;
  for (size_t n = 0; n <= gort::kMaxSyscallArgs; ++n) {
    absl::StatusOr<SyscallResult> r = gort::RawSyscallN(fn, args);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->r1, 0u) << n << " arguments";
    args.push_back(n);
  }
}

TEST_F(TestDll, FloatArgumentsAndResult) {
  uintptr_t fn = Proc(dll_, "gort_testdll_mul");
  double x = 1.5, y = -4.0, want = -6.0;
  uintptr_t xb, yb, wantb;
  std::memcpy(&xb, &x, 8);
  std::memcpy(&yb, &y, 8);
  std::memcpy(&wantb, &want, 8);
  SyscallResult r = gort::RawSyscall6(fn, xb, yb);
  EXPECT_EQ(r.r2, wantb);
}

TEST_F(TestDll, LastErrorIsClearedBeforeAndReadRightAfter) {
  uintptr_t set = Proc(dll_, "gort_testdll_set_last_error");
  uintptr_t seven = Proc(dll_, "gort_testdll_seven");
  SetLastError(1234);
  SyscallResult r = gort::Syscall6(seven);
  EXPECT_EQ(r.r1, 7u);
  EXPECT_EQ(r.err, 0) << "not cleared before the call";
  r = gort::Syscall6(set, 5);
  EXPECT_EQ(r.r1, 7u);
  EXPECT_EQ(r.err, 5);
  EXPECT_EQ(r.error().code(), GORT_EACCES);  // ERROR_ACCESS_DENIED
  // Read right after the call, before the exit hook could change it.
  gort::SyscallHooks h;
  h.enter = [](void*, uintptr_t) { SetLastError(77); };
  h.exit = [](void*, uintptr_t) { SetLastError(88); };
  ASSERT_TRUE(gort::SetSyscallHooks(h).ok());
  r = gort::Syscall6(set, 10054);
  gort::ClearSyscallHooks();
  EXPECT_EQ(r.err, 10054);
  EXPECT_EQ(r.error().code(), GORT_ECONNRESET);
  r = gort::Syscall6(seven);
  EXPECT_EQ(r.err, 0);
}

TEST(SyscallWindows, GetCurrentProcessIdThroughTheTrampoline) {
  absl::StatusOr<gort::DllHandle> k32 = gort::LoadSystemDll("kernel32.dll");
  ASSERT_TRUE(k32.ok()) << k32.status();
  uintptr_t fn = Proc(*k32, "GetCurrentProcessId");
  EXPECT_EQ(gort::Syscall6(fn).r1, GetCurrentProcessId());
  EXPECT_EQ(gort::RawSyscall6(fn).r1, GetCurrentProcessId());
  gort_sysret_t out;
  ASSERT_EQ(gort_syscalln(fn, 0, nullptr, &out), 0);
  EXPECT_EQ(out.r1, GetCurrentProcessId());
  EXPECT_TRUE(gort::ReleaseDll(*k32).ok());
}

TEST(SyscallWindows, CreateFileOnAMissingPathIsEnoent) {
  gort_dll_t k32 = 0;
  ASSERT_EQ(gort_dll_load("kernel32.dll", &k32), 0);
  uintptr_t fn = 0;
  ASSERT_EQ(gort_dll_proc(k32, "CreateFileW", &fn), 0);
  const wchar_t* path = L"C:\\gort-no-such-dir-xyzzy\\no-such-file.txt";
  const wchar_t* file = L"gort-no-such-file-xyzzy.txt";
  for (const wchar_t* p : {file, path}) {
    uintptr_t args[7] = {reinterpret_cast<uintptr_t>(p),
                         GENERIC_READ,
                         FILE_SHARE_READ,
                         0,
                         OPEN_EXISTING,
                         FILE_ATTRIBUTE_NORMAL,
                         0};
    gort_sysret_t out;
    ASSERT_EQ(gort_syscalln(fn, 7, args, &out), 0);
    EXPECT_EQ(out.r1, reinterpret_cast<uintptr_t>(INVALID_HANDLE_VALUE));
    if (p == file) {
      EXPECT_EQ(out.err, ERROR_FILE_NOT_FOUND);
    } else {
      EXPECT_EQ(out.err, ERROR_PATH_NOT_FOUND);
    }
    EXPECT_EQ(gort_err_from_sys(out.err), GORT_ENOENT);
  }
  EXPECT_EQ(gort_dll_release(k32), 0);
}

// A DLL planted in the working directory is not picked up: the System32
// search refuses it although the default search order would load it.
TEST(SyscallWindows, PlantedDllIsNotLoaded) {
  wchar_t cwd[MAX_PATH];
  DWORD n = GetCurrentDirectoryW(MAX_PATH, cwd);
  ASSERT_GT(n, 0u);
  std::wstring name =
      L"gort_planted_" + std::to_wstring(GetCurrentProcessId()) + L".dll";
  std::wstring planted = std::wstring(cwd, n) + L"\\" + name;
  ASSERT_TRUE(CopyFileW((ExeDir() + L"gort_testdll.dll").c_str(),
                        planted.c_str(), FALSE))
      << GetLastError();
  gort_dll_t dll = 0;
  EXPECT_EQ(gort_dll_load(Utf8(name).c_str(), &dll), GORT_ENOENT);
  absl::StatusOr<gort::DllHandle> h = gort::LoadSystemDll(Utf8(name));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kNotFound) << h.status();
  std::optional<gort::Error> e = gort::Error::FromStatus(h.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->raw(), ERROR_MOD_NOT_FOUND);
  // The plain search would have loaded it: the planting is real.
  HMODULE plain = LoadLibraryW(name.c_str());
  EXPECT_NE(plain, nullptr);
  if (plain != nullptr) FreeLibrary(plain);
  EXPECT_TRUE(DeleteFileW(planted.c_str()));
}

TEST(SyscallWindows, SystemDllsLoad) {
  for (const char* name : {"kernel32.dll", "ntdll.dll", "ws2_32.dll",
                           "advapi32.dll", "KERNEL32.DLL"}) {
    absl::StatusOr<gort::DllHandle> h = gort::LoadSystemDll(name);
    ASSERT_TRUE(h.ok()) << name << ": " << h.status();
    EXPECT_TRUE(gort::ReleaseDll(*h).ok());
  }
  absl::StatusOr<gort::DllHandle> h = gort::LoadSystemDll("gort_testdll.dll");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kNotFound)
      << "the test DLL is next to the program, not in System32";
}

}  // namespace
#endif  // _WIN32
