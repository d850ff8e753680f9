// SPDX-License-Identifier: BSD-3-Clause
// Go: internal/poll/fd_unix.go, fd_poll_runtime.go, sock_cloexec.go,
// sys_cloexec.go and net/fd_unix.go (connect). The FD layer on Linux and
// macOS: readiness + EAGAIN over the netpoller (include/gort/fd.h).
//
// Each operation call: FdMutex::Begin() (the token names the operation;
// kContinued when it comes back after a park), then, for a new operation
// only, Poller::Prepare(): on a continued one Prepare would forget a
// readiness edge that arrived after the token was handed out, and the
// operation could wait forever; it gets Poller::Check() instead (Go's
// netpollcheckerr after a wake). Then the system call loop: EINTR retries,
// EAGAIN asks Poller::Wait(): kReady retries, kParked returns kParked
// (FdMutex::End(dir, false): the slot stays the token's), an error ends
// the operation.
//
// State an operation keeps across parked calls (Write's count so far; a
// continued Connect knows it is in progress) lives in the Impl per
// direction and is touched only by the call that holds the direction's
// slot, and only before that call's Wait() publishes the token: from then
// on another thread may be continuing the operation, with the same
// IoResult, so the parked call writes neither (see Park()).
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fd_internal.h"
#include "fd_mutex.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/fd.h"
#include "gort/netpoll.h"
#include "netpoll_internal.h"
#include "polldesc.h"
#include "posix/fd_syscall_posix.h"

namespace gort {
namespace {

using internal::CheckIoArgs;
using internal::CheckSockAddr;
using internal::FdError;
using internal::FdMutex;
using internal::FdMutexError;
using internal::IoArgsOk;
using internal::IoCode;
using internal::IoWhere;

absl::Status SysErr(int err, const char* context) {
  return Error::FromSys(err).ToStatus(context);
}

// Go's syscall.SetNonblock and CloseOnExec: O_NONBLOCK and FD_CLOEXEC on a
// descriptor made elsewhere. 0 or errno.
int SetNonblockCloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return errno;
  if ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    return errno;
  }
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0) return errno;
  if ((fdfl & FD_CLOEXEC) == 0 && fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) {
    return errno;
  }
  return 0;
}

// A write to a stream whose reader went away raises SIGPIPE, which kills a
// process that did not ask for it (Go's runtime catches it and ignores it
// for descriptors other than 1 and 2). Sockets avoid it per call (Linux:
// MSG_NOSIGNAL) or per socket (macOS: SO_NOSIGPIPE, set in Socket, Accept
// and Open); pipes per descriptor on macOS (F_SETNOSIGPIPE) and nowhere on
// Linux, which gets WritePipe() below.
void NoSigpipe(int fd, FdKind kind) {
#ifdef __APPLE__
  if (kind != FdKind::kPipe) {
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
  }
#ifdef F_SETNOSIGPIPE
  if (kind == FdKind::kPipe) (void)fcntl(fd, F_SETNOSIGPIPE, 1);
#endif
#else
  (void)fd;
  (void)kind;
#endif
}

#ifdef __linux__
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;  // SO_NOSIGPIPE is set on the socket
#endif

// write(2) to a pipe without SIGPIPE where the descriptor cannot be told
// not to raise it (Linux): SIGPIPE is blocked in this thread around the
// call, and the one the call raised (thread-directed, so pending here) is
// taken with sigwait() before the old mask comes back. A SIGPIPE that was
// already pending before the call is left alone. Costs three system calls
// more than a plain write; only pipes pay it.
ssize_t WritePipe(int fd, const void* p, size_t n) {
#if defined(__APPLE__) && defined(F_SETNOSIGPIPE)
  return write(fd, p, n);
#else
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigemptyset(&pending);
  (void)sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  (void)pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t k = write(fd, p, n);
  int err = errno;
  if (k < 0 && err == EPIPE && !was_pending) {
    sigemptyset(&pending);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      int sig = 0;
      (void)sigwait(&pipe_set, &sig);
    }
  }
  (void)pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return k;
#endif
}

}  // namespace

class Fd::Impl {
 public:
  Impl(Poller& poller, int sysfd, FdKind kind, PollDescId pd,
       internal::PollDesc* desc)
      : sysfd_(sysfd),
        kind_(kind),
        write_fd_(kind == FdKind::kPipe ? -1 : sysfd),
        poller_(poller),
        pd_(pd),
        desc_(desc) {}

  // Registers `sysfd` (already non-blocking and close-on-exec) and wraps
  // it. On failure `sysfd` is left open.
  static absl::StatusOr<std::unique_ptr<Fd>> Wrap(Poller& poller, int sysfd,
                                                  FdKind kind);

