// SPDX-License-Identifier: BSD-3-Clause
// The netpoller: Go's pollDesc contract over epoll, kqueue and IOCP (Go:
// runtime/netpoll.go, netpoll_epoll.go, netpoll_kqueue.go,
// netpoll_windows.go).
//
// A Poller watches descriptors (a Unix fd, a Windows SOCKET or HANDLE).
// Register() arms the OS's notification once, edge-triggered, and returns a
// pollDesc handle. Per direction (read, write) a pollDesc holds a semaphore
// that is nil, "ready" (a notification not yet consumed) or a parked waiter
// token, plus a deadline.
//
// The embedder's side, for each operation that would block (Go's
// internal/poll.FD.Read):
//
//   Prepare(pd, kRead)                 // once per operation: errors, reset
//   for (;;) {
//     n = read(fd, ...);               // EAGAIN?
//     if (n != EAGAIN) break;
//     suspend the waiter, then, from a point where it is suspended:
//     r = Wait(pd, kRead, token);      // kReady: resume it now and retry
//                                      // kParked: Poll() will return token
//                                      // error: closing / deadline passed
//   }
//
// Wait() must be called only once the waiter can be resumed by another thread
// (Go parks the goroutine first and publishes it in netpollblockcommit): the
// moment it returns kParked, another thread's Poll() may hand the token out.
// Poll(delay) returns the tokens made runnable, each with its reason: kReady
// (I/O readiness or, on Windows, a completed overlapped operation),
// kDeadline, or kClosing. A token is handed out exactly once per kParked.
//
// On Windows the poller sees completions, not readiness (Go's
// internal/poll execIO). Each direction of a pollDesc has one operation
// record (an OVERLAPPED, Go's operation): Overlapped(pd, mode) hands it out
// only when it is idle (EBUSY otherwise) and marks it in flight; the
// embedder starts its overlapped call with it at once. The record stays in
// flight until its completion packet is taken by Poll(), which then readies
// the direction; GetOverlappedResult() tells the bytes and error (EBUSY
// while in flight). A start that queued no packet (the call failed at
// once, or succeeded at once on a handle with skip-on-success, see
// SkipsCompletionOnSuccess()) must be reported with OverlappedNotQueued(),
// or the record stays busy. After a deadline or close the embedder cancels
// the operation (CancelIoEx) and parks with WaitCanceled() until its
// packet arrives: only then are the OVERLAPPED and the buffer free (Go's
// runtime_pollWaitCanceled). So a late packet of a cancelled operation is
// never taken for the next one's. The pollDesc contract is otherwise the
// same on every OS.
//
// Deadlines (SetDeadline) are relative like Go's runtime entry point: d > 0
// expires d ns from now, d < 0 has already expired, 0 clears. When the read
// and write deadlines are equal, one timer serves both. They live on the
// poller's own timer heap, which bounds Poll()'s wait.
//
// Unregister(pd) evicts both waiters with kClosing, deregisters the
// descriptor and frees the pollDesc: its handle goes stale (EBADF) and events
// already harvested for it are dropped. Close the descriptor itself
// afterwards. (The C ABI's names: gort_poller_unregister for this,
// gort_poller_close for closing the whole poller.)
// pollDescs are never freed before the Poller, so a late event never touches
// freed memory. On Windows a pollDesc whose operation is still in flight
// is not reused: Unregister() retires its handle at once but frees it only
// when the last such packet was taken (stats().deferred_frees counts them).
// Destroying a Poller with an operation in flight is a bug of the
// embedder: the kernel still owns that OVERLAPPED. Debug builds stop with a
// message; release builds leave the pollDescs' memory allocated (leaked,
// never reused) so that the kernel's late write lands in memory nobody else
// uses, and count it (internal::PollersLeakedWithOpsInFlight()).
//
// Thread safety: every method may be called from any thread, concurrently,
// also while other threads block in Poll(). Poll() may run on several threads
// at once; Wake() makes a Poll() blocked now (or the next blocking one)
// return. Using a handle while another thread closes it gives either the
// result for the old descriptor or EBADF, never another descriptor's; a
// handle of one poller is EBADF in another. Two threads may race to Wait()
// on one direction: one parks, the other gets EBUSY (Go's fdMutex admits
// one waiter per direction; gort checks instead). Hot
// paths (Prepare, Wait, Poll, SetDeadline) do not allocate once the poller
// has grown to its working size.
#ifndef GORT_GORT_NETPOLL_H_
#define GORT_GORT_NETPOLL_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gort {

