// SPDX-License-Identifier: BSD-3-Clause
// Signals with os/signal's semantics, delivered through the netpoller (Go:
// os/signal/signal.go, runtime/sigqueue.go, runtime/signal_unix.go,
// runtime/signal_windows.go).
//
// A SignalSource is registered with a Poller. Notify() names the signals it
// wants; a waiter parks on it with a token like on any pollDesc:
//
//   SignalResult r;
//   absl::Status s = src->Receive(token, &r);
//   !s.ok()                          error (ECANCELED once Close()d)
//   r.state == IoState::kDone        r.set holds the signals that arrived
//   r.state == IoState::kParked      the token comes out of Poller::Poll()
//                                    when a signal arrives: call Receive()
//                                    again, with the same token
//
// As in Go, N deliveries of one signal before a Receive() collapse into one,
// and a signal wanted by several sources (of one poller or several) reaches
// each of them.
//
// The handler (Unix) is async-signal-safe: it saves and restores errno, sets
// an atomic pending bit in each source that wants the signal and, when the
// source had nothing pending, wakes it by writing to a descriptor the source
// owns (an eventfd on Linux, a pipe on macOS). No allocation, no lock.
//
// Installing with care (gort lives in someone else's process):
//   - gort installs nothing until Notify() asks for a signal, and then only
//     for that signal, with SA_SIGINFO|SA_ONSTACK|SA_RESTART and every
//     signal blocked while it runs (Go's setsig).
//   - The disposition found before gort's first change is saved once and
//     put back exactly (handler, flags, mask) when nobody wants the signal
//     any more (Stop() of its last source), and by ResetSignals().
//   - A signal gort does not consume goes to the saved disposition: the
//     saved handler is called (chained) or, for SIG_DFL, the default
//     action is taken (Go's sigfwdgo). Synchronous signals raised by a
//     fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP with a kernel
//     si_code) are never consumed, even when notified: only a kill()ed one
//     is delivered; a fault is chained, or with SIG_DFL re-raised by
//     returning to the faulting instruction with SIG_DFL in place.
//   - An inherited SIG_IGN is kept unless the caller names the signal:
//     Notify() with an empty list (Go's "all signals") skips every signal
//     ignored at that moment, so a process started by nohup keeps ignoring
//     SIGHUP; naming SIGHUP or SIGINT installs the handler (Go's rule).
//   - SIGPIPE: gort's own descriptors never raise it (fd.h). gort installs
//     no SIGPIPE handler unless Notify() names it, so a write to a broken
//     pipe by code outside gort gets the process's own disposition (by
//     default the process ends, as a C program expects; Go's "fd 1 and 2
//     kill, others get EPIPE" rule is a whole-program rule and gort does
//     not own the program). With SIGPIPE notified, it is delivered, and a
//     handler present before gort is called too (Go forwards a SIGPIPE
//     raised outside Go code to it).
//
// Threads and masks: a process-directed signal runs the handler on any one
// thread that does not block it. gort creates no threads and its handler is
// safe on any thread, so nothing is required; to keep the handler off a
// thread (a real-time worker, say), block the signals there with
// pthread_sigmask() before it starts other threads: new threads inherit the
// mask. Keep the signals unblocked on at least one thread, or they stay
// pending. The handler needs a few hundred bytes of stack; it runs on the
// thread's alternate signal stack when the embedder gave it one
// (SA_ONSTACK), else on the thread's own stack, so gort needs no alternate
// stack of its own: the only signal that needs one is a stack-overflow
// SIGSEGV, which gort never consumes.
//
// Windows has no POSIX signals: the console control events arrive on a
// thread the system creates, and are mapped as Go maps them: CTRL_C_EVENT
// and CTRL_BREAK_EVENT -> SIGINT (2), CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT
// and CTRL_SHUTDOWN_EVENT -> SIGTERM (15) (SetConsoleCtrlHandler, installed
// while a source wants either or either is ignored). Windows ends the
// process when the handler returns from a close, logoff or shutdown event,
// so after handing SIGTERM over the handler waits, at most
// kConsoleCloseWait (Windows itself allows about 5 s), for the embedder to
// finish its clean-up; ConsoleCloseDone() ends the wait early. Other
// signal numbers (1 to 64) may be notified and are never delivered.
// Ignoring SIGINT makes the handler swallow Ctrl-C and Ctrl-Break.
//
// Thread safety: every function may be called from any thread. Receive()
// is one operation: one call at a time per source (EBUSY otherwise), as one
// read per Fd. Notify(), Stop(), IgnoreSignals() and ResetSignals()
// serialize on a process-wide lock; Receive() takes no lock.
#ifndef GORT_GORT_SIGNAL_H_
#define GORT_GORT_SIGNAL_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gort/fd.h"
#include "gort/netpoll.h"