  // Fd::ReadCode(), WriteCode() and WaitReadCode(): 0 or an IoCode().
  int Read(void* buf, size_t n, uintptr_t token, IoResult* r);
  int Write(const void* buf, size_t n, uintptr_t token, IoResult* r);
  int WaitRead(uintptr_t token, IoResult* r);
  // Fd::TryReadCode() and TryWriteCode(), as Read() and Write() without
  // a token: their inline parts, then the out-of-line rest.
  int TryRead(void* buf, size_t n, IoResult* r);
  int TryWrite(const void* buf, size_t n, IoResult* r);
  GORT_NOINLINE int TryReadAll(void* buf, size_t n, IoResult* r);
  GORT_NOINLINE int TryReadRest(void* buf, size_t n, int first, IoResult* r);
  template <typename Again>
  int ReadLoop(void* buf, size_t n, int first, IoResult* r, Again again);
  template <typename Again>
  int WriteLoop(const void* buf, size_t n, size_t done, ssize_t first_put,
                int first_err, IoResult* r, Again again);
  GORT_NOINLINE int TryWriteAll(const void* buf, size_t n, IoResult* r);
  // `put`: what the inline send() returned (-errno on failure), or kNoSend.
  GORT_NOINLINE int TryWriteRest(const void* buf, size_t n, ssize_t put,
                                 IoResult* r);
  // TryStart(), or why not: 0, or -GORT_ECANCELED / -GORT_EBUSY as
  // Begin() (a try has no token, so it never continues an operation).
  int TryBegin(int dir);
  // Read's and Write's every case but the common one (see Read()), from
  // where the inline part left off, with the call's fdMutex slot taken
  // over (`started`: claimed by this call, maybe unnamed): `first` is 0
  // when nothing was done after Begin(), a GORT_E* code (negative) when
  // Ready() failed, or the errno (positive) of a first system call that
  // failed. Write's `first_put` is what the inline send() returned, or
  // kNoSend when there was none. *r need not be set.
  static constexpr ssize_t kNoSend = std::numeric_limits<ssize_t>::min();
  // Read's cases the inline part does not start (see Read()): the whole
  // call, from the argument check.
  GORT_NOINLINE int ReadAll(void* buf, size_t n, uintptr_t token, IoResult* r);
  GORT_NOINLINE int WriteAll(const void* buf, size_t n, uintptr_t token,
                             IoResult* r);
  // The inline parts' way out once their slot is claimed (started, not
  // named yet): ReadSlow() and WriteSlow() with their other arguments
  // fixed, so that the inline parts pass few. WriteRest() finds the token
  // and IoResult in write_token_ and write_r_.
  // (ReadRest's arguments are in the order that keeps them where the
  // inline part has them: r and token in registers read() leaves alone.)
  GORT_NOINLINE int ReadRest(void* buf, size_t n, int first, IoResult* r,
                             uintptr_t token);
  GORT_NOINLINE int WriteRest(const void* buf, size_t n, ssize_t put);
  [[gnu::always_inline]] int ReadSlow(void* buf, size_t n, uintptr_t token,
                                      IoResult* r, bool started, int first);
  [[gnu::always_inline]] int WriteSlow(const void* buf, size_t n,
                                       uintptr_t token, IoResult* r,
                                       bool started, int first,
                                       ssize_t first_put);
  absl::Status Accept(uintptr_t token, IoResult* r, std::unique_ptr<Fd>* out,
                      SockAddr* peer);
  absl::Status Connect(const SockAddr& addr, uintptr_t token, IoResult* r);
  absl::Status ReadFrom(void* buf, size_t n, SockAddr* from, uintptr_t token,
                        IoResult* r);
  absl::Status WriteTo(const void* buf, size_t n, const SockAddr& to,
                       uintptr_t token, IoResult* r);
  absl::Status Shutdown(PollMode how);
  absl::Status SetDeadline(int64_t d, PollMode mode);
  absl::Status Bind(const SockAddr& addr);
  absl::Status Listen(int backlog);
  absl::StatusOr<SockAddr> LocalAddr();
  absl::Status SetSockOptInt(int level, int name, int value);
  absl::Status Close();

  // Unregisters and closes the descriptor: run once, by whoever dropped the
  // last reference of a closed Fd (Go's FD.destroy). 0 or close()'s errno;
  // never throws (it runs in destructors).
  int Destroy();
  // Destroy(), then `rc`: a tail call for an inline path, which then
  // keeps nothing across it.
  GORT_NOINLINE int DestroyThen(int rc) {
    (void)Destroy();
    return rc;
  }

  bool destroyed() const { return destroyed_.load(std::memory_order_acquire); }
  int sysfd() const { return sysfd_.load(std::memory_order_acquire); }
  FdKind kind() const { return kind_.load(std::memory_order_relaxed); }
  PollDescId pd() const { return pd_; }

 private:
  // Begins a call of operation `token` in direction `mode` (the fdMutex
  // slot); *started tells a new operation from a continued one. 0, or
  // FdMutex::Begin()'s code for FdMutexError(). These helpers return codes,
  // not statuses: the caller makes a status only on failure, so the
  // success path of every Read and Write carries none (#16).
  int Begin(PollMode mode, uintptr_t token, bool* started);
  // Then checks the pollDesc: Prepare() for a new operation, Check() for a
  // continued one. 0 or a GORT_E* code (context "netpoll prepare").
  int Ready(PollMode mode, bool started);
  bool ReadyFast(PollMode mode);
  bool WriteReadyFast();
  // `p`, hidden from the optimiser: a member reached through it after a
  // system call or a call is addressed from `p` there, instead of from a
  // copy of its address kept in a callee-saved register (one push and pop
  // fewer on the inline paths); or a pointer already loaded is used as it
  // is, not recomputed into another register.
  template <typename T>
  [[gnu::always_inline]] static T* Opaque(T* p) {
    asm("" : "+r"(p));
    return p;
  }
  // One call of an operation, from its Begin(): ends the call when it
  // returns or throws (an error status may allocate), finishing the
  // operation unless Park() was called. The last reference of a closed Fd
  // destroys it here. The direction is a template argument, so the call
  // keeps no more than the Fd and one flag (in registers on the fast path).
  template <PollMode kMode>
  class Call {
   public:
    explicit Call(Impl* fd) : fd_(fd) {}
    ~Call() {
      if (fd_->fdmu_.End(internal::Slot(kMode), !parked_)) {
        (void)fd_->Destroy();
      }
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    // The operation parked: its slot stays the token's.
    void Park() { parked_ = true; }

   private:
    Impl* const fd_;
    bool parked_ = false;
  };

  // A reference for a call that holds no slot (Go's incref / decref):
  // false once the Fd is closed.
  class Ref {
   public:
    explicit Ref(Impl* fd) : fd_(fd), held_(fd->fdmu_.Incref()) {}
    ~Ref() {
      if (held_ && fd_->fdmu_.Decref()) (void)fd_->Destroy();
    }
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    explicit operator bool() const { return held_; }

   private:
    Impl* const fd_;
    const bool held_;
  };

  // After EAGAIN: Poller::Wait(). kBlockParked: the token is parked and the
  // call must return at once, touching neither *r nor the operation's
  // state (another thread may be continuing it already); kBlockReady: the
  // direction was ready, try again; else a GORT_E* code (context "netpoll
  // wait"). *r says kParked before the token is published, so the parked
  // call never writes it afterwards.
  template <PollMode kMode>
  int Park(uintptr_t token, IoResult* r, Call<kMode>* call);

  // First: its state word is then at the Impl's own address, which the
  // inline paths keep anyway (one register fewer for the compiler).
  FdMutex fdmu_;
  std::atomic<int> sysfd_;
  std::atomic<FdKind> kind_;
  // sysfd_ for Write's inline part, -1 for a pipe (which must take
  // WritePipe): a pipe stays one, and the inline part uses it only with
  // the write slot held, so before Destroy().
  const int write_fd_;
  Poller& poller_;
  const PollDescId pd_;
  // pd_'s pollDesc, valid while a call holds the fdMutex (Destroy
  // unregisters it only after the last one): the read/write paths check,
  // reset and block on it directly (PollerAccess::DescOf).
  internal::PollDesc* const desc_;
  std::atomic<bool> destroyed_{false};

