// SPDX-License-Identifier: BSD-3-Clause
// Processes on Linux and macOS: posix_spawn, the exit source (an exit
// descriptor: a pidfd on Linux, a kqueue with EVFILT_PROC on macOS; or
// SIGCHLD through the signal layer), waitid on the one pid, and signals
// (Go: syscall/exec_unix.go, exec_linux.go, os/exec_posix.go,
// os/exec_unix.go, os/pidfd_linux.go).
//
// Why posix_spawn and not a fork of gort's own: what gort offers (stdio
// mapping, working directory, process group, session, signal mask and
// dispositions) is all expressible as spawn attributes and file actions,
// and glibc and musl already run the child the way Go's forkAndExecInChild
// does (CLONE_VM|CLONE_VFORK, signals blocked, handlers reset, only
// async-signal-safe calls, the exec's errno handed back to the parent).
// Go forks by hand because it needs things posix_spawn lacks (ptrace,
// namespaces, uid/gid mappings); gort offers none of them.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <crt_externs.h>
#endif

#include <atomic>
#include <cstdint>
#include <cstring>
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
#include "gort/netpoll.h"
#include "gort/process.h"
#include "process_internal.h"
#include "signal_internal.h"

namespace gort::internal {
namespace {

absl::Status Sys(int err, const char* context) {
  return Error::FromSys(err).ToStatus(context);
}

absl::Status Code(int code, const char* context) {
  return Error::FromCode(code).ToStatus(context);
}

char** Environ() {
#if defined(__APPLE__)
  return *_NSGetEnviron();
#else
  return environ;
#endif
}

// The SIGCHLD fallback's channel: one for the process, written by gort's
// handler on every SIGCHLD (AddSignalWake). Each waiting child registers
// a duplicate of its read end with its poller: every registration gets
// its own edge on each write, so one waiter draining it takes nothing
// from another.
// std::mutex: TSan cannot see Debian's uninstrumented absl::Mutex.
std::mutex g_chld_mu;
intptr_t g_chld_read = -1;  // guarded by g_chld_mu

absl::StatusOr<int> SigchldChannel() {
  std::lock_guard<std::mutex> lock(g_chld_mu);
  if (g_chld_read < 0) {
    absl::StatusOr<SigWake> w = SigWakeOpen();
    if (!w.ok()) return w.status();
    absl::Status s = AddSignalWake(SIGCHLD, w->write);
    if (!s.ok()) {
      SigWakeClose(*w, /*with_read=*/true);
      return s;
    }
    g_chld_read = w->read;
  }
  int fd = fcntl(static_cast<int>(g_chld_read), F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return Sys(errno, "sigchld channel: dup");
  return fd;
}

// Empties a fallback waiter's channel (non-blocking: the duplicate shares
// the original's O_NONBLOCK), so a pipe (macOS) never fills up.
//
// Not on Linux: every waiter watches the same eventfd through its own
// registration, and each write gives each registration an edge, but epoll
// reports an edge with the readiness it finds when it harvests it: a
// waiter that drained the eventfd first would leave the others an edge
// with EPOLLOUT alone (an eventfd is always writable), which wakes no
// reader, and their children's exits would be lost (seen: a waiter of
// SigchldFallback.ManyChildrenFromFourThreads hung for 120 s). Left
// undrained, the count only grows (2^64 - 2 SIGCHLDs to fill it) and
// every harvest finds it readable. macOS's pipe must be drained, so there
// the same race remains; macOS uses the fallback only when forced (its
// exit descriptor, a kqueue, is always there).
void Drain(int fd) {
#if defined(__linux__)
  (void)fd;
#else
  unsigned char buf[64];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
#endif
}

class PosixProcess final : public ProcessOs {
 public:
  PosixProcess(Poller& poller, pid_t pid, int exitfd, int watch, PollDescId pd)
      : poller_(poller), pid_(pid), exitfd_(exitfd), watch_(watch), pd_(pd) {}

  ~PosixProcess() override {
    (void)poller_.Unregister(pd_);
    (void)close(watch_);  // the exit descriptor, or the SIGCHLD duplicate
  }

  absl::Status Wait(uintptr_t token, ExitStatus* st, bool* parked) override {
    // A continued call checks for a close or deadline without forgetting
    // readiness (Poller::Check); a new one starts afresh (Prepare).
    absl::Status s = continuing_.exchange(false, std::memory_order_acq_rel)
                         ? poller_.Check(pd_, PollMode::kRead)
                         : poller_.Prepare(pd_, PollMode::kRead);
    if (!s.ok()) return s;
    for (;;) {
      if (exitfd_ < 0) Drain(watch_);
      absl::StatusOr<bool> reaped = TryReap(st);
      if (!reaped.ok()) return reaped.status();
      if (*reaped) {
        *parked = false;
        return absl::OkStatus();
      }
      continuing_.store(true, std::memory_order_release);
      *parked = true;
      absl::StatusOr<WaitResult> w = poller_.Wait(pd_, PollMode::kRead, token);
      if (w.ok() && *w == WaitResult::kParked) return absl::OkStatus();
      // Not published: this call still owns everything.
      continuing_.store(false, std::memory_order_release);
      *parked = false;
      if (!w.ok()) return w.status();
    }
  }

  absl::Status Signal(int sig) override {
    if (sig < 0 || sig > 64) return Code(GORT_EINVAL, "process signal");
    std::lock_guard<std::mutex> lock(mu_);
    if (reaped_) return Code(GORT_ESRCH, "process signal: finished");
    if (exitfd_ >= 0) return ExitFdSignal(exitfd_, pid_, sig);
    // Not reaped, so the pid is still this child's (a zombie at worst).
    if (kill(pid_, sig) != 0) return Sys(errno, "kill");
    return absl::OkStatus();
  }

  absl::Status SetDeadline(int64_t d) override {
    return poller_.SetDeadline(pd_, d, PollMode::kRead);
  }

  int64_t Pid() const override { return pid_; }

  ExitSource source() const override {
    return exitfd_ >= 0 ? ExitFdSource() : ExitSource::kSigchld;
  }

 private:
  // waitid on this pid only, never wait(-1), under mu_ so that Signal()
  // never sends to a pid reaped (and perhaps reused) meanwhile.
  absl::StatusOr<bool> TryReap(ExitStatus* st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reaped_) return Code(GORT_ECHILD, "waitid: reaped already");
    siginfo_t si;
    std::memset(&si, 0, sizeof(si));
    int rc;
    do {
      rc = waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return Sys(errno, "waitid");
    if (si.si_pid == 0) return false;  // still running
    reaped_ = true;
    *st = ExitStatus{};
    if (si.si_code == CLD_EXITED) {
      st->exited = true;
      st->code = si.si_status;
    } else {  // CLD_KILLED, CLD_DUMPED
      st->exited = false;
      st->code = -1;
      st->signal = si.si_status;
    }
    return true;
  }

  Poller& poller_;
  const pid_t pid_;
  const int exitfd_;  // -1 with the SIGCHLD fallback
  const int watch_;   // what the poller watches: exitfd_ or a duplicate
  const PollDescId pd_;
  std::atomic<bool> continuing_{false};
  // std::mutex, not absl::Mutex: Debian's Abseil is not built with TSan,
  // and a per-object absl::Mutex's destructor (deadlock-graph removal)
  // then shows as a race (src/timer.cc says the same).
  std::mutex mu_;
  bool reaped_ = false;  // guarded by mu_
};

// Descriptors this spawn opened in the parent, closed on every return.
struct Closer {
  std::vector<int> fds;
  ~Closer() {
    for (int fd : fds) (void)close(fd);
  }
};

struct SpawnAttrs {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  bool fa_ok = false;
  bool attr_ok = false;
  ~SpawnAttrs() {
    if (fa_ok) posix_spawn_file_actions_destroy(&fa);
    if (attr_ok) posix_spawnattr_destroy(&attr);
  }
};

// Closes every descriptor above 2 in the child: glibc (2.34+) with
// posix_spawn_file_actions_addclosefrom_np (close_range underneath), macOS
// with POSIX_SPAWN_CLOEXEC_DEFAULT; elsewhere (musl) with a close action
// for each descriptor open now without close-on-exec (those with it close
// at the exec anyway). A descriptor opened by another thread meanwhile
// without close-on-exec can still slip through there.
int CloseOthers(posix_spawn_file_actions_t* fa, short* flags) {
#if defined(__APPLE__)
  (void)fa;
  *flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
  return 0;
#elif defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  (void)flags;
  return posix_spawn_file_actions_addclosefrom_np(fa, 3);
#else
  (void)flags;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;  // no /proc: close-on-exec is all there is
  int own = dirfd(d);
  int rc = 0;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = atoi(e->d_name);
    if (fd <= 2 || fd == own) continue;
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC) == 0) {
      rc = posix_spawn_file_actions_addclose(fa, fd);
      if (rc != 0) break;
    }
  }
  closedir(d);
  return rc;
#endif
}

