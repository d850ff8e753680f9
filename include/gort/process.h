// SPDX-License-Identifier: BSD-3-Clause
// Child processes: Go's os/exec core, with the child's exit arriving as a
// poller event instead of a blocking wait (Go: syscall/exec_unix.go,
// exec_linux.go, exec_windows.go, os/exec_posix.go, os/pidfd_linux.go).
//
// Spawn() starts `path` with `argv`, `env` and `dir`; the child's standard
// descriptors are the caller's descriptors named in SpawnOptions::stdio
// (any descriptor: a terminal, a file, the child's end of a pipe whose
// other end the caller registered with a Poller as an Fd). Nothing else is
// inherited from gort: every descriptor gort creates is close-on-exec,
// the three named ones are duplicated for the child only, and on Windows
// PROC_THREAD_ATTRIBUTE_HANDLE_LIST names the only handles the child gets.
// An exec that fails (ENOENT, EACCES, ENOEXEC) is Spawn()'s error, never an
// exit status.
//
// How, per OS:
//   - Unix: posix_spawn(3), which suffices for what gort offers (stdio
//     mapping, working directory through
//     posix_spawn_file_actions_addchdir_np, process group, session, an
//     empty signal mask, signals the parent handles back to SIG_DFL).
//     glibc and musl implement it with a vfork-style clone (CLONE_VM |
//     CLONE_VFORK) and an async-signal-safe child, as Go's forkExec does,
//     and report the exec's errno to the parent; gort's own code never
//     runs in the child, so nothing allocates after the fork. (Under
//     qemu-user, which turns CLONE_VFORK into a plain fork, glibc cannot
//     see the exec's error: the child exits with 127 instead, see
//     process_test.cc. musl reports through a pipe and is unaffected.)
//   - Windows: CreateProcessW with Go's command-line quoting
//     (syscall.EscapeArg / makeCmdLine) and a Unicode environment block
//     sorted case-insensitively, as Windows requires.
//
// Waiting goes through the Poller and never blocks:
//
//   ProcessResult r;
//   absl::Status s = p->Wait(token, &r);
//   !s.ok()                          error (ETIMEDOUT after SetDeadline(),
//                                    ECHILD if someone else reaped it)
//   r.state == IoState::kDone        r.status is the exit status; the
//                                    child was reaped (no zombie left)
//   r.state == IoState::kParked      the token comes out of Poller::Poll()
//                                    when the child may have exited: call
//                                    Wait() again with the same token
//
// The exit source: Linux a pidfd (pidfd_open after the spawn: the pid
// cannot be reused before gort reaps it) registered with the poller, which
// becomes readable when the child exits; where the kernel (or qemu) lacks
// pidfd_open, found by gort::ProbeSyscall, a SIGCHLD handler installed
// through the signal layer wakes every fallback waiter, and each looks at
// its own child with waitid(WNOHANG). macOS: a kqueue of the child's own
// watching its pid with EVFILT_PROC/NOTE_EXIT, which the poller's kqueue
// watches as a descriptor (readable once the child exited, as a pidfd);
// the SIGCHLD fallback only when forced. Windows: a
// thread-pool wait (RegisterWaitForSingleObject) on the process handle
// writes a byte to a pipe registered with the poller's port
// (NtAssociateWaitCompletionPacket would post to the port directly, but
// Wine lacks it).
//
// Reaping: waitid(P_PID, pid, WEXITED) on that pid only, never wait(-1).
// An embedder's SIGCHLD handler keeps working (gort chains to it when it
// installs its own for the fallback), but it must not reap children it
// did not start: a handler that calls wait(-1)/waitpid(-1) steals gort's
// children's statuses, and Wait() then fails with ECHILD. SIGCHLD set to
// SIG_IGN (or SA_NOCLDWAIT) makes the kernel reap every child itself:
// Wait() then also fails with ECHILD.
//
// Signals: Signal(sig) uses pidfd_send_signal where there is a pidfd, so a
// reused pid is never hit; kill(2) on the pid otherwise (before the reap
// the pid is still the child's). Once reaped, ESRCH (Go's "process already
// finished"). Windows: SIGKILL -> TerminateProcess(h, 1); SIGINT and
// SIGTERM -> GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT) to the child's
// process group, which needs SpawnOptions::new_process_group and a console
// the child shares (CTRL_C_EVENT cannot target a group); without either,
// the OS's error (under Wine always: Wine has no console events for
// pipes-only processes). Other signals: ENOTSUP on Windows.
//
// Terminate(grace): sends SIGTERM, waits up to `grace` through the poller,
// then sends SIGKILL and waits for the end; r.ended_by says which of the
// two ended it. Where SIGTERM cannot be sent (Windows without a shared
// console), SIGKILL goes at once. Re-entrant like Wait().
//
// Thread safety: any method from any thread; Wait() and Terminate() are
// one operation at a time per process (EBUSY otherwise). Destroy a Process
// only when no Wait()/Terminate() is parked (as an Fd). Destroying one that
// was never waited for leaves the child running; on Unix it then becomes a
// zombie until the process ends, as in Go without Wait().
#ifndef GORT_GORT_PROCESS_H_
#define GORT_GORT_PROCESS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gort/fd.h"
#include "gort/netpoll.h"