  // The write direction's operation state (see the file comment).
  size_t written_ = 0;  // Write: bytes written by earlier calls
  // Write's inline part, for WriteRest(): its token and IoResult, kept
  // here across the system call rather than in registers the call would
  // have to save (the send() leaves one free). Only the slot's holder
  // touches them, as written_.
  uintptr_t write_token_ = 0;
  IoResult* write_r_ = nullptr;
};

absl::StatusOr<std::unique_ptr<Fd>> Fd::Impl::Wrap(Poller& poller, int sysfd,
                                                   FdKind kind) {
  absl::StatusOr<PollDescId> pd = poller.Register(sysfd);
  if (!pd.ok()) return pd.status();
  internal::PollDesc* desc = internal::PollerAccess::DescOf(poller, *pd);
  std::unique_ptr<Impl> impl;
  if (desc != nullptr) {
    impl.reset(new (std::nothrow) Impl(poller, sysfd, kind, *pd, desc));
  }
  std::unique_ptr<Fd> fd;
  if (impl != nullptr) fd.reset(new (std::nothrow) Fd(std::move(impl)));
  if (fd == nullptr) {
    (void)poller.Unregister(*pd);
    return FdError(GORT_ENOMEM, "fd open");
  }
  return fd;
}

inline int Fd::Impl::Begin(PollMode mode, uintptr_t token, bool* started) {
  FdMutex::Op op;
  int rc = fdmu_.Begin(internal::Slot(mode), token, &op);
  if (rc == 0) *started = op == FdMutex::Op::kStarted;
  return rc;
}

// True if any of `v` is a null pointer, a token <= 2 (0, 1 and 2 are
// not tokens: Poller::Wait()'s rule), or negative (an int): one test of
// the sign of (each - 1, token - 3) or'ed together, for the inline parts.
// It also refuses what no caller passes (pointers and tokens from 2^63
// up): those take the general path, which decides.
[[gnu::always_inline]] inline uintptr_t SignBits(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - 1;
}
[[gnu::always_inline]] inline uintptr_t SignBits(uintptr_t token) {
  return token - 3;
}
[[gnu::always_inline]] inline uintptr_t SignBits(int v) {
  return static_cast<uintptr_t>(static_cast<intptr_t>(v));
}
template <typename... T>
[[gnu::always_inline]] inline bool SignOfAny(T... v) {
  return static_cast<intptr_t>((SignBits(v) | ...)) < 0;
}

// Poller::Prepare() for a new operation, Poller::Check() for a continued
// one, on the pinned pollDesc (no handle lookup: see desc_).
inline int Fd::Impl::Ready(PollMode mode, bool started) {
  int code = desc_->CheckErr(mode);
  if (code == 0 && started) code = desc_->Reset(mode);
  return code;
}

// Ready(mode, true)'s common cases, for Read's inline part: true when the
// direction reports no error and no waiter is parked on it, with a
// readiness notification forgotten (Go's prepareRead: pollReset). False,
// with at most the notification forgotten, otherwise: then Ready()
// decides (a second Reset finds nil). (Write's: WriteReadyFast.)
//
// The usual case, no error and nil, is one test of both words (the info
// word read first, as CheckErr reads it); anything else looks again, from
// the start: nothing was decided yet, and later values are as good.
inline bool Fd::Impl::ReadyFast(PollMode mode) {
  internal::PollDesc* const pd = desc_;  // once: not reloaded after CheckErr
  constexpr uint32_t kReported = internal::kInfoClosing |
                                 internal::kInfoExpiredRead |
                                 internal::kInfoEventErr;
  static_assert(internal::kPdNil == 0);
  std::atomic<uintptr_t>& g = pd->g(mode);
  uintptr_t usual = pd->info.load(std::memory_order_seq_cst) & kReported;
  usual |= g.load(std::memory_order_acquire);
  if (usual == 0) [[likely]] {
    return true;
  }
  if (pd->CheckErr(mode) != 0) return false;
  uintptr_t old = g.load(std::memory_order_acquire);
  return old == internal::kPdNil ||
         (old == internal::kPdReady &&
          g.compare_exchange_strong(old, internal::kPdNil,
                                    std::memory_order_acq_rel));
}

// Write's inline part's Ready(kWrite, true). Go's prepareWrite checks the
// direction's errors and forgets a readiness notification (pollReset);
// this checks the errors and a parked waiter (EBUSY: Ready() reports it)
// the same, but leaves a notification in place. Forgetting it matters
// only to a write that then meets EAGAIN and parks: there Block() takes
// the stale notification as readiness, and the write tries once more,
// meets EAGAIN again and parks for good -- the same result, for one
// send() more. Every other write (nearly all: the first send() takes
// every byte) saves the reset's CAS, and so does Poll(), which finds the
// direction still ready on the next event that reports it writable (epoll
// does on every edge of an edge-triggered socket).
inline bool Fd::Impl::WriteReadyFast() {
  internal::PollDesc* const pd = desc_;
  return pd->CheckErr(PollMode::kWrite) == 0 &&
         pd->wg.load(std::memory_order_acquire) <= internal::kPdReady;
}

// Poller::Wait() on the pinned pollDesc; the token was checked on entry.
// Always inlined, so `call` stays in registers rather than escaping.
template <PollMode kMode>
[[gnu::always_inline]] inline int Fd::Impl::Park(uintptr_t token, IoResult* r,
                                                 Call<kMode>* call) {
  r->state = IoState::kParked;
  int code = desc_->CheckErr(kMode);
  if (code == 0) code = desc_->Block(kMode, token);
  if (code == internal::kBlockParked) {
    call->Park();
    return code;
  }
  r->state = IoState::kDone;
  return code;
}

int Fd::Impl::Destroy() {
  int fd = sysfd_.exchange(-1, std::memory_order_acq_rel);
  try {
    (void)poller_.Unregister(pd_);  // fails only for a stale pollDesc
  } catch (...) {                   // its error status could not be made
  }
  // Once, whatever close() says: on Linux the descriptor is released even
  // when close() fails with EINTR (the kernel frees it before flushing), so
  // a retry could close a descriptor another thread has been handed since.
  // Go does not retry either. (macOS: the same with close's EINTR.)
  int err = close(fd) == 0 ? 0 : errno;
  destroyed_.store(true, std::memory_order_release);
  return err;
}

// Go's FD.Read. Read, Write and WaitRead (and the Begin and Ready they
// use) are inline: each has one caller, the Fd method (ReadCode and so
// on, which fd.h's Read wraps), and an echo round trip runs all three, so
// a call layer less is worth keeping. They return a code, not a status
// (fd.h: Fd::CodeStatus makes one for an error), so the common case has
// no result in memory and keeps no return slot's address.
//
// The common case -- usable arguments, a new operation on an open Fd, a
// read of 1 byte .. kMaxRW, nothing pending on the pollDesc, and read()
// returns at once -- is written out on its own, so that little is live
// across the system call and every test is one compare; every other case
// goes on out of line: ReadAll() from the start (odd arguments, a
// zero-byte or huge read, a continued operation, a closed or busy
// fdMutex), ReadSlow() once the slot is ours (an error or readiness on the
// pollDesc, EAGAIN and parking, EINTR, errors). (#16: a third of Read's
// instructions were register saves and stack spills for the general loop.)
// The slot is claimed unnamed (FdMutex::TryStart): a read that ends here
// never stores its token; ReadSlow() names it before it can park.
[[gnu::always_inline]] inline int Fd::Impl::Read(void* buf, size_t n,
                                                 uintptr_t token, IoResult* r) {
  // n - 1 >= kMaxRW: a zero-byte read or one to clamp (ReadAll sorts out
  // which). SignOfAny: r and buf not null, token > 2 (ReadAll's tests).
  if (SignOfAny(r, buf, token) || n - 1 >= internal::kMaxRW ||
      !fdmu_.TryStart(FdMutex::kRead)) [[unlikely]] {
    return ReadAll(buf, n, token, r);
  }
  if (!ReadyFast(PollMode::kRead)) [[unlikely]] {
    return ReadRest(buf, n, 0, r, token);
  }
  ssize_t got = internal::FastRead(sysfd(), buf, n);
  if (got < 0) [[unlikely]] {
    return ReadRest(buf, n, static_cast<int>(-got), r, token);
  }
  r->state = IoState::kDone;
  r->n = static_cast<size_t>(got);
  if (fdmu_.Finish(FdMutex::kRead)) [[unlikely]] {
    (void)Destroy();
  }
  return 0;
}

int Fd::Impl::ReadAll(void* buf, size_t n, uintptr_t token, IoResult* r) {
  if (!IoArgsOk(buf, n, token, r)) {
    if (r != nullptr) *r = IoResult{};  // fd.h: both fields on every return
    return IoCode(GORT_EINVAL, IoWhere::kRead);
  }
  *r = IoResult{};
  bool started = false;
  if (int rc = Begin(PollMode::kRead, token, &started); rc != 0) {
    return IoCode(-rc, IoWhere::kRead);
  }
  return ReadSlow(buf, n, token, r, started, 0);
}

int Fd::Impl::ReadRest(void* buf, size_t n, int first, IoResult* r,
                       uintptr_t token) {
  return ReadSlow(buf, n, token, r, true, first);
}

inline int Fd::Impl::ReadSlow(void* buf, size_t n, uintptr_t token, IoResult* r,
                              bool started, int first) {
  // A slot TryStart() claimed is named now, before the read can park
  // (Begin()'s already is: the same token again).
  if (started) fdmu_.Name(FdMutex::kRead, token);
  Call<PollMode::kRead> call(this);
  *r = IoResult{};  // the inline part left it as it came
  if (first == 0) {
    if (n == 0) {  // Go: a zero-byte read returns at once, without the poller
      return 0;
    }
    first = Ready(PollMode::kRead, started);
  }
  if (first < 0) return IoCode(first, IoWhere::kNetpollPrepare);
  return ReadLoop(buf, n, first, r, [&](int* result) {
    int code = Park(token, r, &call);
    if (code == internal::kBlockReady) return true;  // read again
    *result = code == internal::kBlockParked
                  ? 0
                  : IoCode(code, IoWhere::kNetpollWait);
    return false;
  });
}

// Fd::TryRead(): Read()'s first attempt without a token, never parking
// (Go: the first syscall of FD.Read's loop, before pd.waitRead). The same
// inline part as Read()'s; EAGAIN ends it with kWouldBlock and the slot
// released, so the caller's Read() that follows is a new operation: its
// Prepare and read() again see anything that arrived in between (the
// edge of an edge-triggered poller is not lost: the data is there).
[[gnu::always_inline]] inline int Fd::Impl::TryRead(void* buf, size_t n,
                                                    IoResult* r) {
  if (SignOfAny(r, buf) || n - 1 >= internal::kMaxRW ||
      !fdmu_.TryStart(FdMutex::kRead)) [[unlikely]] {
    return TryReadAll(buf, n, r);
  }
  if (!ReadyFast(PollMode::kRead)) [[unlikely]] {
    return TryReadRest(buf, n, 0, r);
  }
  ssize_t got = internal::FastRead(sysfd(), buf, n);
  if (got < 0) [[unlikely]] {
    return TryReadRest(buf, n, static_cast<int>(-got), r);
  }
  r->state = IoState::kDone;
  r->n = static_cast<size_t>(got);
  if (fdmu_.Finish(FdMutex::kRead)) [[unlikely]] {
    (void)Destroy();
  }
  return 0;
}

int Fd::Impl::TryBegin(int dir) {
  for (;;) {
    if (fdmu_.TryStart(dir)) return 0;
    // Lost a race, or closed, or held: look again (a race means progress
    // elsewhere, so this ends).
    if (fdmu_.closed()) return -GORT_ECANCELED;
    if (fdmu_.held(dir)) return -GORT_EBUSY;
  }
}

int Fd::Impl::TryReadAll(void* buf, size_t n, IoResult* r) {
  if (!IoArgsOk(buf, n, 3, r)) {
    if (r != nullptr) *r = IoResult{};  // fd.h: both fields on every return
    return IoCode(GORT_EINVAL, IoWhere::kRead);
  }
  *r = IoResult{};
  if (int rc = TryBegin(FdMutex::kRead); rc != 0) {
    return IoCode(-rc, IoWhere::kRead);
  }
  return TryReadRest(buf, n, -1, r);
}

// From a claimed (unnamed) slot: `first` as ReadSlow()'s, or -1 when
// TryReadAll() has checked nothing yet.
int Fd::Impl::TryReadRest(void* buf, size_t n, int first, IoResult* r) {
  Call<PollMode::kRead> call(this);  // never parks: ends the slot
  *r = IoResult{};
  if (first <= 0) {
    if (first < 0 && n == 0) return 0;  // Go: at once, without the poller
    first = Ready(PollMode::kRead, true);
    if (first < 0) return IoCode(first, IoWhere::kNetpollPrepare);
  }
  return ReadLoop(buf, n, first, r, [r](int* result) {
    r->state = IoState::kWouldBlock;
    *result = 0;
    return false;
  });
}

// Go's FD.Read loop past its first attempt: read() (first == 0) or take
// the inline part's error (first > 0); EINTR reads again; on EAGAIN,
// `again(&result)` says whether to read again, or sets the result to end
// with (ReadSlow() parks, TryReadRest() would block).
template <typename Again>
int Fd::Impl::ReadLoop(void* buf, size_t n, int first, IoResult* r,
                       Again again) {
  if (kind() == FdKind::kStream && n > internal::kMaxRW) n = internal::kMaxRW;
  for (;;) {
    int err = first;
    first = 0;
    if (err == 0) {
      ssize_t got = read(sysfd(), buf, n);
      if (got >= 0) {
        r->n = static_cast<size_t>(got);
        return 0;
      }
      err = errno;
    }
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      int result;
      if (again(&result)) continue;
      return result;
    }
    return IoCode(err, IoWhere::kRead);
  }
}

