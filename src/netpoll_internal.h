// SPDX-License-Identifier: BSD-3-Clause
// The contract between the portable netpoller (src/netpoll.cc) and each OS's
// backend (src/linux/netpoll_epoll.cc, src/darwin/netpoll_kqueue.cc,
// src/windows/netpoll_iocp.cc): Go's netpollinit / netpollopen /
// netpollclose / netpoll / netpollBreak. Each OS's header (netpoll_epoll.h,
// netpoll_kqueue.h, netpoll_iocp.h) also declares its backend's class as
// NativePollBackend, with an inline Harvest() that Poller::Poll() calls
// directly; PollBackend's virtual calls serve other backends (tests).
#ifndef GORT_SRC_NETPOLL_INTERNAL_H_
#define GORT_SRC_NETPOLL_INTERNAL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/netpoll.h"

namespace gort::internal {

// Direction bits of a backend event.
inline constexpr uint32_t kPollRead = 1;
inline constexpr uint32_t kPollWrite = 2;

// Windows: the per-direction operation record embedded in each pollDesc.
// The OVERLAPPED comes first (Go's operation), so a completed OVERLAPPED*
// maps back to it; `key` is the owning pollDesc's handle at the time the
// operation was handed out, `mode` kPollRead or kPollWrite. The backend
// stores the completion's byte count and Win32 error. `in_flight` is 1
// from Poller::Overlapped() until the packet was taken (or
// OverlappedNotQueued()): only then may the record be handed out again, so
// a packet found for it is always the current operation's.
struct WinOp {
  alignas(8) unsigned char overlapped[32];  // an OVERLAPPED on Win64
  uint64_t key;
  uint32_t mode;
  uint32_t bytes;
  uint32_t error;
  std::atomic<uint32_t> in_flight{0};
};

// One harvested notification: the key given to Add() (the pollDesc handle,
// which carries its sequence number), the directions it readies, and
// whether the kernel reported nothing but an error condition (EPOLLERR
// alone; Go's pollEventErr). On Windows `op` is the completed operation
// record (still marked in flight: the portable layer makes it idle).
// Trivial (no member initializers): Poll() keeps 128 of them on its stack
// per call, and a default constructor initializing them cost ~390
// instructions a Poll (callgrind, bench/echo_callgrind.sh). Backends write
// whole aggregates, every member named.
// Poll() reads an event through Key(), Readable(), Writable() and
// ErrorOnly(), and kTaggedKey says what the key is (the handle given to
// Add(), or a tagged pollDesc address: PollDescTable::TaggedKey); a
// backend's Harvest() may pass its own type with these (epoll: EpollEvent,
// whose direction tests are tests of the kernel's bits).
struct BackendEvent {
  uint64_t key;
  uint32_t modes;
  bool error_only;
  WinOp* op;  // Windows: the operation record a packet completes, or null