namespace internal {
struct PollerAccess;  // tests: a poller over another backend
}  // namespace internal

/// A pollDesc handle: (sequence << 32) | (index + 1). 0 is never valid.
using PollDescId = uint64_t;

/// Which direction an operation waits for ('r', 'w' in Go).
enum class PollMode : int32_t {
  kRead = 1,
  kWrite = 2,
  kReadWrite = 3,  ///< both: only for SetDeadline()
};

/// Why Poll() handed a token out. The values are Go's poll error codes.
enum class PollReason : int32_t {
  kReady = 0,     ///< I/O readiness or a completed operation (pollNoError)
  kClosing = 1,   ///< the pollDesc was evicted or closed (pollErrClosing)
  kDeadline = 2,  ///< the direction's deadline passed (pollErrTimeout)
};

/// One waiter made runnable.
struct PollEvent {
  uintptr_t token;    ///< as given to Wait()
  PollMode mode;      ///< kRead or kWrite
  PollReason reason;  ///< why
};

/// What Wait() did with the token.
enum class WaitResult : int32_t {
  kReady = 0,   ///< the direction was ready: resume the waiter at once
  kParked = 1,  ///< the token is published; Poll() will hand it out
};

/// The result of a completed overlapped operation (Windows).
struct OverlappedResult {
  uint32_t bytes;  ///< bytes transferred
  uint32_t error;  ///< Win32 error code, 0 on success
};

/// Counters for tests and the probe. Relaxed snapshots.
struct PollerStats {
  uint64_t wakes = 0;            ///< Wake() calls
  uint64_t wakes_sent = 0;       ///< Wake() calls that reached the kernel
  uint64_t wake_errors = 0;      ///< wake-up signals the backend failed
  uint64_t events = 0;           ///< backend events harvested
  uint64_t stale_events = 0;     ///< events dropped for a closed pollDesc
  uint64_t foreign_events = 0;   ///< packets with a foreign key (Windows)
  uint64_t deadline_timers = 0;  ///< deadline timers pending now
  uint64_t ops_in_flight = 0;    ///< operation records in flight (Windows)
  uint64_t deferred_frees = 0;   ///< pollDescs unregistered with an
                                 ///< operation in flight, not yet freed
};

/// Errors: Prepare() and Wait() fail with ECANCELED when the pollDesc is
/// closing, ETIMEDOUT when the direction's deadline has passed, EIO when the
/// kernel reported only an error condition for reads (Go's
/// pollErrNotPollable), EBUSY for a second waiter on one direction (Go's
/// "double wait"). Every call gives EBADF for a stale or unknown handle and
/// EINVAL for a bad mode or token. Statuses carry gort::Error payloads.
class Poller {
 public:
  /// Opens a poller: epoll on Linux, kqueue on macOS, a completion port on
  /// Windows. Its descriptors are close-on-exec.
  static absl::StatusOr<std::unique_ptr<Poller>> Open();

  /// Closes the OS objects and frees every pollDesc. Parked tokens are not
  /// handed out; registered descriptors are left open (they are the
  /// embedder's). No other thread may use the poller any more.
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  /// Watches descriptor `fd` (a SOCKET or HANDLE on Windows), edge-triggered,
  /// once: Go's netpollopen. The descriptor should be non-blocking (Unix) or
  /// opened for overlapped I/O (Windows).
  absl::StatusOr<PollDescId> Register(intptr_t fd);