// Fd::TryWrite(): Write()'s first attempt without a token. Sends until
// every byte went, the socket is full (kWouldBlock with the count sent:
// the caller's Write() goes on from there as a new operation) or an
// error; never parks.
[[gnu::always_inline]] inline int Fd::Impl::TryWrite(const void* buf, size_t n,
                                                     IoResult* r) {
  const int fd = write_fd_;  // -1 for a pipe: TryWriteAll
  if (SignOfAny(r, buf, fd) || n - 1 >= internal::kMaxRW ||
      !fdmu_.TryStart(FdMutex::kWrite)) [[unlikely]] {
    return TryWriteAll(buf, n, r);
  }
  r->state = IoState::kDone;
  r->n = n;
  if (!WriteReadyFast()) [[unlikely]] {
    return TryWriteRest(buf, n, kNoSend, r);
  }
  ssize_t put = internal::FastSend(fd, buf, n, kSendFlags);
  if (static_cast<size_t>(put) != n) [[unlikely]] {  // part, none, or -errno
    return TryWriteRest(buf, n, put, r);
  }
  if (fdmu_.Finish(FdMutex::kWrite)) [[unlikely]] {
    (void)Destroy();
  }
  return 0;
}

int Fd::Impl::TryWriteAll(const void* buf, size_t n, IoResult* r) {
  if (!IoArgsOk(buf, n, 3, r)) {
    if (r != nullptr) *r = IoResult{};  // fd.h: both fields on every return
    return IoCode(GORT_EINVAL, IoWhere::kWrite);
  }
  *r = IoResult{};
  if (int rc = TryBegin(FdMutex::kWrite); rc != 0) {
    return IoCode(-rc, IoWhere::kWrite);
  }
  return TryWriteRest(buf, n, kNoSend, r);
}

