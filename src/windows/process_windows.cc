// SPDX-License-Identifier: BSD-3-Clause
// Processes on Windows: CreateProcessW with Go's command-line quoting and a
// sorted Unicode environment block, only the named handles inherited, and
// the exit arriving on the poller's port (Go: syscall/exec_windows.go —
// EscapeArg, appendEscapeArg, makeCmdLine, createEnvBlock, StartProcess;
// os/exec_windows.go — Process.wait, signal; os/exec/exec.go's
// addCriticalEnv).
//
// The exit source: a process handle cannot be associated with a
// completion port. NtAssociateWaitCompletionPacket would post to the port
// when the handle is signalled, but Wine lacks it (reference notes), so
// gort uses what runs everywhere: a thread-pool wait
// (RegisterWaitForSingleObject, WT_EXECUTEONLYONCE) whose callback writes
// one byte to a pipe whose read end is an Fd of the poller (the signal
// layer's wake pipe, SigWakeOpen). Wait() reads it with an overlapped read
// parked on the port.
#include <windows.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cwchar>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/fd.h"
#include "gort/netpoll.h"
#include "gort/process.h"
#include "process_internal.h"
#include "signal_internal.h"
#include "windows/utf16_windows.h"

namespace gort::internal {
namespace {

absl::Status Win(DWORD err, const char* context) {
  return Error::FromSys(static_cast<int64_t>(err)).ToStatus(context);
}

absl::Status Code(int code, const char* context) {
  return Error::FromCode(code).ToStatus(context);
}

// UTF-8 -> UTF-16 (utf16_windows.h).
bool Utf16(std::string_view s, std::wstring* out) {
  return internal::Utf16FromUtf8(s, out);
}

// Go's appendEscapeArg: quotes an argument so that the C runtime's (and
// CommandLineToArgvW's) parsing gives it back intact.
void AppendEscapeArg(std::wstring* b, const std::wstring& s) {
  if (s.empty()) {
    b->append(L"\"\"");
    return;
  }
  bool needs_backslash = false;
  bool has_space = false;
  for (wchar_t c : s) {
    if (c == L'"' || c == L'\\') needs_backslash = true;
    if (c == L' ' || c == L'\t') has_space = true;
  }
  if (!needs_backslash && !has_space) {
    b->append(s);
    return;
  }
  if (!needs_backslash) {
    b->push_back(L'"');
    b->append(s);
    b->push_back(L'"');
    return;
  }
  if (has_space) b->push_back(L'"');
  size_t slashes = 0;
  for (wchar_t c : s) {
    if (c == L'\\') {
      slashes++;
    } else if (c == L'"') {
      // The backslashes before a quote double, and the quote is escaped.
      b->append(slashes + 1, L'\\');
      slashes = 0;
    } else {
      slashes = 0;
    }
    b->push_back(c);
  }
  if (has_space) {
    // Backslashes before the closing quote double too.
    b->append(slashes, L'\\');
    b->push_back(L'"');
  }
}

// Go's makeCmdLine.
std::wstring MakeCmdLine(const std::vector<std::wstring>& args) {
  std::wstring b;
  for (const std::wstring& a : args) {
    if (!b.empty()) b.push_back(L' ');
    AppendEscapeArg(&b, a);
  }
  return b;
}

// The name of an environment entry (a leading '=' belongs to the name:
// "=C:=C:\dir").
std::wstring_view EnvKey(std::wstring_view kv) {
  size_t eq = kv.find(L'=', kv.empty() || kv[0] != L'=' ? 0 : 1);
  return kv.substr(0, eq);
}

bool SameKey(std::wstring_view a, std::wstring_view b) {
  return CompareStringOrdinal(a.data(), static_cast<int>(a.size()), b.data(),
                              static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

// The environment block: the caller's (unless replaced) with `env` over
// it, SYSTEMROOT added if missing (Go's addCriticalEnv: programs fail
// without it), sorted by name case-insensitively as CreateProcess's
// documentation requires, each entry NUL-terminated, then one more NUL.
bool EnvBlock(const SpawnOptions& opts, std::wstring* block) {
  std::vector<std::wstring> entries;
  std::vector<std::wstring> mine;
  for (const std::string& kv : opts.env) {
    std::wstring w;
    if (!Utf16(kv, &w) || w.empty()) return false;
    mine.push_back(std::move(w));
  }
  if (opts.inherit_env) {
    wchar_t* env = GetEnvironmentStringsW();
    if (env != nullptr) {
      for (const wchar_t* e = env; *e != L'\0'; e += wcslen(e) + 1) {
        std::wstring_view kv(e);
        bool overridden = false;
        for (const std::wstring& m : mine) {
          if (SameKey(EnvKey(m), EnvKey(kv))) overridden = true;
        }
        if (!overridden) entries.emplace_back(kv);
      }
      FreeEnvironmentStringsW(env);
    }
  }
  for (std::wstring& m : mine) entries.push_back(std::move(m));
  bool has_root = false;
  for (const std::wstring& kv : entries) {
    if (SameKey(EnvKey(kv), L"SYSTEMROOT")) has_root = true;
  }
  if (!has_root) {
    wchar_t root[MAX_PATH];
    DWORD n = GetEnvironmentVariableW(L"SYSTEMROOT", root, MAX_PATH);
    if (n > 0 && n < MAX_PATH)
      entries.push_back(L"SYSTEMROOT=" + std::wstring(root, n));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const std::wstring& a, const std::wstring& b) {
                     std::wstring_view ka = EnvKey(a), kb = EnvKey(b);
                     return CompareStringOrdinal(
                                ka.data(), static_cast<int>(ka.size()),
                                kb.data(), static_cast<int>(kb.size()),
                                TRUE) == CSTR_LESS_THAN;
                   });
  block->clear();
  for (const std::wstring& kv : entries) {
    block->append(kv);
    block->push_back(L'\0');
  }
  if (entries.empty()) block->push_back(L'\0');
  block->push_back(L'\0');
  return true;
}

class WindowsProcess final : public ProcessOs {
 public:
  WindowsProcess(HANDLE process, DWORD pid, bool group, SigWake wake,
                 std::unique_ptr<Fd> fd)
      : process_(process),
        pid_(pid),
        group_(group),
        wake_(wake),
        fd_(std::move(fd)) {}

  absl::Status Arm() {
    if (!RegisterWaitForSingleObject(&wait_, process_, &Exited, this, INFINITE,
                                     WT_EXECUTEONLYONCE)) {
      wait_ = nullptr;
      return Win(GetLastError(), "RegisterWaitForSingleObject");
    }
    return absl::OkStatus();
  }

  ~WindowsProcess() override {
    // INVALID_HANDLE_VALUE: returns once a running callback has finished,
    // so none touches the write end after it is closed.
    if (wait_ != nullptr) (void)UnregisterWaitEx(wait_, INVALID_HANDLE_VALUE);
    SigWakeClose(wake_, /*with_read=*/false);
    (void)fd_->Close();
    fd_.reset();
    CloseHandle(process_);
  }

  // As SignalSource::Receive: an overlapped read in flight is collected
  // before anything else; the process handle is looked at only between
  // reads.
  absl::Status Wait(uintptr_t token, ExitStatus* st, bool* parked) override {
    for (;;) {
      if (!reading_.load(std::memory_order_acquire)) {
        absl::StatusOr<bool> reaped = TryReap(st);
        if (!reaped.ok()) return reaped.status();
        if (*reaped) {
          *parked = false;
          return absl::OkStatus();
        }
        reading_.store(true, std::memory_order_release);
      }
      *parked = true;
      IoResult io;
      absl::Status s = fd_->Read(buf_, sizeof(buf_), token, &io);
      if (s.ok() && io.state == IoState::kParked) return s;
      reading_.store(false, std::memory_order_release);
      *parked = false;
      if (!s.ok()) return s;
    }
  }

  absl::Status Signal(int sig) override {
    if (sig < 1 || sig > 64) return Code(GORT_EINVAL, "process signal");
    std::lock_guard<std::mutex> lock(mu_);
    if (reaped_) return Code(GORT_ESRCH, "process signal: finished");
    if (sig == 9) {
      // Go's os.Process.Kill: TerminateProcess(h, 1). Windows refuses a
      // process that is gone with ERROR_ACCESS_DENIED (Wine says TRUE).
      if (!TerminateProcess(process_, 1)) {
        DWORD err = GetLastError();
        if (WaitForSingleObject(process_, 0) == WAIT_OBJECT_0) {
          return Code(GORT_ESRCH, "TerminateProcess: finished");
        }
        return Win(err, "TerminateProcess");
      }
      return absl::OkStatus();
    }
    if (sig == 2 || sig == 15) {
      // CTRL_C_EVENT cannot target a group (the new group has it
      // disabled); CTRL_BREAK_EVENT can, to a group sharing our console.
      if (!group_) {
        return Code(GORT_ENOTSUP, "process signal: no process group");
      }
      if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid_)) {
        return Win(GetLastError(), "GenerateConsoleCtrlEvent");
      }
      return absl::OkStatus();
    }
    return Code(GORT_ENOTSUP, "process signal: not on Windows");
  }