  /// Marks the pollDesc closing and hands its waiters out with kClosing:
  /// Go's poll_runtime_pollUnblock, the first step of closing an FD.
  /// Further Prepare()/Wait() fail with ECANCELED. Idempotent.
  absl::Status Evict(PollDescId pd);

  /// Evicts (if not done), deregisters the descriptor and frees the
  /// pollDesc: Go's poll_runtime_pollClose. The handle goes stale. epoll
  /// deregisters now; kqueue and IOCP drop a registration only when the
  /// descriptor is closed (as in Go): events until then are dropped as
  /// stale. Does not close the descriptor.
  absl::Status Unregister(PollDescId pd);

  /// Prepares an operation in direction `mode`: fails if the pollDesc is
  /// closing or the deadline has passed, else forgets a stale readiness
  /// notification. Go's poll_runtime_pollReset.
  absl::Status Prepare(PollDescId pd, PollMode mode);

  /// Consumes the direction's readiness (kReady) or parks `token` until
  /// readiness, deadline or close (kParked). Go's poll_runtime_pollWait.
  /// `token` is the embedder's and must not be 0, 1 or 2 (a pointer is fine).
  absl::StatusOr<WaitResult> Wait(PollDescId pd, PollMode mode,
                                  uintptr_t token);

  /// The error direction `mode` reports now (ECANCELED closing, ETIMEDOUT
  /// deadline passed, EIO error-only event), leaving its readiness alone:
  /// Go's netpollcheckerr, which pollWait runs when a parked waiter wakes.
  /// For an operation continued after its token came out of Poll():
  /// Prepare() there would forget a notification that arrived since.
  absl::Status Check(PollDescId pd, PollMode mode);

  /// Sets the deadline of `mode` (kRead, kWrite or kReadWrite): `d` ns from
  /// now if > 0, already expired if < 0, none if 0. Go's
  /// poll_runtime_pollSetDeadline. Ignored (OK) once the pollDesc is closing.
  absl::Status SetDeadline(PollDescId pd, int64_t d, PollMode mode);
  /// SetDeadline() with an absl::Duration; InfiniteDuration() clears.
  absl::Status SetDeadline(PollDescId pd, absl::Duration d, PollMode mode);

  /// Go's netpoll(delay): waits up to `delay` ns (< 0: until something
  /// happens, 0: not at all), then writes up to `n` runnable waiters to
  /// `out` and returns how many. Due deadlines fire first; their timers bound
  /// the wait. May return 0 before `delay` has passed: after Wake() (also
  /// the one SetDeadline() sends when it arms a deadline earlier than the
  /// nearest one, and the one a Poll() sends when it leaves waiters queued
  /// for another thread), when a signal interrupts a timed wait (an endless
  /// one goes on waiting, as in Go), when a deadline fires that readies
  /// nobody, and when the OS reports an event that readies nobody (no
  /// waiter parked, or the pollDesc closed since). Waiters that do not fit
  /// in `out` are kept for the next call, and a Poll() blocked on another
  /// thread is woken to take them. EINVAL if `out` is null or `n` is 0.
  /// (Inline, below: see PollCode().)
  absl::StatusOr<size_t> Poll(int64_t delay, PollEvent* out, size_t n);

  /// Makes a blocked Poll() return (or the next blocking one). Wake-ups
  /// coalesce until a blocking Poll() consumes them: Go's netpollBreak.
  /// The OS error if the signal could not be sent (Go throws); the next
  /// Wake() tries again.
  absl::Status Wake();

  /// Hands out the operation record of direction `mode` of `pd`: the
  /// OVERLAPPED (as void*) to start one overlapped call with, now marked in
  /// flight. Its completion packet readies the direction and makes the
  /// record idle again. EBUSY while the record is in flight (a cancelled
  /// operation's packet has not been taken yet: WaitCanceled()). Windows
  /// only (ENOTSUP elsewhere).
  absl::StatusOr<void*> Overlapped(PollDescId pd, PollMode mode);