// From a claimed (unnamed) slot, as WriteSlow() without parking.
int Fd::Impl::TryWriteRest(const void* buf, size_t n, ssize_t first_put,
                           IoResult* r) {
  Call<PollMode::kWrite> call(this);  // never parks: ends the slot
  size_t done = 0;
  *r = IoResult{};
  int first = 0;
  if (first_put == kNoSend) {
    first = Ready(PollMode::kWrite, true);
    if (first < 0) return IoCode(first, IoWhere::kNetpollPrepare);
  }
  // The inline send()'s result, taken over: bytes, or -errno.
  const int first_err =
      first_put < 0 && first_put != kNoSend ? static_cast<int>(-first_put) : 0;
  if (first_err != 0) first_put = -1;
  return WriteLoop(buf, n, done, first_put, first_err, r,
                   [r](size_t, int* result) {
                     r->state = IoState::kWouldBlock;
                     *result = 0;
                     return false;
                   });
}

// Go's pd.waitRead (FD.RawRead's wait): no Prepare, so readiness that came
// in since the last read operation is consumed at once instead of reset.
// It takes no slot of the fdMutex, only a reference for the call (so the
// pollDesc cannot be unregistered under it): a parked wait is over when
// its token comes out, and a read after it finds the direction free.
inline int Fd::Impl::WaitRead(uintptr_t token, IoResult* r) {
  if (r == nullptr || token <= 2) [[unlikely]] {  // IoArgsOk's tests
    return Fd::kWaitReadBadArgs;                  // r is left alone
  }
  r->n = 0;
  // The reference is taken and dropped by hand, not by a Ref: no flag or
  // destructor is needed.
  if (!fdmu_.Incref()) [[unlikely]] {
    return IoCode(GORT_ECANCELED, IoWhere::kWaitRead);
  }
  // desc_ once (after CheckErr's seq_cst load GCC loads it again), and
  // opaque for Block, whose loop GCC otherwise gave a second register
  // (the address of pd->info) for the whole call.
  internal::PollDesc* const pd = desc_;
  int code = pd->CheckErr(PollMode::kRead);
  if (code == 0) [[likely]] {
    r->state = IoState::kParked;  // before the token can be published
    code = Opaque(pd)->Block(PollMode::kRead, token);
  }
  // r is not touched from here on (so it need not be kept across the
  // call Block makes): any result but parked is one fd.h's WaitRead()
  // marks done in *r, which is still the caller's.
  int rc = code == internal::kBlockParked  ? 0
           : code == internal::kBlockReady ? Fd::kWaitReadReady
                                           : IoCode(code, IoWhere::kWaitRead);
  Impl* const self = Opaque(this);
  if (self->fdmu_.Decref()) [[unlikely]] {
    return self->DestroyThen(rc);
  }
  return rc;
}

// Go's FD.Write: every byte, or an error with the count written before it.
// As in Read(), the common case is inline -- usable arguments, a new
// operation on an open socket, 1 byte .. kMaxRW, and a first send() that
// takes every byte -- and the rest is WriteAll() (from the start) or
// WriteSlow() (once the slot is ours).
[[gnu::always_inline]] inline int Fd::Impl::Write(const void* buf, size_t n,
                                                  uintptr_t token,
                                                  IoResult* r) {
  // As in Read(); pipes need WritePipe(): their write_fd_ is -1, which
  // joins SignOfAny's test.
  const int fd = write_fd_;
  if (SignOfAny(r, buf, token, fd) || n - 1 >= internal::kMaxRW ||
      !fdmu_.TryStart(FdMutex::kWrite)) [[unlikely]] {
    return WriteAll(buf, n, token, r);
  }
  write_token_ = token;
  write_r_ = r;
  // The result if send() takes every byte, set now so that r need not
  // outlive the call (WriteRest() sets it over otherwise).
  r->state = IoState::kDone;
  r->n = n;
  if (!WriteReadyFast()) [[unlikely]] {
    return WriteRest(buf, n, kNoSend);
  }
  ssize_t put = internal::FastSend(fd, buf, n, kSendFlags);
  if (static_cast<size_t>(put) != n) [[unlikely]] {  // part, none, or -errno
    return WriteRest(buf, n, put);
  }
  if (fdmu_.Finish(FdMutex::kWrite)) [[unlikely]] {
    (void)Destroy();
  }
  return 0;
}

