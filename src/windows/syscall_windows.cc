// SPDX-License-Identifier: BSD-3-Clause
// System calls on Windows (Go: syscall.SyscallN in syscall_windows.go over
// runtime.asmstdcall, and x/sys/windows NewLazySystemDLL for loading): DLL
// procedures called through the Win64 trampoline, DLLs loaded from System32
// only, and a handle table with generations for them.
#include <windows.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gort/errno.h"
#include "gort/syscall.h"
#include "syscall_internal.h"
#include "windows/utf16_windows.h"

namespace gort {
namespace {

SyscallResult Call(uintptr_t fn, size_t n, const uintptr_t* args) {
  GortWinCall c = {fn, n, args, 0, 0, 0};
  gortasm_stdcall(&c);
  return SyscallResult{c.r1, c.r2, static_cast<int64_t>(c.err)};
}

// UTF-8 -> UTF-16 (utf16_windows.h), at most 32767 bytes
// (the longest path the API takes).
bool ToUtf16(std::string_view s, std::wstring* out) {
  out->clear();
  if (s.size() > 32767) return false;
  return internal::Utf16FromUtf8(s, out);
}

bool IsBareName(std::wstring_view name) {
  return name.find_first_of(L"\\/:") == std::wstring_view::npos &&
         name != L"." && name != L"..";
}

// "C:\..." or "C:/...", or a UNC path "\\server\share\...".
bool IsAbsolute(std::wstring_view p) {
  auto sep = [](wchar_t c) { return c == L'\\' || c == L'/'; };
  if (p.size() >= 3 &&
      ((p[0] >= L'A' && p[0] <= L'Z') || (p[0] >= L'a' && p[0] <= L'z'))) {
    return p[1] == L':' && sep(p[2]);
  }
  return p.size() >= 3 && sep(p[0]) && sep(p[1]);
}

std::string Context(std::string_view what, std::string_view name) {
  std::string s(what);
  s += "(\"";
  s += name;
  s += "\")";
  return s;
}

// Loaded DLLs. A handle is (generation << 32) | (slot + 1); releasing bumps
// the slot's generation, so an old handle no longer matches.
struct DllSlot {
  HMODULE module = nullptr;
  uint32_t generation = 1;
};

struct DllTable {
  absl::Mutex mu;
  std::vector<DllSlot> slots ABSL_GUARDED_BY(mu);
  std::vector<uint32_t> free_slots ABSL_GUARDED_BY(mu);
};

DllTable& Dlls() {
  static DllTable* table = new DllTable();  // never destroyed
  return *table;
}

DllHandle Register(HMODULE module) {
  DllTable& t = Dlls();
  absl::MutexLock lock(&t.mu);
  uint32_t index;
  if (!t.free_slots.empty()) {
    index = t.free_slots.back();
    t.free_slots.pop_back();
  } else {
    index = static_cast<uint32_t>(t.slots.size());
    t.slots.emplace_back();
  }
  t.slots[index].module = module;
  return (static_cast<uint64_t>(t.slots[index].generation) << 32) |
         (static_cast<uint64_t>(index) + 1);
}

// The slot of `dll`, or nullptr for a stale or invalid handle.
DllSlot* Find(DllTable& t, DllHandle dll) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.mu) {
  uint64_t low = dll & 0xffffffffu;
  uint32_t generation = static_cast<uint32_t>(dll >> 32);
  if (low == 0 || low > t.slots.size()) return nullptr;
  DllSlot& s = t.slots[low - 1];
  if (s.module == nullptr || s.generation != generation) return nullptr;
  return &s;
}

absl::Status StaleHandle(std::string_view what) {
  return internal::CodeStatus(GORT_EBADF, what);
}

}  // namespace

SyscallResult RawSyscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                          uintptr_t a3, uintptr_t a4, uintptr_t a5,
                          uintptr_t a6) {
  const uintptr_t a[6] = {a1, a2, a3, a4, a5, a6};
  return Call(trap, 6, a);
}

SyscallResult Syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                       uintptr_t a4, uintptr_t a5, uintptr_t a6) {
  const uintptr_t a[6] = {a1, a2, a3, a4, a5, a6};
  return internal::WithHooks(trap, [&] { return Call(trap, 6, a); });
}