namespace gort {

/// A set of signals: bit (sig - 1) for signals 1 to 64.
using SignalSet = uint64_t;

/// The highest signal number gort handles (Linux's _NSIG - 1).
inline constexpr int kMaxSignal = 64;

/// The set holding `sig` alone (0 for a number outside 1..64).
constexpr SignalSet SignalBit(int sig) {
  return sig >= 1 && sig <= kMaxSignal ? SignalSet{1} << (sig - 1) : 0;
}

/// How long the Windows console handler waits after handing SIGTERM over.
inline constexpr absl::Duration kConsoleCloseWait = absl::Seconds(5);

/// What Receive() returned.
struct SignalResult {
  IoState state = IoState::kDone;  ///< done, or parked (call again)
  SignalSet set = 0;               ///< when done: the signals that arrived
};

/// A signal source on a Poller: Notify() names the signals, Receive()
/// takes them or parks a token (see the file comment).
class SignalSource {
 public:
  /// A source registered with `poller`, wanting nothing yet. At most 64
  /// sources exist at once in a process (RESOURCE_EXHAUSTED, EMFILE in the
  /// C ABI, beyond).
  static absl::StatusOr<std::unique_ptr<SignalSource>> Open(Poller& poller);

  /// Stops every signal and closes. Destroy a source only when no
  /// Receive() is parked on it (as an Fd: debug builds abort otherwise).
  ~SignalSource();
  SignalSource(const SignalSource&) = delete;
  SignalSource& operator=(const SignalSource&) = delete;

  /// Go's Notify: relay `sigs` to this source, installing gort's handler
  /// for each signal nobody wanted before. An empty list means every
  /// signal that can be caught, except those ignored right now, the
  /// synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) and those
  /// the C library keeps for itself. EINVAL (nothing changed) for a number
  /// outside 1..64, SIGKILL or SIGSTOP, or one the OS refuses.
  absl::Status Notify(absl::Span<const int> sigs);

  /// Go's Stop, per signal: relay `sigs` no more (an empty list: every
  /// signal). When Stop() returns, Receive() reports none of them (pending
  /// ones are dropped); a signal nobody wants any more gets back the
  /// disposition it had before gort.
  absl::Status Stop(absl::Span<const int> sigs = {});

  /// The signals this source relays now.
  SignalSet Wanted() const;

  /// The signals that arrived and no Receive() has taken yet (a look, for
  /// inspection and tests; Receive() takes them).
  SignalSet Pending() const;

  /// Takes the signals that arrived since the last call, or parks the
  /// token: see the file comment. r->set is never empty when done. After
  /// a parked call, call again only once the token came out of Poll() (as
  /// with any Fd operation: an early call would leave the token parked).
  absl::Status Receive(uintptr_t token, SignalResult* r);

  /// Stops every signal and closes the source's descriptor; a parked
  /// Receive() comes out of Poll() and then fails with ECANCELED. A second
  /// Close() fails with EBADF.
  absl::Status Close();

  /// The source's Fd (its wake descriptor), for deadlines (Receive() is a
  /// read: SetDeadline(d, PollMode::kRead)) and inspection.
  Fd& fd();

  class Impl;

 private:
  explicit SignalSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Go's Ignore: no source relays `sigs` any more and their disposition is
/// SIG_IGN (Windows: the console handler swallows them). An empty list:
/// every signal that can be caught except the synchronous ones.
absl::Status IgnoreSignals(absl::Span<const int> sigs);

/// Go's Ignored: whether `sig`'s disposition is SIG_IGN now, whoever set it
/// (an inherited SIG_IGN counts). Windows: whether IgnoreSignals() ignored
/// it. EINVAL outside 1..64.
absl::StatusOr<bool> SignalIgnored(int sig);

/// Go's Reset: no source relays `sigs` any more and each gets back the
/// disposition it had before gort first changed it (exactly: handler,
/// flags, mask). An empty list: every signal gort changed.
absl::Status ResetSignals(absl::Span<const int> sigs);

/// Windows: ends the console handler's wait after a close, logoff or
/// shutdown event (call it when clean-up is done; Windows then ends the
/// process). Elsewhere a no-op.
void ConsoleCloseDone();

/// Who handles a signal.
enum class SignalDisposition : int32_t {
  kDefault = 0,  ///< SIG_DFL
  kIgnored = 1,  ///< SIG_IGN
  kForeign = 2,  ///< a handler that is not gort's
  kGort = 3,     ///< gort's handler
};

/// One signal's disposition and mask state, for reports.
struct SignalState {
  int sig = 0;            ///< the signal number
  const char* name = "";  ///< "SIGHUP", ...; "SIGRT<n>" above the named ones
  SignalDisposition disposition = SignalDisposition::kDefault;  ///< who
  bool blocked = false;  ///< blocked in the calling thread
};

/// The dispositions of signals 1..64 as the OS holds them now (Unix:
/// sigaction for each, skipping numbers the OS refuses; Windows: SIGINT and
/// SIGTERM, from gort's own state).
std::vector<SignalState> SignalStates();

/// "SIGINT" for 2, ...; "" outside 1..64.
const char* SignalName(int sig);

}  // namespace gort

#endif  // GORT_GORT_SIGNAL_H_