  // The key is the pollDesc handle (see kTaggedKey in netpoll_epoll.h).
  static constexpr bool kTaggedKey = false;
  uint64_t Key() const { return key; }
  bool Readable() const { return (modes & kPollRead) != 0; }
  bool Writable() const { return (modes & kPollWrite) != 0; }
  bool ErrorOnly() const { return error_only; }
};
static_assert(std::is_trivially_default_constructible_v<BackendEvent>,
              "Poll() must not initialize its event array on every call");

// What Wait() reports besides events.
struct BackendWaitResult {
  size_t n = 0;        // events written
  bool broke = false;  // the wake-up signal was seen and consumed
  size_t foreign = 0;  // packets ignored for a foreign key (Windows)
};

// One per Poller. All methods are thread-safe.
class PollBackend {
 public:
  virtual ~PollBackend() = default;
  // Arms edge-triggered notification for `fd`, events carrying `key`.
  virtual absl::Status Add(intptr_t fd, uint64_t key) = 0;
  // Stops watching `fd` (a descriptor already closed is not an error).
  virtual absl::Status Remove(intptr_t fd) = 0;
  // Windows: sets skip-on-success completion on `fd` where Go would
  // (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE);
  // true if it is set. Other backends: false.
  virtual bool SetSkipOnSuccess(intptr_t) { return false; }
  // Sends the wake-up signal (the portable layer coalesces calls).
  virtual absl::Status Break() = 0;
  // Waits up to `delay` ns (< 0 forever, 0 not at all) and writes up to `n`
  // events, harvested by one kernel wait. The wake-up signal is consumed
  // only when `delay` != 0 where the backend can leave it pending (epoll),
  // as Go does. EINTR (Go's rule): a timed wait (delay > 0) returns 0
  // events, others wait again. Waits may run on several threads at once,
  // but only one at a time with `n` > kStackEvents (the portable layer's
  // rule), so a backend's HarvestBuffer needs no lock.
  virtual absl::StatusOr<BackendWaitResult> Wait(int64_t delay,
                                                 BackendEvent* ev,
                                                 size_t n) = 0;
};

// What a native backend's Harvest() hands each event to: a handler `h`
// with two member templates, called with the backend's event type.
//   bool h.Fast(ev): handles `ev` and returns true, or returns false
//     having done nothing (Poll(): its sink may have no room for the
//     event's waiters). Inlined into the harvest loop, it makes no call, so
//     that the loop's values need no callee-saved registers.
//   void h.Slow(ev): handles `ev`, whatever it takes (Poll(): queues the
//     waiters its sink has no room for). After Fast() declined an event,
//     the backend hands that event and every later one of the harvest to
//     Slow() instead, which a backend may do from a loop out of line
//     (epoll), taking the handler by value and giving it back.
// Handlers are copied and assigned. EveryEvent makes a handler of a
// callable (by its address) that takes every event.
template <typename F>
struct EveryEvent {
  F* f;
  template <typename Ev>
  bool Fast(const Ev& ev) {
    (*f)(ev);
    return true;
  }
  template <typename Ev>
  void Slow(const Ev& ev) {
    (*f)(ev);
  }
};
template <typename F>
EveryEvent(F*) -> EveryEvent<F>;

// A native backend's Harvest() result (see netpoll_epoll.h): nothing was
// harvested and the wait is to start over (Go's EINTR rule, an untimed
// wait). Errors are positive.
inline constexpr int kHarvestAgain = -1;

// Events harvested per kernel wait with arrays on the stack; a Poll() with
// room for more uses a buffer grown once, up to kMaxHarvest.
inline constexpr size_t kStackEvents = 128;
inline constexpr size_t kMaxHarvest = 4096;

// A backend's array of native events (epoll_event, kevent,
// OVERLAPPED_ENTRY) for one Wait(): the caller's stack array for up to
// kStackEvents, else a member array grown to `n` (an allocation only when
// a caller first asks for more than before). Not thread-safe: see
// PollBackend::Wait() for why it need not be.
template <typename T>
class HarvestBuffer {
 public:
  // The array to use for `n` events and its length in *cap (never 0 for
  // n > 0; the stack array if growing fails).
  T* Get(T* stack, size_t n, size_t* cap) {
    if (n <= kStackEvents) {
      *cap = n;
      return stack;
    }
    if (n > kMaxHarvest) n = kMaxHarvest;
    if (cap_ < n) {
      T* grown = new (std::nothrow) T[n];
      if (grown != nullptr) {
        big_.reset(grown);
        cap_ = n;
      }
    }
    if (cap_ < n) {
      *cap = kStackEvents;
      return stack;
    }
    *cap = n;
    return big_.get();
  }

 private:
  std::unique_ptr<T[]> big_;
  size_t cap_ = 0;
};

// Tests reach into a poller through this: a poller over a backend of their
// own (to fail or script it), and a token parked without the checks.
struct PollDesc;

struct PollerAccess {
  static absl::StatusOr<std::unique_ptr<Poller>> Open(
      std::unique_ptr<PollBackend> backend);
  static void ParkRaw(Poller& p, PollDescId pd, PollMode mode, uintptr_t token);
  // The pollDesc a live handle names, for the FD layer's fast path (Go's
  // internal/poll.pollDesc keeps the runtime's *pollDesc in runtimeCtx and
  // passes it to every poll_runtime_* call, never a handle to look up).
  // An Fd registers its descriptor for its whole life and unregisters it
  // only when its last call has left (its fdMutex), and pollDescs are
  // never freed before their Poller, so between the two the pointer needs
  // no pin and no sequence check. nullptr for a stale handle.
  static PollDesc* DescOf(Poller& p, PollDescId pd);
  // The word Poll()'s common path tests (0: taken): waiters queued in the
  // low 32 bits, deadline timers held in the high 32.
  static uint64_t Busy(Poller& p);
};

// Pollers destroyed with an operation record in flight, whose pollDescs
// were leaked on purpose (release builds; debug builds abort instead).
uint64_t PollersLeakedWithOpsInFlight();

// The OS's backend (defined once per OS).
absl::StatusOr<std::unique_ptr<PollBackend>> NewPollBackend();
// "epoll", "kqueue", "iocp".
const char* PollBackendName();

#ifdef __linux__
// epoll_wait's timeout for a delay, rounded as Go rounds it
// (netpoll_epoll.go): < 0 blocks, 0 polls, under 1 ms waits 1 ms, else
// whole milliseconds; from 1e15 ns (11.5 days) on, 1e9 ms. Inline: a call
// in Poll() before epoll_wait made the values live across it need
// callee-saved registers earlier.
inline int EpollDelayMillis(int64_t delay) {
  if (delay < 0) return -1;
  if (delay == 0) return 0;
  if (delay < 1000000) return 1;
  if (delay < 1000000000000000) return static_cast<int>(delay / 1000000);
  return 1000000000;
}
#endif

}  // namespace gort::internal

#endif  // GORT_SRC_NETPOLL_INTERNAL_H_
