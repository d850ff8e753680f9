// SPDX-License-Identifier: BSD-3-Clause
// Signals on Linux and macOS: gort's handler, installing it with care, and
// handing what gort does not consume to the disposition found before it
// (Go: runtime/signal_unix.go — setsig, sigfwdgo, sigenable, sigdisable,
// sigignore; os/signal/doc.go for the rules).
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/signal.h"
#include "signal_internal.h"

namespace gort {
namespace internal {
namespace {

// What gort has done to each signal (guarded by the portable layer's lock;
// read by the handler only as the saved disposition, which is written
// before gort's handler goes in and not again while it is in).
enum class Changed : uint8_t { kNo, kHandling, kIgnoring };
Changed g_changed[kMaxSignal + 1] = {};
struct sigaction g_saved[kMaxSignal + 1];

// Signals whose default action is to do nothing (Go's _SigIgn flag).
bool DefaultIgnores(int sig) {
  return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

// Whether the kernel raised `sig` for a fault of the interrupted code,
// rather than kill(), sigqueue() or tgkill() (Go's sigcode() != _SI_USER
// test for _SigPanic signals). Linux: user-sent codes are <= 0 (SI_USER 0,
// SI_QUEUE -1, SI_TKILL -6). macOS: they are SI_USER (0x10001) and up.
bool RaisedByFault(int sig, const siginfo_t* info) {
  if (!SigSynchronous(sig) || info == nullptr) return false;
#if defined(__APPLE__)
  return info->si_code > 0 && info->si_code < SI_USER;
#else
  return info->si_code > 0;
#endif
}

// The disposition as a pointer (the union's two members share storage).
void* HandlerOf(const struct sigaction& sa) {
  return reinterpret_cast<void*>(sa.sa_handler);
}

// Sets SIG_DFL from inside the handler (sigaction is async-signal-safe).
void SetDefault(int sig) {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  (void)sigaction(sig, &dfl, nullptr);
}

// Hands `sig` to the disposition saved before gort (Go's sigfwdgo and
// sigfwd). `consumed`: a source took it too (SIGPIPE only), so only a
// handler is called, never a default action.
void Forward(int sig, siginfo_t* info, void* ctx, bool fault, bool consumed) {
  const struct sigaction& old = g_saved[sig];
  void* h = HandlerOf(old);
  if (h == reinterpret_cast<void*>(SIG_IGN) ||
      h == reinterpret_cast<void*>(SIG_DFL)) {
    if (consumed) return;
    if (h == reinterpret_cast<void*>(SIG_IGN) && !fault) return;
    if (h == reinterpret_cast<void*>(SIG_DFL) && DefaultIgnores(sig)) return;
    // The default action (or a fault nobody can ignore): SIG_DFL in
    // place, then a fault re-executes the faulting instruction and a sent
    // signal is sent again. Both arrive once this handler returns and the
    // thread's mask (now full) comes back: the process ends (or stops)
    // with this signal, as it would have without gort.
    SetDefault(sig);
    if (!fault) (void)raise(sig);
    return;
  }
  if ((old.sa_flags & SA_SIGINFO) != 0) {
    old.sa_sigaction(sig, info, ctx);
  } else {
    old.sa_handler(sig);
  }
}

// gort's handler. Async-signal-safe: atomics, write(2), sigaction(2).
void Handler(int sig, siginfo_t* info, void* ctx) {
  int saved_errno = errno;
  bool fault = RaisedByFault(sig, info);
  bool consumed = !fault && DeliverSignal(sig);
  if (!consumed || sig == SIGPIPE) Forward(sig, info, ctx, fault, consumed);
  errno = saved_errno;
}

// Saves the disposition in place unless gort already changed `sig`.
absl::Status SaveOnce(int sig) {
  if (g_changed[sig] != Changed::kNo) return absl::OkStatus();
  if (sigaction(sig, nullptr, &g_saved[sig]) != 0) {
    return Error::FromSys(errno).ToStatus("sigaction");
  }
  return absl::OkStatus();
}

struct Named {
  int sig;
  const char* name;
};

// The named signals of this OS (numbers differ between Linux and macOS).
const Named kNames[] = {
    {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},       {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},       {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
    {SIGCHLD, "SIGCHLD"},     {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
    {SIGTSTP, "SIGTSTP"},     {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
    {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
    {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},         {SIGSYS, "SIGSYS"},
#if defined(SIGSTKFLT)
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
#if defined(SIGPWR)
    {SIGPWR, "SIGPWR"},
#endif
#if defined(SIGEMT)
    {SIGEMT, "SIGEMT"},
#endif
#if defined(SIGINFO)
    {SIGINFO, "SIGINFO"},
#endif
};

// "SIG<n>" for the unnamed numbers (real-time signals).
const char* const kNumbered[kMaxSignal + 1] = {
    "",      "SIG1",  "SIG2",  "SIG3",  "SIG4",  "SIG5",  "SIG6",  "SIG7",
    "SIG8",  "SIG9",  "SIG10", "SIG11", "SIG12", "SIG13", "SIG14", "SIG15",
    "SIG16", "SIG17", "SIG18", "SIG19", "SIG20", "SIG21", "SIG22", "SIG23",
    "SIG24", "SIG25", "SIG26", "SIG27", "SIG28", "SIG29", "SIG30", "SIG31",
    "SIG32", "SIG33", "SIG34", "SIG35", "SIG36", "SIG37", "SIG38", "SIG39",
    "SIG40", "SIG41", "SIG42", "SIG43", "SIG44", "SIG45", "SIG46", "SIG47",
    "SIG48", "SIG49", "SIG50", "SIG51", "SIG52", "SIG53", "SIG54", "SIG55",
    "SIG56", "SIG57", "SIG58", "SIG59", "SIG60", "SIG61", "SIG62", "SIG63",
    "SIG64"};

}  // namespace

bool SigCatchable(int sig) {
  if (sig < 1 || sig > kMaxSignal || sig >= NSIG) return false;
  if (sig == SIGKILL || sig == SIGSTOP) return false;
  struct sigaction cur;
  return sigaction(sig, nullptr, &cur) == 0;  // EINVAL for libc's own
}

bool SigSynchronous(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
         sig == SIGTRAP;
}

absl::Status SigHandle(int sig) {
  if (g_changed[sig] == Changed::kHandling) return absl::OkStatus();
  absl::Status s = SaveOnce(sig);
  if (!s.ok()) return s;
  // Go's setsig: SA_SIGINFO|SA_ONSTACK|SA_RESTART (SA_RESTORER is the C
  // library's business), every signal blocked while the handler runs.
  struct sigaction sa = {};
  sa.sa_sigaction = Handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sigaction(sig, &sa, nullptr) != 0) {
    return Error::FromSys(errno).ToStatus("sigaction");
  }
  g_changed[sig] = Changed::kHandling;
  return absl::OkStatus();
}

absl::Status SigIgnore(int sig) {
  absl::Status s = SaveOnce(sig);
  if (!s.ok()) return s;
  struct sigaction sa = {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, nullptr) != 0) {
    return Error::FromSys(errno).ToStatus("sigaction");
  }
  g_changed[sig] = Changed::kIgnoring;
  return absl::OkStatus();
}

void SigRestore(int sig) {
  if (sig < 1 || sig > kMaxSignal || g_changed[sig] == Changed::kNo) return;
  (void)sigaction(sig, &g_saved[sig], nullptr);
  g_changed[sig] = Changed::kNo;
}

bool SigIsIgnored(int sig) {
  struct sigaction cur;
  if (sig < 1 || sig >= NSIG || sigaction(sig, nullptr, &cur) != 0) {
    return false;
  }
  return HandlerOf(cur) == reinterpret_cast<void*>(SIG_IGN);
}

absl::StatusOr<SigWake> SigWakeOpen() {
#if defined(__linux__)
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return Error::FromSys(errno).ToStatus("eventfd");
  return SigWake{fd, fd};
#else
  int p[2];
  if (pipe(p) != 0) return Error::FromSys(errno).ToStatus("pipe");
  for (int fd : p) {
    // No pipe2 on macOS; Go holds ForkLock over the same window.
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
      int err = errno;
      (void)close(p[0]);
      (void)close(p[1]);
      return Error::FromSys(err).ToStatus("pipe: fcntl");
    }
  }
  return SigWake{p[0], p[1]};
#endif
}

void SigWakeSend(intptr_t w) {
#if defined(__linux__)
  uint64_t one = 1;
  ssize_t n = write(static_cast<int>(w), &one, sizeof(one));
#else
  unsigned char one = 1;
  ssize_t n = write(static_cast<int>(w), &one, 1);
#endif
  (void)n;  // EAGAIN: the channel is full, so its reader is woken already
}

void SigWakeClose(const SigWake& w, bool with_read) {
  if (w.write >= 0 && w.write != w.read) (void)close(static_cast<int>(w.write));
  if (with_read && w.read >= 0) (void)close(static_cast<int>(w.read));
}

}  // namespace internal

void ConsoleCloseDone() {}

const char* SignalName(int sig) {
  if (sig < 1 || sig > kMaxSignal) return "";
  for (const internal::Named& n : internal::kNames) {
    if (n.sig == sig) return n.name;
  }
  return internal::kNumbered[sig];
}

std::vector<SignalState> SignalStates() {
  std::vector<SignalState> out;
  sigset_t mask;
  sigemptyset(&mask);
  (void)pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  for (int sig = 1; sig <= kMaxSignal && sig < NSIG; sig++) {
    struct sigaction cur;
    if (sigaction(sig, nullptr, &cur) != 0) continue;
    SignalState st;
    st.sig = sig;
    st.name = SignalName(sig);
    void* h = internal::HandlerOf(cur);
    if (h == reinterpret_cast<void*>(SIG_DFL)) {
      st.disposition = SignalDisposition::kDefault;
    } else if (h == reinterpret_cast<void*>(SIG_IGN)) {
      st.disposition = SignalDisposition::kIgnored;
    } else if ((cur.sa_flags & SA_SIGINFO) != 0 &&
               cur.sa_sigaction == internal::Handler) {
      st.disposition = SignalDisposition::kGort;
    } else {
      st.disposition = SignalDisposition::kForeign;
    }
    st.blocked = sigismember(&mask, sig) == 1;
    out.push_back(st);
  }
  return out;
}

}  // namespace gort