std::string_view KeyOf(std::string_view kv) {
  size_t eq = kv.find('=', kv.empty() || kv[0] != '=' ? 0 : 1);
  return kv.substr(0, eq);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessOs>> SpawnOs(Poller& poller,
                                                   const SpawnOptions& opts) {
  if (opts.path.find('\0') != std::string::npos ||
      opts.dir.find('\0') != std::string::npos) {
    return Code(GORT_EINVAL, "spawn: NUL in path");
  }
  // argv and envp as C arrays (Go's BytePtrFromString: EINVAL on NUL).
  std::vector<char*> argv;
  std::string path0 = opts.path;
  if (opts.argv.empty()) {
    argv.push_back(path0.data());
  } else {
    for (const std::string& a : opts.argv) {
      if (a.find('\0') != std::string::npos) {
        return Code(GORT_EINVAL, "spawn: NUL in argv");
      }
      argv.push_back(const_cast<char*>(a.c_str()));
    }
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& kv : opts.env) {
    if (kv.find('\0') != std::string::npos) {
      return Code(GORT_EINVAL, "spawn: NUL in env");
    }
  }
  if (opts.inherit_env) {
    for (char** e = Environ(); e != nullptr && *e != nullptr; e++) {
      std::string_view key = KeyOf(*e);
      bool overridden = false;
      for (const std::string& kv : opts.env) {
        if (KeyOf(kv) == key) overridden = true;
      }
      if (!overridden) envp.push_back(*e);
    }
  }
  for (const std::string& kv : opts.env) {
    envp.push_back(const_cast<char*>(kv.c_str()));
  }
  envp.push_back(nullptr);

  // The child's 0, 1 and 2: each source first copied above 2,
  // close-on-exec, so the dup2s cannot clobber one another (Go's
  // forkAndExecInChild moves fds out of the way the same way) and the
  // copies never reach the child.
  Closer closer;
  int src[3];
  for (int i = 0; i < 3; i++) {
    int fd;
    if (opts.stdio[i] == kStdioNull) {
      fd = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
      if (fd < 0) return Sys(errno, "spawn: /dev/null");
    } else {
      if (opts.stdio[i] < 0 || opts.stdio[i] > INT32_MAX) {
        return Code(GORT_EBADF, "spawn: stdio");
      }
      fd = fcntl(static_cast<int>(opts.stdio[i]), F_DUPFD_CLOEXEC, 3);
      if (fd < 0) return Sys(errno, "spawn: stdio");
    }
    closer.fds.push_back(fd);
    src[i] = fd;
  }

  SpawnAttrs a;
  int rc = posix_spawn_file_actions_init(&a.fa);
  if (rc != 0) return Sys(rc, "posix_spawn_file_actions_init");
  a.fa_ok = true;
  rc = posix_spawnattr_init(&a.attr);
  if (rc != 0) return Sys(rc, "posix_spawnattr_init");
  a.attr_ok = true;
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  for (int i = 0; i < 3 && rc == 0; i++) {
    rc = posix_spawn_file_actions_adddup2(&a.fa, src[i], i);
  }
  // Nothing but 0, 1 and 2 reaches the child, not even the embedder's
  // descriptors without close-on-exec (gort's own all have it). Go leaves
  // those to the caller; gort closes them, as Python's close_fds does.
  if (rc == 0) rc = CloseOthers(&a.fa, &flags);
  if (rc == 0 && !opts.dir.empty()) {
    rc = posix_spawn_file_actions_addchdir_np(&a.fa, opts.dir.c_str());
  }
  if (rc != 0) return Sys(rc, "posix_spawn_file_actions");

  // An empty mask, and every signal the parent catches back to SIG_DFL
  // (the exec does that too; glibc resets them before running anything in
  // the child). Ignored signals stay ignored, as across any exec.
  sigset_t none, def;
  sigemptyset(&none);
  sigemptyset(&def);
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction sa;
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_IGN) {
      sigaddset(&def, sig);
    }
  }
  rc = posix_spawnattr_setsigmask(&a.attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&a.attr, &def);
  if (rc == 0 && opts.new_session) {
#if defined(POSIX_SPAWN_SETSID)
    flags |= POSIX_SPAWN_SETSID;
#else
    return Code(GORT_ENOTSUP, "spawn: new session");
#endif
  } else if (rc == 0 && opts.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    rc = posix_spawnattr_setpgroup(&a.attr, 0);
  }
  if (rc == 0) rc = posix_spawnattr_setflags(&a.attr, flags);
  if (rc != 0) return Sys(rc, "posix_spawnattr");

  // The exit source. The SIGCHLD channel exists (and the handler is in)
  // before the child does; an exit descriptor is opened after the spawn,
  // when the pid cannot have been reused: only this process can reap it.
  bool use_exitfd = ExitFdAvailable() && !SigchldFallbackForced();
  int watch = -1;
  if (!use_exitfd) {
    absl::StatusOr<int> ch = SigchldChannel();
    if (!ch.ok()) return ch.status();
    watch = *ch;
  }

  pid_t pid = -1;
  rc = posix_spawn(&pid, opts.path.c_str(), &a.fa, &a.attr, argv.data(),
                   envp.data());
  if (rc != 0) {
    if (watch >= 0) (void)close(watch);
    return Sys(rc, "posix_spawn");
  }
  int exitfd = -1;
  if (use_exitfd) {
    absl::StatusOr<int> fd = ExitFdOpen(pid);
    if (fd.ok()) {
      exitfd = *fd;
      watch = exitfd;
    } else {
      // A seccomp filter, say: the fallback (its handler goes in now; a
      // SIGCHLD before that is caught by the first waitid).
      absl::StatusOr<int> ch = SigchldChannel();
      if (!ch.ok()) {
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, nullptr, 0);
        return ch.status();
      }
      watch = *ch;
    }
  }
  absl::StatusOr<PollDescId> pd = poller.Register(watch);
  if (!pd.ok()) {
    (void)close(watch);
    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, nullptr, 0);
    return pd.status();
  }
  std::unique_ptr<ProcessOs> p(
      new (std::nothrow) PosixProcess(poller, pid, exitfd, watch, *pd));
  if (p == nullptr) {
    (void)poller.Unregister(*pd);
    (void)close(watch);
    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, nullptr, 0);
    return Code(GORT_ENOMEM, "spawn");
  }
  return p;
}

}  // namespace gort::internal
