// SPDX-License-Identifier: BSD-3-Clause
// Signals on Windows: console control events, mapped as Go maps them
// (runtime/signal_windows.go, os_windows.go's ctrlHandler): CTRL_C and
// CTRL_BREAK -> SIGINT, CTRL_CLOSE, CTRL_LOGOFF, CTRL_SHUTDOWN -> SIGTERM.
//
// The system runs a console handler on a thread it creates for the event,
// so unlike a Unix handler it may block; it must, after a close, logoff or
// shutdown event: Windows ends the process as soon as the handler returns.
// A source's wake channel is a named pipe whose read end is the source's
// Fd (an overlapped ReadFile completing on the poller's port).
#include <windows.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/fd.h"
#include "gort/signal.h"
#include "signal_internal.h"

namespace gort {
namespace internal {
namespace {

// Go's numbers for Windows (syscall/types_windows.go).
constexpr int kSigInt = 2;
constexpr int kSigKill = 9;
constexpr int kSigTerm = 15;

// Read by the console handler's thread; written under the portable lock.
std::atomic<bool> g_handling[kMaxSignal + 1];
std::atomic<bool> g_ignoring[kMaxSignal + 1];
bool g_installed = false;            // guarded by the portable lock
std::atomic<HANDLE> g_close_done{};  // auto-reset: ConsoleCloseDone()

int SignalFor(DWORD event) {
  switch (event) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
      return kSigInt;
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      return kSigTerm;
    default:
      return 0;
  }
}

BOOL WINAPI CtrlHandler(DWORD event) {
  int sig = SignalFor(event);
  if (sig == 0) return FALSE;
  if (g_ignoring[sig].load(std::memory_order_acquire)) return TRUE;
  HANDLE done = g_close_done.load(std::memory_order_acquire);
  // A ConsoleCloseDone() from before this event must not end its wait.
  if (sig == kSigTerm && done != nullptr) (void)ResetEvent(done);
  // FALSE: nobody wants it, the next handler (by default ExitProcess) runs.
  if (!DeliverSignal(sig)) return FALSE;
  if (sig == kSigTerm) {
    // Windows ends the process when this returns: give the embedder, who
    // now has SIGTERM, time to clean up (Go blocks forever; Windows kills
    // the process after about 5 s anyway).
    DWORD ms = static_cast<DWORD>(absl::ToInt64Milliseconds(kConsoleCloseWait));
    if (done != nullptr) {
      (void)WaitForSingleObject(done, ms);
    } else {
      Sleep(ms);
    }
  }
  return TRUE;
}

// The console handler is installed while SIGINT or SIGTERM is handled or
// ignored.
void UpdateHandler() {
  bool want = g_handling[kSigInt].load() || g_handling[kSigTerm].load() ||
              g_ignoring[kSigInt].load() || g_ignoring[kSigTerm].load();
  if (want == g_installed) return;
  if (want && g_close_done.load() == nullptr) {
    g_close_done.store(CreateEventW(nullptr, FALSE, FALSE, nullptr));
  }
  if (SetConsoleCtrlHandler(CtrlHandler, want ? TRUE : FALSE)) {
    g_installed = want;
  }
}

bool Console(int sig) { return sig == kSigInt || sig == kSigTerm; }

}  // namespace

bool SigCatchable(int sig) {
  return sig >= 1 && sig <= kMaxSignal && sig != kSigKill;
}

bool SigSynchronous(int sig) {
  return sig == 4 || sig == 5 || sig == 7 || sig == 8 || sig == 11;
}

absl::Status SigHandle(int sig) {
  g_ignoring[sig].store(false, std::memory_order_release);
  g_handling[sig].store(true, std::memory_order_release);
  if (Console(sig)) UpdateHandler();
  return absl::OkStatus();
}

absl::Status SigIgnore(int sig) {
  g_handling[sig].store(false, std::memory_order_release);
  g_ignoring[sig].store(true, std::memory_order_release);
  if (Console(sig)) UpdateHandler();
  return absl::OkStatus();
}

void SigRestore(int sig) {
  if (sig < 1 || sig > kMaxSignal) return;
  g_handling[sig].store(false, std::memory_order_release);
  g_ignoring[sig].store(false, std::memory_order_release);
  if (Console(sig)) UpdateHandler();
}

bool SigIsIgnored(int sig) {
  return sig >= 1 && sig <= kMaxSignal &&
         g_ignoring[sig].load(std::memory_order_acquire);
}

// The read end overlapped, for the poller; the write end made
// non-blocking below.
absl::StatusOr<SigWake> SigWakeOpen() {
  absl::StatusOr<PipeEnds> p = OpenPipe(kPipeReadPollable);
  if (!p.ok()) return p.status();
  // A full pipe must not block the console handler (its reader is woken
  // already then).
  DWORD mode = PIPE_READMODE_BYTE | PIPE_NOWAIT;
  if (!SetNamedPipeHandleState(reinterpret_cast<HANDLE>(p->write), &mode,
                               nullptr, nullptr)) {
    DWORD err = GetLastError();
    CloseHandle(reinterpret_cast<HANDLE>(p->read));
    CloseHandle(reinterpret_cast<HANDLE>(p->write));
    return Error::FromSys(err).ToStatus("SetNamedPipeHandleState");
  }
  return SigWake{p->read, p->write};
}

void SigWakeSend(intptr_t w) {
  unsigned char one = 1;
  DWORD n = 0;
  (void)WriteFile(reinterpret_cast<HANDLE>(w), &one, 1, &n, nullptr);
}

void SigWakeClose(const SigWake& w, bool with_read) {
  if (w.write != -1 && w.write != w.read) {
    CloseHandle(reinterpret_cast<HANDLE>(w.write));
  }
  if (with_read && w.read != -1) CloseHandle(reinterpret_cast<HANDLE>(w.read));
}

// For tests: runs the console handler as the system would for `event`.
int ConsoleCtrlHandlerForTest(unsigned long event) {
  return CtrlHandler(static_cast<DWORD>(event));
}

}  // namespace internal