int Fd::Impl::WriteAll(const void* buf, size_t n, uintptr_t token,
                       IoResult* r) {
  if (!IoArgsOk(buf, n, token, r)) {
    if (r != nullptr) *r = IoResult{};  // fd.h: both fields on every return
    return IoCode(GORT_EINVAL, IoWhere::kWrite);
  }
  *r = IoResult{};
  bool started = false;
  if (int rc = Begin(PollMode::kWrite, token, &started); rc != 0) {
    return IoCode(-rc, IoWhere::kWrite);
  }
  return WriteSlow(buf, n, token, r, started, 0, kNoSend);
}

int Fd::Impl::WriteRest(const void* buf, size_t n, ssize_t put) {
  if (put == kNoSend) {
    return WriteSlow(buf, n, write_token_, write_r_, true, 0, kNoSend);
  }
  return WriteSlow(buf, n, write_token_, write_r_, true,
                   put < 0 ? static_cast<int>(-put) : 0, put < 0 ? -1 : put);
}

inline int Fd::Impl::WriteSlow(const void* buf, size_t n, uintptr_t token,
                               IoResult* r, bool started, int first,
                               ssize_t first_put) {
  // As in ReadSlow(): name a slot TryStart() claimed before it can park.
  if (started) fdmu_.Name(FdMutex::kWrite, token);
  Call<PollMode::kWrite> call(this);
  if (started) written_ = 0;  // ours: we hold the write slot
  size_t done = written_;
  *r = IoResult{};  // the inline part left it as it came
  r->n = done;
  if (first_put == kNoSend) {
    if (first == 0) first = Ready(PollMode::kWrite, started);
    if (first < 0) return IoCode(first, IoWhere::kNetpollPrepare);
  }
  return WriteLoop(buf, n, done, first_put, first, r,
                   [&](size_t so_far, int* result) {
                     written_ = so_far;  // before Wait(): then another
                                         // thread may go on
                     int code = Park(token, r, &call);
                     if (code == internal::kBlockReady) return true;
                     *result = code == internal::kBlockParked
                                   ? 0
                                   : IoCode(code, IoWhere::kNetpollWait);
                     return false;
                   });
}

// Go's FD.Write loop: send() (or take over the inline part's result:
// first_put bytes, or -1 with first_err) until all `n` bytes went from
// `done` on; EINTR sends again; on EAGAIN, `again(done, &result)` says
// whether to send again, or sets the result to end with (WriteSlow()
// parks, TryWriteRest() would block). r->n follows the bytes written.
template <typename Again>
int Fd::Impl::WriteLoop(const void* buf, size_t n, size_t done,
                        ssize_t first_put, int first_err, IoResult* r,
                        Again again) {
  const FdKind k = kind();
  const char* p = static_cast<const char*>(buf);
  for (;;) {
    ssize_t put;
    int err;
    if (first_put != kNoSend) {
      put = first_put;
      err = first_err;
      first_put = kNoSend;
    } else {
      size_t len = n - done;
      if (k == FdKind::kStream && len > internal::kMaxRW) {
        len = internal::kMaxRW;
      }
      put = k == FdKind::kPipe ? WritePipe(sysfd(), p + done, len)
                               : send(sysfd(), p + done, len, kSendFlags);
      err = put < 0 ? errno : 0;  // errno only after a failure
    }
    if (put > 0) done += static_cast<size_t>(put);
    r->n = done;
    if (done == n && put >= 0) return 0;
    if (put < 0 && err == EINTR) continue;
    if (put < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      int result;
      if (again(done, &result)) continue;
      return result;
    }
    if (put < 0) return IoCode(err, IoWhere::kWrite);
    if (put == 0) {  // Go: io.ErrUnexpectedEOF
      return IoCode(GORT_EIO, IoWhere::kWriteNoBytes);
    }
  }
}

// Go's FD.Accept with accept(2) from sock_cloexec.go / sys_cloexec.go, and
// net's newFD + init for the connection.
absl::Status Fd::Impl::Accept(uintptr_t token, IoResult* r,
                              std::unique_ptr<Fd>* out, SockAddr* peer) {
  if (absl::Status s = CheckIoArgs(nullptr, 0, token, r, "accept"); !s.ok()) {
    return s;
  }
  if (out == nullptr) return FdError(GORT_EINVAL, "accept");
  *r = IoResult{};
  bool started = false;
  if (int rc = Begin(PollMode::kRead, token, &started); rc != 0) {
    return FdMutexError(rc, "accept");
  }
  Call<PollMode::kRead> call(this);
  if (int code = Ready(PollMode::kRead, started); code != 0) {
    return FdError(code, "netpoll prepare");
  }
  for (;;) {
    sockaddr_storage sa;
    socklen_t len = sizeof(sa);
#ifdef __linux__
    int ns = accept4(sysfd(), reinterpret_cast<sockaddr*>(&sa), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    // No accept4 on macOS: accept, then set the flags. Go holds
    // syscall.ForkLock (read side) across both so a fork in between cannot
    // hand the new descriptor to a child; gort has no fork lock the
    // embedder's forks take, so a fork+exec on another thread inside this
    // window can leak the descriptor into that child.
    int ns = accept(sysfd(), reinterpret_cast<sockaddr*>(&sa), &len);
    if (ns >= 0) {
      int err = SetNonblockCloexec(ns);
      if (err != 0) {
        (void)close(ns);
        return SysErr(err, "accept: fcntl");
      }
    }
#endif
    if (ns >= 0) {
      NoSigpipe(ns, FdKind::kStream);
      absl::StatusOr<std::unique_ptr<Fd>> fd =
          Wrap(poller_, ns, FdKind::kStream);
      if (!fd.ok()) {
        (void)close(ns);
        return fd.status();
      }
      if (peer != nullptr) {
        *peer = SockAddr{};
        peer->len = len < sizeof(peer->bytes) ? len : sizeof(peer->bytes);
        std::memcpy(peer->bytes, &sa, peer->len);
      }
      *out = std::move(*fd);
      return absl::OkStatus();
    }
    int err = errno;
    // ECONNABORTED: a connection on the queue was closed before we took
    // it; Go tries again.
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      int code = Park(token, r, &call);
      if (code == internal::kBlockParked) return absl::OkStatus();
      if (code != internal::kBlockReady) return FdError(code, "netpoll wait");
      continue;
    }
    return SysErr(err, "accept");
  }
}