namespace gort {

/// SpawnOptions::stdio entry: the null device (/dev/null, NUL).
inline constexpr intptr_t kStdioNull = -1;

/// What to start.
struct SpawnOptions {
  std::string path;               ///< the program (no PATH search)
  std::vector<std::string> argv;  ///< argv[0] included; empty: {path}
  /// "KEY=value" entries; with inherit_env false these are the whole
  /// environment, else they are added to (override) the caller's.
  std::vector<std::string> env;
  bool inherit_env = true;  ///< start from the caller's environment
  std::string dir;          ///< working directory; empty: the caller's
  /// The child's stdin, stdout and stderr: a descriptor (Windows: a
  /// HANDLE) of the caller's, or kStdioNull. It stays the caller's.
  intptr_t stdio[3] = {kStdioNull, kStdioNull, kStdioNull};
  bool new_process_group = false;  ///< setpgid(0,0) / CREATE_NEW_PROCESS_GROUP
  bool new_session = false;        ///< setsid() (Unix only; EINVAL on Windows)
};

/// How a child ended.
struct ExitStatus {
  bool exited = false;  ///< it exited by itself (code is valid)
  int64_t code = -1;    ///< exit code (Windows: the 32-bit exit code, as
                        ///< unsigned); -1 when killed by a signal
  int signal = 0;       ///< Unix: the signal that killed it; else 0
};

/// What ended a Terminate().
enum class EndedBy : int32_t {
  kNone = 0,  ///< Wait(): not a Terminate()
  kTerm = 1,  ///< it ended within the grace period after SIGTERM
  kKill = 2,  ///< SIGKILL (TerminateProcess) after the grace period
};

/// What Wait() / Terminate() returned.
struct ProcessResult {
  IoState state = IoState::kDone;     ///< done, or parked (call again)
  ExitStatus status;                  ///< when done
  EndedBy ended_by = EndedBy::kNone;  ///< Terminate(): which signal ended it
};

/// Which exit source a process waits on.
enum class ExitSource : int32_t {
  kPidfd = 1,    ///< Linux pidfd
  kSigchld = 2,  ///< SIGCHLD through the signal layer (the fallback)
  kHandle = 3,   ///< Windows: the process handle's wait
  kKqueue = 4,   ///< macOS: a kqueue of its own with EVFILT_PROC/NOTE_EXIT
};

/// A child process whose exit a waiter parks on through a Poller (see the
/// file comment).
class Process {
 public:
  /// Starts a child (see the file comment); its exit is watched through
  /// `poller`, which must outlive the Process.
  static absl::StatusOr<std::unique_ptr<Process>> Spawn(
      Poller& poller, const SpawnOptions& opts);

  /// Unregisters the exit source and frees the process; the child is
  /// neither signalled nor reaped (see the file comment).
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Reaps the child or parks the token: see the file comment. After done,
  /// further calls return the same status.
  absl::Status Wait(uintptr_t token, ProcessResult* r);

  /// Sends `sig` (see the file comment). ESRCH once the child was reaped.
  absl::Status Signal(int sig);

  /// SIGTERM, up to `grace` (<= 0: none), SIGKILL; re-entrant like Wait().
  absl::Status Terminate(absl::Duration grace, uintptr_t token,
                         ProcessResult* r);

  /// A deadline for Wait(), relative as Poller::SetDeadline(): Wait()
  /// then fails with ETIMEDOUT (the child keeps running; Wait() again
  /// after clearing it). Terminate() uses it for the grace period: it
  /// replaces a deadline set before and clears it when it ends.
  absl::Status SetDeadline(int64_t d);

  /// Whether a Wait()/Terminate() is in progress (parked).
  bool Busy() const;

  /// The child's process id.
  int64_t Pid() const;

  /// The exit source in use.
  ExitSource source() const;

  class Impl;

 private:
  explicit Process(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

namespace internal {
/// Tests: force the SIGCHLD fallback for processes spawned from now on
/// (Linux); returns the previous setting.
bool ForceSigchldFallbackForTest(bool on);
}  // namespace internal

}  // namespace gort

#endif  // GORT_GORT_PROCESS_H_