  absl::Status SetDeadline(int64_t d) override {
    return fd_->SetDeadline(d, PollMode::kRead);
  }

  int64_t Pid() const override { return pid_; }
  ExitSource source() const override { return ExitSource::kHandle; }

 private:
  static VOID CALLBACK Exited(PVOID self, BOOLEAN) {
    SigWakeSend(static_cast<WindowsProcess*>(self)->wake_.write);
  }

  absl::StatusOr<bool> TryReap(ExitStatus* st) {
    std::lock_guard<std::mutex> lock(mu_);
    DWORD w = WaitForSingleObject(process_, 0);
    if (w == WAIT_TIMEOUT) return false;
    if (w != WAIT_OBJECT_0) return Win(GetLastError(), "WaitForSingleObject");
    DWORD code = 0;
    if (!GetExitCodeProcess(process_, &code)) {
      return Win(GetLastError(), "GetExitCodeProcess");
    }
    reaped_ = true;
    *st = ExitStatus{};
    st->exited = true;
    st->code = static_cast<int64_t>(code);
    return true;
  }

  const HANDLE process_;
  const DWORD pid_;
  const bool group_;
  const SigWake wake_;
  std::unique_ptr<Fd> fd_;
  HANDLE wait_ = nullptr;
  std::atomic<bool> reading_{false};
  unsigned char buf_[16] = {};
  // std::mutex, not absl::Mutex: Debian's Abseil is not built with TSan,
  // and a per-object absl::Mutex's destructor (deadlock-graph removal)
  // then shows as a race (src/timer.cc says the same).
  std::mutex mu_;
  bool reaped_ = false;  // guarded by mu_
};

// Handles this spawn made inheritable, closed on every return.
struct Inheritable {
  std::vector<HANDLE> handles;
  ~Inheritable() {
    for (HANDLE h : handles) CloseHandle(h);
  }
};

struct AttrList {
  LPPROC_THREAD_ATTRIBUTE_LIST list = nullptr;
  std::vector<unsigned char> mem;
  ~AttrList() {
    if (list != nullptr) DeleteProcThreadAttributeList(list);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessOs>> SpawnOs(Poller& poller,
                                                   const SpawnOptions& opts) {
  if (opts.new_session) {
    return Code(GORT_EINVAL, "spawn: no sessions on Windows");
  }
  std::wstring path, dir, env;
  if (!Utf16(opts.path, &path) || !Utf16(opts.dir, &dir)) {
    return Code(GORT_EINVAL, "spawn: path");
  }
  std::vector<std::wstring> args;
  if (opts.argv.empty()) {
    args.push_back(path);
  } else {
    for (const std::string& a : opts.argv) {
      std::wstring w;
      if (!Utf16(a, &w)) return Code(GORT_EINVAL, "spawn: argv");
      args.push_back(std::move(w));
    }
  }
  std::wstring cmdline = MakeCmdLine(args);
  if (!EnvBlock(opts, &env)) return Code(GORT_EINVAL, "spawn: env");

  // The three handles, duplicated inheritable for this spawn only; the
  // handle list names them as the only ones the child gets (Windows
  // inherits every inheritable handle otherwise, a race Go closes the same
  // way since Go 1.15 for os/exec).
  Inheritable inh;
  HANDLE std_handles[3];
  HANDLE self = GetCurrentProcess();
  for (int i = 0; i < 3; i++) {
    HANDLE h;
    if (opts.stdio[i] == kStdioNull) {
      SECURITY_ATTRIBUTES sa = {sizeof(sa), nullptr, TRUE};
      h = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
                      FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING,
                      FILE_ATTRIBUTE_NORMAL, nullptr);
      if (h == INVALID_HANDLE_VALUE) return Win(GetLastError(), "spawn: NUL");
    } else {
      if (!DuplicateHandle(self, reinterpret_cast<HANDLE>(opts.stdio[i]), self,
                           &h, 0, TRUE, DUPLICATE_SAME_ACCESS)) {
        return Win(GetLastError(), "spawn: stdio");
      }
    }
    inh.handles.push_back(h);
    std_handles[i] = h;
  }

  AttrList attrs;
  SIZE_T size = 0;
  (void)InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
  attrs.mem.resize(size);
  auto* list = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attrs.mem.data());
  if (!InitializeProcThreadAttributeList(list, 1, 0, &size)) {
    return Win(GetLastError(), "InitializeProcThreadAttributeList");
  }
  attrs.list = list;
  if (!UpdateProcThreadAttribute(
          list, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inh.handles.data(),
          inh.handles.size() * sizeof(HANDLE), nullptr, nullptr)) {
    return Win(GetLastError(), "UpdateProcThreadAttribute");
  }