  /// Tells the poller that the operation started with the record of
  /// `mode` queued no packet: the call failed at once, or it succeeded at
  /// once on a handle with skip-on-success. Stores `result` as the
  /// operation's, makes the record idle and readies the direction as its
  /// packet would have (a waiter parked on it is handed out). EINVAL if
  /// the record is not in flight. Works also after Unregister() (the
  /// record keeps the pollDesc until then). Windows only.
  absl::Status OverlappedNotQueued(PollDescId pd, PollMode mode,
                                   OverlappedResult result);

  /// What the last completed operation of `mode` transferred: EBUSY while
  /// the record is in flight. Windows only.
  absl::StatusOr<OverlappedResult> GetOverlappedResult(PollDescId pd,
                                                       PollMode mode);

  /// Go's runtime_pollWaitCanceled: parks `token` until the packet of the
  /// operation in flight in `mode` was taken, whatever closing and
  /// deadlines say (kReady at once if it was). Used after CancelIoEx: when
  /// the token comes out, GetOverlappedResult() has the result and the
  /// buffer is free. The token may also come out early with kClosing or
  /// kDeadline (a close or deadline after it parked); call again. Windows
  /// only.
  absl::StatusOr<WaitResult> WaitCanceled(PollDescId pd, PollMode mode,
                                          uintptr_t token);

  /// Whether Register() set FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (and
  /// FILE_SKIP_SET_EVENT_ON_HANDLE) on the handle: then a call that
  /// succeeds at once queues no packet. Go's rule (internal/poll
  /// fd_windows.go, Go 1.21-1.24): sockets only when every TCP provider
  /// has XP1_IFS_HANDLES (no non-IFS LSP installed), other handles always;
  /// false where SetFileCompletionNotificationModes fails. Windows only.
  absl::StatusOr<bool> SkipsCompletionOnSuccess(PollDescId pd);

  /// Counters (wake-ups sent and coalesced, events, stale events).
  PollerStats stats() const;

  /// Bytes one pollDesc occupies.
  static size_t PollDescBytes();

  /// The backend's name: "epoll", "kqueue" or "iocp".
  static const char* BackendName();

  class Impl;

 private:
  friend struct internal::PollerAccess;
  explicit Poller(std::unique_ptr<Impl> impl);
  // Poll() without its StatusOr (#16): the count, or a negative code that
  // only PollError() reads. So the common case returns in a register (a
  // StatusOr<size_t> is returned through memory: the caller's stack slot,
  // stored here and loaded back there), and the status is made, out of
  // line, only for an error. As fd.h's Read() over ReadCode().
  ptrdiff_t PollCode(PollEvent* out, size_t n, int64_t delay);
  // The error status a negative PollCode() stands for: never OK, which
  // Poll() tells the compiler (ABSL_ASSUME), so that a caller that tests
  // the result and destroys it knows it OK on the OK path (as fd.h's
  // CodeStatus()). Called at once after PollCode(), on the same thread.
  ABSL_ATTRIBUTE_COLD static absl::Status PollError(ptrdiff_t code);
  std::unique_ptr<Impl> impl_;
};

inline absl::StatusOr<size_t> Poller::Poll(int64_t delay, PollEvent* out,
                                           size_t n) {
  const ptrdiff_t got = PollCode(out, n, delay);
  if (ABSL_PREDICT_FALSE(got < 0)) {
    absl::Status s = PollError(got);
    const bool ok = s.ok();  // (no call in clang's __builtin_assume)
    ABSL_ASSUME(!ok);        // see PollError()
    return s;
  }
  return static_cast<size_t>(got);
}

}  // namespace gort

#endif  // GORT_GORT_NETPOLL_H_