// Go's netFD.connect: connect(2) once; if it is under way, wait until
// writable and read SO_ERROR (calling connect again does not reliably
// report errors, Go issue 7474). A new operation calls connect; a
// continued one (woken) reads SO_ERROR first.
absl::Status Fd::Impl::Connect(const SockAddr& addr, uintptr_t token,
                               IoResult* r) {
  if (absl::Status s = CheckIoArgs(nullptr, 0, token, r, "connect"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSockAddr(addr, "connect"); !s.ok()) return s;
  *r = IoResult{};
  bool started = false;
  if (int rc = Begin(PollMode::kWrite, token, &started); rc != 0) {
    return FdMutexError(rc, "connect");
  }
  Call<PollMode::kWrite> call(this);
  if (int code = Ready(PollMode::kWrite, started); code != 0) {
    return FdError(code, "netpoll prepare");
  }
  const int fd = sysfd();
  bool check = !started;
  if (started) {
    int rc = connect(fd, reinterpret_cast<const sockaddr*>(addr.bytes),
                     static_cast<socklen_t>(addr.len));
    int err = rc == 0 ? 0 : errno;
    if (err == 0 || err == EISCONN) {
      return absl::OkStatus();
    }
    // EINTR: the connection goes on in the background (as EINPROGRESS).
    if (err != EINPROGRESS && err != EALREADY && err != EINTR) {
      return SysErr(err, "connect");
    }
  }
  for (;;) {
    if (check) {
      int soerr = 0;
      socklen_t len = sizeof(soerr);
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
        int err = errno;
        return SysErr(err, "connect: getsockopt");
      }
      if (soerr == 0) {
        // The poller can wake a waiter spuriously (Go issues 14548, 19289):
        // connected only if there is a peer; else wait again.
        sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) {
          return absl::OkStatus();
        }
      } else if (soerr == EISCONN) {
        return absl::OkStatus();
      } else if (soerr != EINPROGRESS && soerr != EALREADY && soerr != EINTR) {
        return SysErr(soerr, "connect");
      }
    }
    check = true;
    int code = Park(token, r, &call);
    if (code == internal::kBlockParked) return absl::OkStatus();
    if (code != internal::kBlockReady) return FdError(code, "netpoll wait");
    continue;
  }
}

// Go's FD.ReadFrom (recvfrom(2)); an empty datagram is a kDone of 0 bytes.
absl::Status Fd::Impl::ReadFrom(void* buf, size_t n, SockAddr* from,
                                uintptr_t token, IoResult* r) {
  if (absl::Status s = CheckIoArgs(buf, n, token, r, "readfrom"); !s.ok()) {
    return s;
  }
  *r = IoResult{};
  bool started = false;
  if (int rc = Begin(PollMode::kRead, token, &started); rc != 0) {
    return FdMutexError(rc, "readfrom");
  }
  Call<PollMode::kRead> call(this);
  if (int code = Ready(PollMode::kRead, started); code != 0) {
    return FdError(code, "netpoll prepare");
  }
  for (;;) {
    sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    ssize_t got =
        recvfrom(sysfd(), buf, n, 0, reinterpret_cast<sockaddr*>(&sa), &len);
    if (got >= 0) {
      r->n = static_cast<size_t>(got);
      if (from != nullptr) {
        *from = SockAddr{};
        from->len = len < sizeof(from->bytes) ? len : sizeof(from->bytes);
        std::memcpy(from->bytes, &sa, from->len);
      }
      return absl::OkStatus();
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      int code = Park(token, r, &call);
      if (code == internal::kBlockParked) return absl::OkStatus();
      if (code != internal::kBlockReady) return FdError(code, "netpoll wait");
      continue;
    }
    return SysErr(err, "readfrom");
  }
}

