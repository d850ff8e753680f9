// SPDX-License-Identifier: BSD-3-Clause
// The contract between the portable signal layer (src/signal.cc: sources,
// pending bits, who wants what) and each OS's (src/posix/signal_posix.cc:
// sigaction; src/windows/signal_windows.cc: the console control handler).
// Go splits it the same way: runtime/sigqueue.go is portable,
// signal_unix.go and signal_windows.go are not.
#ifndef GORT_SRC_SIGNAL_INTERNAL_H_
#define GORT_SRC_SIGNAL_INTERNAL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gort::internal {

// --- Portable side, called by the OS's handler ------------------------------

// Sets `sig` pending in every source that wants it and wakes each one that
// had nothing pending (Go's sigsend). True if any source wanted it.
// Async-signal-safe: atomics and the OS's wake write only.
bool DeliverSignal(int sig);

// --- OS side ----------------------------------------------------------------
// All but SigWakeSend() are called with the portable layer's lock held, so
// the OS side needs no lock of its own.

// Whether Notify() may name `sig`: 1..64, not SIGKILL or SIGSTOP, and the
// OS lets a handler be installed (glibc and musl keep 32..34 for
// themselves; macOS has 31 signals).
bool SigCatchable(int sig);

// SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP: raised by a fault on the
// faulting thread, which must never be swallowed.
bool SigSynchronous(int sig);

// Installs gort's handler for `sig`, first saving the disposition in
// place if gort had not changed it yet (Go's sigenable).
absl::Status SigHandle(int sig);

// Sets SIG_IGN, first saving the disposition as SigHandle() does (Go's
// sigignore).
absl::Status SigIgnore(int sig);

// Puts the saved disposition back, exactly, if gort changed `sig`; then
// forgets it (Go's sigdisable with fwdSig).
void SigRestore(int sig);

// Whether `sig`'s disposition is SIG_IGN now.
bool SigIsIgnored(int sig);

// A source's wake-up channel: `read` becomes the source's Fd (a pipe kind);
// a byte (or eventfd count) written to `write` makes it readable. The same
// descriptor on Linux (an eventfd).
struct SigWake {
  intptr_t read = -1;
  intptr_t write = -1;
};
absl::StatusOr<SigWake> SigWakeOpen();
// Wakes a source. Async-signal-safe; a full channel (its reader is already
// woken) is not an error.
void SigWakeSend(intptr_t write);
// Closes `write` unless it is also `read` (which the Fd owns), and `read`
// too if `with_read` (when no Fd took it).
void SigWakeClose(const SigWake& w, bool with_read);

// Makes every delivery of `sig` also wake `wake` (a SigWakeOpen() write
// end), installing gort's handler for it if nobody wanted it yet; the
// signal is not consumed, so the disposition found before gort still gets
// it. One signal for the whole process, kept for its life (ResetSignals()
// leaves its handler in place): the process layer's SIGCHLD fallback
// (src/posix/process_posix.cc). EBUSY for a second, other signal.
absl::Status AddSignalWake(int sig, intptr_t wake);

#if defined(_WIN32)
// For tests: runs the console control handler as the system would for
// `event` (CTRL_C_EVENT, ...); returns what the handler returned.
int ConsoleCtrlHandlerForTest(unsigned long event);
#endif

}  // namespace gort::internal

#endif  // GORT_SRC_SIGNAL_INTERNAL_H_