void ConsoleCloseDone() {
  HANDLE done = internal::g_close_done.load(std::memory_order_acquire);
  if (done != nullptr) (void)SetEvent(done);
}

const char* SignalName(int sig) {
  static const char* const kNames[] = {
      "",        "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL", "SIGTRAP",
      "SIGABRT", "SIGBUS",  "SIGFPE",  "SIGKILL", "SIG10",  "SIGSEGV",
      "SIG12",   "SIGPIPE", "SIGALRM", "SIGTERM"};
  static const char* const kNumbered[] = {
      "SIG16", "SIG17", "SIG18", "SIG19", "SIG20", "SIG21", "SIG22",
      "SIG23", "SIG24", "SIG25", "SIG26", "SIG27", "SIG28", "SIG29",
      "SIG30", "SIG31", "SIG32", "SIG33", "SIG34", "SIG35", "SIG36",
      "SIG37", "SIG38", "SIG39", "SIG40", "SIG41", "SIG42", "SIG43",
      "SIG44", "SIG45", "SIG46", "SIG47", "SIG48", "SIG49", "SIG50",
      "SIG51", "SIG52", "SIG53", "SIG54", "SIG55", "SIG56", "SIG57",
      "SIG58", "SIG59", "SIG60", "SIG61", "SIG62", "SIG63", "SIG64"};
  if (sig < 1 || sig > kMaxSignal) return "";
  return sig <= 15 ? kNames[sig] : kNumbered[sig - 16];
}

std::vector<SignalState> SignalStates() {
  std::vector<SignalState> out;
  for (int sig : {internal::kSigInt, internal::kSigTerm}) {
    SignalState st;
    st.sig = sig;
    st.name = SignalName(sig);
    if (internal::g_ignoring[sig].load()) {
      st.disposition = SignalDisposition::kIgnored;
    } else if (internal::g_handling[sig].load()) {
      st.disposition = SignalDisposition::kGort;
    }
    out.push_back(st);
  }
  return out;
}

}  // namespace gort