// Windows has no 32-bit -1 convention to tell apart: the X forms are the
// plain ones.
SyscallResult RawSyscall6X(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                           uintptr_t a3, uintptr_t a4, uintptr_t a5,
                           uintptr_t a6) {
  return RawSyscall6(trap, a1, a2, a3, a4, a5, a6);
}

SyscallResult Syscall6X(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                        uintptr_t a3, uintptr_t a4, uintptr_t a5,
                        uintptr_t a6) {
  return Syscall6(trap, a1, a2, a3, a4, a5, a6);
}

absl::StatusOr<SyscallResult> RawSyscallN(uintptr_t trap,
                                          absl::Span<const uintptr_t> args) {
  if (args.size() > kMaxSyscallArgs) {
    return internal::CodeStatus(GORT_ERANGE,
                                "RawSyscallN: at most 42 arguments");
  }
  return Call(trap, args.size(), args.data());
}

absl::StatusOr<SyscallProbe> ProbeSyscall(std::string_view name) {
  std::string context = "probing \"";
  context += name;
  context += "\": Linux system calls only";
  return internal::CodeStatus(GORT_ENOSYS, context);
}

absl::StatusOr<DllHandle> LoadSystemDll(std::string_view name) {
  std::wstring w;
  if (name.empty() || !ToUtf16(name, &w) || !IsBareName(w)) {
    return internal::CodeStatus(
        GORT_EINVAL, Context("LoadSystemDll: not a bare DLL name", name));
  }
  HMODULE m = LoadLibraryExW(w.c_str(), nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (m == nullptr && GetLastError() == ERROR_INVALID_PARAMETER) {
    // Windows 7 without KB2533623 does not know the flag: name System32
    // in full instead (what x/sys/windows does).
    wchar_t dir[MAX_PATH];
    UINT n = GetSystemDirectoryW(dir, MAX_PATH);
    if (n > 0 && n < MAX_PATH) {
      std::wstring path(dir, n);
      path += L'\\';
      path += w;
      m = LoadLibraryExW(path.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
    }
  }
  if (m == nullptr)
    return Error::Last().ToStatus(Context("LoadSystemDll", name));
  return Register(m);
}

absl::StatusOr<DllHandle> LoadDllFromPath(std::string_view path) {
  std::wstring w;
  if (!ToUtf16(path, &w) || !IsAbsolute(w)) {
    return internal::CodeStatus(
        GORT_EINVAL, Context("LoadDllFromPath: not an absolute path", path));
  }
  HMODULE m = LoadLibraryExW(
      w.c_str(), nullptr,
      LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (m == nullptr && GetLastError() == ERROR_INVALID_PARAMETER) {
    m = LoadLibraryExW(w.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
  }
  if (m == nullptr) {
    return Error::Last().ToStatus(Context("LoadDllFromPath", path));
  }
  return Register(m);
}

absl::StatusOr<uintptr_t> DllProc(DllHandle dll, std::string_view name) {
  std::string cname(name);
  if (name.empty() || cname.find('\0') != std::string::npos) {
    return internal::CodeStatus(GORT_EINVAL, "DllProc: bad procedure name");
  }
  DllTable& t = Dlls();
  absl::MutexLock lock(&t.mu);
  DllSlot* s = Find(t, dll);
  if (s == nullptr) return StaleHandle("DllProc: not a loaded DLL");
  FARPROC p = GetProcAddress(s->module, cname.c_str());
  if (p == nullptr) {
    return internal::CodeStatus(GORT_ENOENT,
                                Context("DllProc: no such procedure", name));
  }
  return reinterpret_cast<uintptr_t>(reinterpret_cast<void*>(p));
}

absl::Status ReleaseDll(DllHandle dll) {
  DllTable& t = Dlls();
  HMODULE m;
  {
    absl::MutexLock lock(&t.mu);
    DllSlot* s = Find(t, dll);
    if (s == nullptr) return StaleHandle("ReleaseDll: not a loaded DLL");
    m = s->module;
    s->module = nullptr;
    if (++s->generation == 0) s->generation = 1;
    t.free_slots.push_back(static_cast<uint32_t>((dll & 0xffffffffu) - 1));
  }
  if (!FreeLibrary(m)) return Error::Last().ToStatus("ReleaseDll");
  return absl::OkStatus();
}

}  // namespace gort