// Go's FD.WriteTo (sendto(2)): one datagram.
absl::Status Fd::Impl::WriteTo(const void* buf, size_t n, const SockAddr& to,
                               uintptr_t token, IoResult* r) {
  if (absl::Status s = CheckIoArgs(buf, n, token, r, "writeto"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSockAddr(to, "writeto"); !s.ok()) return s;
  *r = IoResult{};
  bool started = false;
  if (int rc = Begin(PollMode::kWrite, token, &started); rc != 0) {
    return FdMutexError(rc, "writeto");
  }
  Call<PollMode::kWrite> call(this);
  if (int code = Ready(PollMode::kWrite, started); code != 0) {
    return FdError(code, "netpoll prepare");
  }
  for (;;) {
    ssize_t put = sendto(sysfd(), buf, n, kSendFlags,
                         reinterpret_cast<const sockaddr*>(to.bytes),
                         static_cast<socklen_t>(to.len));
    if (put >= 0) {
      r->n = static_cast<size_t>(put);
      return absl::OkStatus();
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      int code = Park(token, r, &call);
      if (code == internal::kBlockParked) return absl::OkStatus();
      if (code != internal::kBlockReady) return FdError(code, "netpoll wait");
      continue;
    }
    return SysErr(err, "writeto");
  }
}

absl::Status Fd::Impl::Shutdown(PollMode how) {
  int h;
  switch (how) {
    case PollMode::kRead:
      h = SHUT_RD;
      break;
    case PollMode::kWrite:
      h = SHUT_WR;
      break;
    case PollMode::kReadWrite:
      h = SHUT_RDWR;
      break;
    default:
      return FdError(GORT_EINVAL, "shutdown: how");
  }
  Ref ref(this);
  if (!ref) return FdError(GORT_ECANCELED, "shutdown");
  int rc = shutdown(sysfd(), h);
  int err = errno;
  return rc == 0 ? absl::OkStatus() : SysErr(err, "shutdown");
}

// Go's FD.SetDeadline (setDeadlineImpl): a reference for the call.
absl::Status Fd::Impl::SetDeadline(int64_t d, PollMode mode) {
  if (mode != PollMode::kRead && mode != PollMode::kWrite &&
      mode != PollMode::kReadWrite) {
    return FdError(GORT_EINVAL, "set deadline: mode");
  }
  Ref ref(this);
  if (!ref) return FdError(GORT_ECANCELED, "set deadline");
  absl::Status s = poller_.SetDeadline(pd_, d, mode);
  return s;
}

absl::Status Fd::Impl::Bind(const SockAddr& addr) {
  absl::Status s = CheckSockAddr(addr, "bind");
  if (!s.ok()) return s;
  Ref ref(this);
  if (!ref) return FdError(GORT_ECANCELED, "bind");
  int rc = bind(sysfd(), reinterpret_cast<const sockaddr*>(addr.bytes),
                static_cast<socklen_t>(addr.len));
  int err = errno;
  return rc == 0 ? absl::OkStatus() : SysErr(err, "bind");
}

absl::Status Fd::Impl::Listen(int backlog) {
  Ref ref(this);
  if (!ref) return FdError(GORT_ECANCELED, "listen");
  int rc = listen(sysfd(), backlog);
  int err = errno;
  if (rc == 0) kind_.store(FdKind::kListener, std::memory_order_relaxed);
  return rc == 0 ? absl::OkStatus() : SysErr(err, "listen");
}

absl::StatusOr<SockAddr> Fd::Impl::LocalAddr() {
  Ref ref(this);
  if (!ref) return FdError(GORT_ECANCELED, "local addr");
  sockaddr_storage sa;
  socklen_t len = sizeof(sa);
  int rc = getsockname(sysfd(), reinterpret_cast<sockaddr*>(&sa), &len);
  int err = errno;
  if (rc != 0) return SysErr(err, "local addr");
  SockAddr out;
  out.len = len < sizeof(out.bytes) ? len : sizeof(out.bytes);
  std::memcpy(out.bytes, &sa, out.len);
  return out;
}

absl::Status Fd::Impl::SetSockOptInt(int level, int name, int value) {
  Ref ref(this);
  if (!ref) return FdError(GORT_ECANCELED, "setsockopt");
  int rc = setsockopt(sysfd(), level, name, &value, sizeof(value));
  int err = errno;
  return rc == 0 ? absl::OkStatus() : SysErr(err, "setsockopt");
}

// Go's FD.Close without its wait: the closed bit, then evict the waiters
// (their tokens come out with kClosing), then drop our reference; the last
// reference closes the descriptor.
absl::Status Fd::Impl::Close() {
  if (!fdmu_.IncrefAndClose()) return FdError(GORT_EBADF, "close");
  (void)poller_.Evict(pd_);
  if (!fdmu_.Decref()) return absl::OkStatus();
  int err = Destroy();
  return err == 0 ? absl::OkStatus() : SysErr(err, "close");
}

// The public class.

Fd::Fd(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Fd::~Fd() {
  if (impl_ == nullptr || impl_->destroyed()) return;
  try {
    (void)impl_->Close();
  } catch (...) {  // only an error status that could not be made
  }
  if (!impl_->destroyed()) {
    // A call is running or an operation is parked or in flight: its next
    // call would use freed memory.
#ifndef NDEBUG
    std::fputs("gort: Fd destroyed while an operation holds it\n", stderr);
    std::abort();
#else
    (void)impl_->Destroy();  // at least the descriptor does not leak
#endif
  }
}

absl::StatusOr<std::unique_ptr<Fd>> Fd::Open(Poller& poller, intptr_t sysfd,
                                             FdKind kind) {
  if (!internal::ValidKind(kind) || sysfd < 0 || sysfd > INT_MAX) {
    return FdError(GORT_EINVAL, "fd open");
  }
  int fd = static_cast<int>(sysfd);
  int err = SetNonblockCloexec(fd);
  if (err != 0) return SysErr(err, "fd open: fcntl");
  NoSigpipe(fd, kind);
  return Impl::Wrap(poller, fd, kind);
}

// Go's sysSocket (net/sock_cloexec.go; sys_cloexec.go where the flags are
// missing).
absl::StatusOr<std::unique_ptr<Fd>> Fd::Socket(Poller& poller, int family,
                                               int type, int protocol) {
#ifdef __linux__
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  int s = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (s < 0) return SysErr(errno, "socket");
#else
  int base = type;
  // As in Accept: without SOCK_CLOEXEC a fork between socket() and fcntl()
  // on another thread can leak the descriptor into a child (Go holds
  // syscall.ForkLock here).
  int s = socket(family, type, protocol);
  if (s < 0) return SysErr(errno, "socket");
  int err = SetNonblockCloexec(s);
  if (err != 0) {
    (void)close(s);
    return SysErr(err, "socket: fcntl");
  }
#endif
  FdKind kind = base == SOCK_STREAM ? FdKind::kStream : FdKind::kDatagram;
  NoSigpipe(s, kind);
  absl::StatusOr<std::unique_ptr<Fd>> fd = Impl::Wrap(poller, s, kind);
  if (!fd.ok()) (void)close(s);
  return fd;
}

int Fd::ReadCode(void* buf, size_t n, uintptr_t token, IoResult* r) {
  return impl_->Read(buf, n, token, r);
}
int Fd::WriteCode(const void* buf, size_t n, uintptr_t token, IoResult* r) {
  return impl_->Write(buf, n, token, r);
}
int Fd::TryReadCode(void* buf, size_t n, IoResult* r) {
  return impl_->TryRead(buf, n, r);
}
int Fd::TryWriteCode(const void* buf, size_t n, IoResult* r) {
  return impl_->TryWrite(buf, n, r);
}
int Fd::WaitReadCode(uintptr_t token, IoResult* r) {
  return impl_->WaitRead(token, r);
}
absl::Status Fd::Accept(uintptr_t token, IoResult* r, std::unique_ptr<Fd>* out,
                        SockAddr* peer) {
  return impl_->Accept(token, r, out, peer);
}
absl::Status Fd::Connect(const SockAddr& addr, uintptr_t token, IoResult* r) {
  return impl_->Connect(addr, token, r);
}
absl::Status Fd::ReadFrom(void* buf, size_t n, SockAddr* from, uintptr_t token,
                          IoResult* r) {
  return impl_->ReadFrom(buf, n, from, token, r);
}
absl::Status Fd::WriteTo(const void* buf, size_t n, const SockAddr& to,
                         uintptr_t token, IoResult* r) {
  return impl_->WriteTo(buf, n, to, token, r);
}
absl::Status Fd::Shutdown(PollMode how) { return impl_->Shutdown(how); }
absl::Status Fd::SetDeadline(int64_t d, PollMode mode) {
  return impl_->SetDeadline(d, mode);
}
absl::Status Fd::Bind(const SockAddr& addr) { return impl_->Bind(addr); }
absl::Status Fd::Listen(int backlog) { return impl_->Listen(backlog); }
absl::StatusOr<SockAddr> Fd::LocalAddr() { return impl_->LocalAddr(); }
absl::Status Fd::SetSockOptInt(int level, int name, int value) {
  return impl_->SetSockOptInt(level, name, value);
}
absl::Status Fd::Close() { return impl_->Close(); }
bool Fd::Destroyed() const { return impl_->destroyed(); }
intptr_t Fd::Sysfd() const { return impl_->sysfd(); }
FdKind Fd::kind() const { return impl_->kind(); }
PollDescId Fd::pd() const { return impl_->pd(); }

}  // namespace gort