  STARTUPINFOEXW si;
  ZeroMemory(&si, sizeof(si));
  si.StartupInfo.cb = sizeof(si);
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = std_handles[0];
  si.StartupInfo.hStdOutput = std_handles[1];
  si.StartupInfo.hStdError = std_handles[2];
  si.lpAttributeList = list;
  DWORD flags = CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT;
  if (opts.new_process_group) flags |= CREATE_NEW_PROCESS_GROUP;

  // The exit channel first, so a failure leaves no child behind.
  absl::StatusOr<SigWake> wake = SigWakeOpen();
  if (!wake.ok()) return wake.status();
  absl::StatusOr<std::unique_ptr<Fd>> fd =
      Fd::Open(poller, wake->read, FdKind::kPipe);
  if (!fd.ok()) {
    SigWakeClose(*wake, /*with_read=*/true);
    return fd.status();
  }

  PROCESS_INFORMATION pi;
  ZeroMemory(&pi, sizeof(pi));
  if (!CreateProcessW(path.c_str(), cmdline.data(), nullptr, nullptr, TRUE,
                      flags, env.data(), dir.empty() ? nullptr : dir.c_str(),
                      &si.StartupInfo, &pi)) {
    DWORD err = GetLastError();
    SigWakeClose(*wake, /*with_read=*/false);
    return Win(err, "CreateProcessW");
  }
  CloseHandle(pi.hThread);
  std::unique_ptr<WindowsProcess> p(new (std::nothrow) WindowsProcess(
      pi.hProcess, pi.dwProcessId, opts.new_process_group, *wake,
      std::move(*fd)));
  if (p == nullptr) {
    (void)TerminateProcess(pi.hProcess, 1);
    CloseHandle(pi.hProcess);
    SigWakeClose(*wake, /*with_read=*/false);
    return Code(GORT_ENOMEM, "spawn");
  }
  absl::Status s = p->Arm();
  if (!s.ok()) {
    (void)TerminateProcess(pi.hProcess, 1);
    return s;  // ~WindowsProcess closes the rest
  }
  return std::unique_ptr<ProcessOs>(std::move(p));
}

}  // namespace gort::internal
