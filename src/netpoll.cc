// SPDX-License-Identifier: BSD-3-Clause
// The portable netpoller: deadlines, close, the queue of waiters found
// outside Poll() and the wake-up, written once for every backend (Go:
// runtime/netpoll.go). The pollDesc state machine and its table, with every
// memory-ordering argument, are in polldesc.h / polldesc.cc.
#include "gort/netpoll.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/time.h"
#include "gort/timer.h"
#include "netpoll_internal.h"
#include "polldesc.h"
#if defined(_WIN32)
#include "windows/netpoll_iocp.h"
#elif defined(__APPLE__)
#include "darwin/netpoll_kqueue.h"
#else
#include "linux/netpoll_epoll.h"
#endif

namespace gort {
namespace {

using internal::BackendEvent;
using internal::kPdNil;
using internal::kPdWait;
using internal::kPollRead;
using internal::kPollWrite;
using internal::PollDesc;
using internal::PollDescTable;

// Deadline timers hand back tokens of (index << 32 | seq << 2 | kind): the
// kind says which deadline (read, write, or both), seq the rseq/wseq the
// timer was armed with (30 bits), so a timer of an older deadline is
// recognised and ignored (Go passes the seq to netpolldeadlineimpl).
constexpr uintptr_t kKindRead = 1;
constexpr uintptr_t kKindWrite = 2;
constexpr uintptr_t kKindBoth = 3;
constexpr uint32_t kSeqMask = (1u << 30) - 1;
static_assert(sizeof(uintptr_t) == 8, "gort's netpoller needs 64-bit tokens");

absl::Status Err(int code, const char* context) {
  return Error::FromCode(code).ToStatus(context);
}

bool OneMode(PollMode mode) {
  return mode == PollMode::kRead || mode == PollMode::kWrite;
}

// Each poller's pollDescs start at a different sequence number, so a
// handle of one poller names nothing in another (EBADF). Successive pollers
// step by an odd multiple of 2: 2^31 pollers before two start alike.
uint32_t NextSeqBase() {
  static std::atomic<uint32_t> pollers{0};
  uint32_t n = pollers.fetch_add(1, std::memory_order_relaxed);
  return (n * 0x9E3779B9u) << 1;
}

// Where Poll() writes waiters; what does not fit goes to the poller's queue.
// Two pointers (the next free slot, the end), not a base, a size and a
// count: fewer registers in Poll()'s loop.
// Writes `ev` to `*p`: the token, then mode and reason as one 64-bit word,
// a constant where they are (one store of an immediate, not a constant
// loaded from memory first).
[[gnu::always_inline]] inline void Put(PollEvent* p, const PollEvent& ev) {
  static_assert(sizeof(PollEvent) == 16 && offsetof(PollEvent, mode) == 8 &&
                    offsetof(PollEvent, reason) == 12,
                "PollEvent: a token, then two 32-bit words");
  struct Tail {
    PollMode mode;
    PollReason reason;
  } tail{ev.mode, ev.reason};
  uint64_t word;
  std::memcpy(&word, &tail, sizeof(word));
  p->token = ev.token;
  std::memcpy(&p->mode, &word, sizeof(word));
}

// Each sink has an unchecked form (full() is false: no test, and no call
// of the queue path) for an event whose waiters are known to fit: one
// event hands out at most two (Harvester::Fast()).
struct Sink {
  PollEvent* next;
  PollEvent* end;
  bool full() const { return next == end; }
  void Push(const PollEvent& ev) { Put(next++, ev); }
  struct Unchecked {
    PollEvent* next;
    static constexpr bool full() { return false; }
    void Push(const PollEvent& ev) { Put(next++, ev); }
  };
  bool RoomForTwo() const { return end - next >= 2; }
  Unchecked unchecked() const { return {next}; }
  void Resume(const Unchecked& u) { next = u.next; }
};

// Poll()'s common path's sink: the caller's array, the bytes of it used
// and the last offset with room for two waiters, none of them a pointer
// that moves. Only `out` and `last` are live across the wait (`used`
// starts after it, at zero), where Sink's two moving pointers and the
// `out` the result is counted from took three registers. In bytes: a
// waiter is stored at out + used, with no scaling of an index, and the
// room test of each event is one compare (signed: `last` is negative
// when the array holds one waiter).
struct OffsetSink {
  static constexpr ptrdiff_t kSize = sizeof(PollEvent);
  PollEvent* out;
  ptrdiff_t used;
  ptrdiff_t last;  // the array's bytes less two waiters'
  static ptrdiff_t LastFor(size_t n) {
    return static_cast<ptrdiff_t>(n) * kSize - 2 * kSize;
  }
  size_t count() const { return static_cast<size_t>(used) / kSize; }
  // The array's length: from `last`, so that nothing else (n) need be
  // kept across the wait for the rare paths.
  size_t n() const { return static_cast<size_t>(last + 2 * kSize) / kSize; }
  Sink AsSink() const { return Sink{At(used), At(last + 2 * kSize)}; }
  PollEvent* At(ptrdiff_t off) const {
    return reinterpret_cast<PollEvent*>(reinterpret_cast<char*>(out) + off);
  }
  bool full() const { return used == last + 2 * kSize; }
  void Push(const PollEvent& ev) {
    Put(At(used), ev);
    used += kSize;
  }
  struct Unchecked {
    PollEvent* out;
    ptrdiff_t used;
    static constexpr bool full() { return false; }
    void Push(const PollEvent& ev) {
      Put(reinterpret_cast<PollEvent*>(reinterpret_cast<char*>(out) + used),
          ev);
      used += kSize;
    }
  };
  bool RoomForTwo() const { return used <= last; }
  Unchecked unchecked() const { return {out, used}; }
  void Resume(const Unchecked& u) { used = u.used; }
};

}  // namespace

class Poller::Impl {
 public:
  // `native` is `backend` when it is the OS's own backend (Poll() then
  // calls it directly), else null (tests' scripted backends).
  Impl(std::unique_ptr<internal::PollBackend> backend,
       internal::NativePollBackend* native)
      : backend_(std::move(backend)),
        native_(native),
        fast_room_(native != nullptr ? internal::kStackEvents : 0),
        table_(NextSeqBase()) {
    deadlines_.SetEarlierHook(
        [](void* self) { (void)static_cast<Impl*>(self)->Wake(); }, this);
  }

  absl::StatusOr<PollDescId> Register(intptr_t fd);
  absl::Status Evict(PollDescId id);
  absl::Status Unregister(PollDescId id);
  absl::Status Prepare(PollDescId id, PollMode mode);
  absl::StatusOr<WaitResult> Wait(PollDescId id, PollMode mode,
                                  uintptr_t token);
  absl::Status Check(PollDescId id, PollMode mode);
  absl::Status SetDeadline(PollDescId id, int64_t d, PollMode mode);
  ptrdiff_t Poll(int64_t delay, PollEvent* out, size_t n);  // PollCode()
  absl::Status Wake();
  absl::StatusOr<void*> Overlapped(PollDescId id, PollMode mode);
  absl::Status OverlappedNotQueued(PollDescId id, PollMode mode,
                                   OverlappedResult result);
  absl::StatusOr<OverlappedResult> GetOverlappedResult(PollDescId id,
                                                       PollMode mode);
  absl::StatusOr<WaitResult> WaitCanceled(PollDescId id, PollMode mode,
                                          uintptr_t token);
  absl::StatusOr<bool> SkipsCompletionOnSuccess(PollDescId id);
  PollerStats stats() const;
  ~Impl();
  void ParkRawForTest(PollDescId id, PollMode mode, uintptr_t token);
  uint64_t BusyForTest() const { return busy_.load(std::memory_order_seq_cst); }
  internal::PollDesc* DescOf(PollDescId id) const {
    Pin pd = table_.Acquire(id);
    return pd.get();  // unpinned: see PollerAccess::DescOf
  }

 private:
  using Pin = PollDescTable::Pin;

  void StopTimers(PollDesc& pd);
  absl::StatusOr<TimerId> ArmTimer(const PollDesc& pd, int64_t when,
                                   uintptr_t kind, uint32_t seq);
  void FireDeadline(uintptr_t token, Sink* sink);
  // Fires the deadlines due at `now` into `sink` (taken by value, so that
  // Poll()'s sink never has its address taken and stays in registers);
  // returns the sink's next free slot. Out of line: rare on Poll()'s path.
  GORT_NOINLINE PollEvent* RunDeadlines(int64_t now, Sink sink);
  // Hands a waiter out: into `sink` while it has room, else to the queue
  // the next Poll() drains. Outside Poll() (`sink` null) it then wakes a
  // poller, as Go's netpollgoready makes the goroutine runnable.
  // Inline: Poll() calls it for both directions of every event, mostly
  // with no token or room in `sink`; the queue is QueueOut()'s.
  // Always inlined: partly inlined (GCC splits off the queue path with
  // the sink's address), Poll()'s sink could not live in registers.
  // `S`: Sink, OffsetSink, or their Unchecked forms.
  template <typename S>
  [[gnu::always_inline]] void HandOut(S* sink, uintptr_t token, PollMode mode,
                                      PollReason reason) {
    if (token == 0) return;
    HandOutToken(sink, token, mode, reason);
  }
  // HandOut() for a token known not to be 0.
  template <typename S>
  [[gnu::always_inline]] void HandOutToken(S* sink, uintptr_t token,
                                           PollMode mode, PollReason reason) {
    if (sink != nullptr && !sink->full()) [[likely]] {
      sink->Push(PollEvent{token, mode, reason});
      return;
    }
    QueueOut(sink == nullptr, PollEvent{token, mode, reason});
  }
  // Queues a waiter; `wake`: outside Poll(), so wake a poller for it.
  [[gnu::cold]] void QueueOut(bool wake, const PollEvent& ev);
  // Moves queued waiters into `sink` (by value, as RunDeadlines()); returns
  // the sink's next free slot. Poll() calls it only when Queued() was not 0.
  GORT_NOINLINE PollEvent* TakeQueuedLocked(Sink sink);
#ifdef _WIN32
  // A completed operation record (its packet taken, or a start that queued
  // none): idle again, then the direction readied as its packet does.
  // Drops the record's reference on the pollDesc, freeing an unregistered
  // one with the last (see PollDesc::io_refs).
  template <typename S>
  void CompleteOp(PollDesc* pd, internal::WinOp& op, uint64_t key, S* sink);
  // Drops one of io_refs; the last one frees the (retired) pollDesc.
  void DropIoRef(PollDesc* pd);
#endif
  // Room in the queue for two waiters per pollDesc in use, reserved when a
  // descriptor is registered (where failing is allowed: ENOMEM), so that
  // HandOut() does not allocate in the common case. It can still need more:
  // a direction parks again while its last token still waits in the queue
  // (waiter A's deadline fired, waiter B parks, no Poll() in between).
  bool ReserveQueue();
  // With queue_mu_ held and the queue full: doubles it. A token already
  // taken from its pollDesc has nowhere else to go, so when even that
  // fails the process stops with a message (Go throws "out of memory")
  // rather than lose a waiter silently.
  void GrowQueueOrDie();

  // Handles one harvested event (the body of Go's netpoll loop): readies
  // its directions, handing parked waiters to `sink`. Inline: Poll()'s
  // loop, through the native backend's Harvest() or over an array.
  // `Event`: BackendEvent, or a backend's own (see BackendEvent).
  template <typename Event, typename S>
  void OnEvent(const Event& ev, S* sink);
  // The handler a native backend's Harvest() hands events to (see
  // EveryEvent in netpoll_internal.h): OnEvent() into `sink`, unchecked
  // (Fast(), inlined in the harvest loop: no call there) while the sink
  // has room for an event's two waiters, else checked, with the queue
  // behind it (Slow(), from the backend's loop out of line).
  template <typename S>
  struct Harvester {
    Impl* self;
    S sink;
    template <typename Ev>
    [[gnu::always_inline]] bool Fast(const Ev& ev) {
      if (!sink.RoomForTwo()) [[unlikely]] {
        return false;
      }
      typename S::Unchecked u = sink.unchecked();
      self->OnEvent(ev, &u);
      sink.Resume(u);
      return true;
    }
    template <typename Ev>
    void Slow(const Ev& ev) {
      self->OnEvent(ev, &sink);
    }
  };
  // Poll()'s uncommon paths, out of line (see there).
  // HarvestOther returns the sink's next free slot, its error in *err.
  GORT_NOINLINE PollEvent* HarvestOther(int64_t wait, Sink sink,
                                        internal::BackendWaitResult* r,
                                        absl::Status* err);
  GORT_NOINLINE void WakeForQueued();
  // Poll()'s steps before the wait when waiters are queued or a deadline
  // is armed: takes the queue into `sink`, fires the due deadlines;
  // returns the sink's next free slot and the wait (0 if the sink got
  // waiters, else `delay` bounded by the next deadline).
  struct PollPrelude {
    PollEvent* next;
    int64_t wait;
  };
  GORT_NOINLINE PollPrelude Prelude(int64_t delay, Sink sink,
                                    const PollEvent* out);
  // Poll() whenever its common path (see there) does not apply: the whole
  // of Go's netpoll, out of line.
  // Both return PollCode()'s result: the count or an error code.
  GORT_NOINLINE ptrdiff_t PollGeneral(int64_t delay, PollEvent* out, size_t n);
  // The common path's end when, after the wait, a deadline is armed or
  // waiters are queued: fires the due deadlines, takes the queue into
  // `sink` and wakes another poller for what is left; returns the sink's
  // next free slot.
  GORT_NOINLINE PollEvent* AfterWait(Sink sink);
  // Poll()'s common path's end when busy_ was not 0 after the wait: its
  // result.
  [[gnu::noinline, gnu::cold]] size_t BusyAfterWait(int64_t delay,
                                                    OffsetSink sink);

  std::unique_ptr<internal::PollBackend> backend_;
  // backend_ itself when it is the OS's own: called without the virtual
  // call and the StatusOr on every Poll().
  internal::NativePollBackend* const native_;
  // The most waiters Poll()'s common path takes room for: kStackEvents
  // over the OS's own backend, else 0 (never the common path), so that one
  // compare tests both.
  const size_t fast_room_;
  TimerHeap deadlines_;
  PollDescTable table_;

  std::mutex queue_mu_;
  std::vector<PollEvent> queue_;  // waiters handed out, not yet returned
  // What keeps Poll() off its common path, in one word that one load tests
  // (busy_ != 0): the low 32 bits are queue_.size() (handshake 3, see
  // Poll()), the high 32 bits the deadline timers this poller holds in
  // deadlines_ (started, not yet removed: at least those pending, so 0
  // means NextWhen() is -1). Changed by seq_cst RMWs only: queue changes
  // under queue_mu_; a timer is counted before Start() (a Poll() that
  // loads 0 before the count is woken by the heap's earlier hook, as
  // before) and uncounted after a Remove() that found it (RemoveTimer()).
  std::atomic<uint64_t> busy_{0};
  static constexpr uint64_t kQueuedMask = 0xffffffff;
  static constexpr uint64_t kOneTimer = uint64_t{1} << 32;
  // queue_.size(), read without the lock: handshake 3's load.
  // busy_ != 0, tested as a signed value > 0 (the same: its top bit is
  // never set, timers being fewer than 2^31): a test for equality with 0
  // lets GCC reuse the register known to hold 0 for the zeros after the
  // wait (the count of an empty harvest), which keeps it, spilled, across
  // the wait.
  bool Busy() const {
    return static_cast<int64_t>(busy_.load(std::memory_order_seq_cst)) > 0;
  }
  size_t Queued() const {
    return static_cast<size_t>(busy_.load(std::memory_order_seq_cst) &
                               kQueuedMask);
  }
  void RemoveTimer(TimerId id) {
    if (deadlines_.Remove(id).ok()) {
      busy_.fetch_sub(kOneTimer, std::memory_order_seq_cst);
    }
  }

  std::atomic<uint32_t> wake_sig_{0};  // Go's netpollWakeSig
  // The big harvest buffer (Poll() with room for more than kStackEvents)
  // and its owner flag: the Poll() that sets it uses the buffer and calls
  // the backend with more than kStackEvents, so at most one does at once.
  std::atomic<bool> harvest_busy_{false};
  internal::HarvestBuffer<BackendEvent> harvest_;
  class BigHarvest {
   public:
    explicit BigHarvest(Impl* p) : p_(p) {}
    ~BigHarvest() {
      if (held_) p_->harvest_busy_.store(false, std::memory_order_release);
    }
    BigHarvest(const BigHarvest&) = delete;
    BigHarvest& operator=(const BigHarvest&) = delete;
    bool Claim() {
      held_ = !p_->harvest_busy_.exchange(true, std::memory_order_acquire);
      return held_;
    }

   private:
    Impl* const p_;
    bool held_ = false;
  };
  std::atomic<uint64_t> wakes_{0};
  std::atomic<uint64_t> wakes_sent_{0};
  std::atomic<uint64_t> wake_errors_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> stale_events_{0};
  std::atomic<uint64_t> foreign_events_{0};
  std::atomic<uint64_t> ops_in_flight_{0};
  std::atomic<uint64_t> deferred_frees_{0};
};

namespace {
std::atomic<uint64_t> g_leaked_pollers{0};  // PollersLeakedWithOpsInFlight
}  // namespace

void Poller::Impl::StopTimers(PollDesc& pd) {
  if (pd.rt != 0) RemoveTimer(pd.rt);
  if (pd.wt != 0) RemoveTimer(pd.wt);
  pd.rt = pd.wt = 0;
}

absl::StatusOr<TimerId> Poller::Impl::ArmTimer(const PollDesc& pd, int64_t when,
                                               uintptr_t kind, uint32_t seq) {
  TimerTarget t;
  t.token = (static_cast<uintptr_t>(pd.index) << 32) |
            (static_cast<uintptr_t>(seq & kSeqMask) << 2) | kind;
  // Counted first: see busy_.
  busy_.fetch_add(kOneTimer, std::memory_order_seq_cst);
  absl::StatusOr<TimerId> id = deadlines_.Start(when, 0, t);
  if (!id.ok()) busy_.fetch_sub(kOneTimer, std::memory_order_seq_cst);
  return id;
}

void Poller::Impl::QueueOut(bool wake, const PollEvent& ev) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (queue_.size() == queue_.capacity()) GrowQueueOrDie();
    queue_.push_back(ev);  // room is there: cannot throw
    // Handshake 3 (see Poll()): this RMW (a store), then Wake()'s CAS of
    // wake_sig_.
    busy_.fetch_add(1, std::memory_order_seq_cst);
  }
  if (wake) (void)Wake();
}

bool Poller::Impl::ReserveQueue() {
  // Each pollDesc in use holds at most two parked waiters; each waiter
  // parked enters the queue at most once per parking.
  std::lock_guard<std::mutex> lock(queue_mu_);
  size_t need = queue_.size() + 2 * size_t{table_.in_use()};
  if (queue_.capacity() >= need) return true;
  try {
    queue_.reserve(std::max(need, 2 * queue_.capacity()));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

void Poller::Impl::GrowQueueOrDie() {
  try {
    queue_.reserve(queue_.capacity() < 64 ? 64 : 2 * queue_.capacity());
  } catch (const std::exception&) {
    std::fputs("gort: netpoll: out of memory queueing a waiter\n", stderr);
    std::abort();
  }
}

PollEvent* Poller::Impl::TakeQueuedLocked(Sink sink) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  size_t k = std::min(queue_.size(), static_cast<size_t>(sink.end - sink.next));
  std::copy(queue_.begin(), queue_.begin() + k, sink.next);
  queue_.erase(queue_.begin(), queue_.begin() + k);
  if (k != 0) busy_.fetch_sub(k, std::memory_order_seq_cst);
  return sink.next + k;
}

// Go's netpolldeadlineimpl, run by Poll() for a due deadline timer.
void Poller::Impl::FireDeadline(uintptr_t token, Sink* sink) {
  PollDesc* pd = table_.At(static_cast<uint32_t>(token >> 32));
  if (pd == nullptr) return;
  uintptr_t kind = token & 3;
  uint32_t seq = static_cast<uint32_t>(token >> 2) & kSeqMask;
  uintptr_t rg = 0, wg = 0;
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    if (!pd->in_use) return;
    uint32_t cur = (kind == kKindWrite ? pd->wseq : pd->rseq) & kSeqMask;
    if (cur != seq) return;  // the deadline changed since this timer armed
    if (kind & kKindRead) {
      pd->rd = -1;
      if (pd->rt != 0 && kind != kKindWrite) {
        RemoveTimer(pd->rt);
        pd->rt = 0;
      }
    }
    if (kind & kKindWrite) {
      pd->wd = -1;
      if (kind == kKindWrite && pd->wt != 0) {
        RemoveTimer(pd->wt);
        pd->wt = 0;
      }
    }
    pd->PublishAndUnblock(static_cast<uint32_t>(kind), &rg, &wg);
  }
  HandOut(sink, rg, PollMode::kRead, PollReason::kDeadline);
  HandOut(sink, wg, PollMode::kWrite, PollReason::kDeadline);
}

PollEvent* Poller::Impl::RunDeadlines(int64_t now, Sink sink) {
  int64_t next = deadlines_.NextWhen();
  uintptr_t tokens[64];
  while (next >= 0 && next <= now) {
    size_t n = 0;
    next = deadlines_.Run(now, tokens, 64, &n);
    // Fired, not removed: still counted in busy_ until FireDeadline()
    // removes them (a fired timer's record stays until Remove()).
    for (size_t i = 0; i < n; ++i) FireDeadline(tokens[i], &sink);
  }
  return sink.next;
}

absl::StatusOr<PollDescId> Poller::Impl::Register(intptr_t fd) {
  PollDescId id;
  PollDesc* pd = table_.Alloc(&id);
  if (pd == nullptr) return Err(GORT_ENOMEM, "netpoll register");
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    pd->fd = fd;
  }
  // After Alloc(), so the count it reserves for includes this pollDesc
  // (and every other allocated before: the last reservation sees them all).
  // The OS's own backend may take tagged keys (Go: netpoll_epoll.go's
  // taggedPointer); others (tests') are given the handle.
  uint64_t key = id;
  if (internal::NativePollBackend::kTaggedKeys && native_ != nullptr) {
    key = PollDescTable::TaggedKey(pd, id);
  }
  absl::Status s = key == 0 ? Err(GORT_ENOMEM, "netpoll register: address")
                   : ReserveQueue()
                       ? backend_->Add(fd, key)
                       : Err(GORT_ENOMEM, "netpoll register: queue");
  if (!s.ok()) {
    uintptr_t rg, wg;
    (void)table_.Retire(pd, id);
    table_.Free(pd, &rg, &wg);  // nothing can have parked: never handed out
    return s;
  }
#ifdef _WIN32
  // Before the handle is returned: no operation can have started yet.
  bool skip = backend_->SetSkipOnSuccess(fd);
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    pd->skip_sync = skip;
  }
  pd->io_refs.store(1, std::memory_order_release);  // the registration's
#endif
  return id;
}

// Go's poll_runtime_pollUnblock.
absl::Status Poller::Impl::Evict(PollDescId id) {
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll evict");
  uintptr_t rg = 0, wg = 0;
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    if (pd->closing) return absl::OkStatus();
    pd->closing = true;
    pd->rseq++;
    pd->wseq++;
    pd->PublishAndUnblock(kPollRead | kPollWrite, &rg, &wg);
    StopTimers(*pd);
  }
  HandOut<Sink>(nullptr, rg, PollMode::kRead, PollReason::kClosing);
  HandOut<Sink>(nullptr, wg, PollMode::kWrite, PollReason::kClosing);
  return absl::OkStatus();
}

// Go's poll_runtime_pollClose plus the pollCache free that bumps fdseq.
absl::Status Poller::Impl::Unregister(PollDescId id) {
  absl::Status s = Evict(id);
  if (!s.ok()) return Err(GORT_EBADF, "netpoll unregister");
  PollDesc* raw;
  intptr_t fd;
  {
    Pin pd = table_.Acquire(id);
    if (!pd) return Err(GORT_EBADF, "netpoll unregister");
    // Only one caller wins; from here on new calls with `id` fail.
    if (!table_.Retire(pd.get(), id)) {
      return Err(GORT_EBADF, "netpoll unregister");
    }
    {
      std::lock_guard<std::mutex> lock(pd->mu);
      fd = pd->fd;
    }
    raw = pd.get();
  }
  absl::Status removed = backend_->Remove(fd);
#ifdef _WIN32
  // An operation still in flight keeps the pollDesc (its OVERLAPPED is the
  // kernel's): the last packet frees it (Poll(), DropIoRef). The handle is
  // already stale, so the packet hands nothing out. seq_cst pairs with the
  // increment in Overlapped(): a record taken after this drop fails there.
  // Counted before the drop, so the free that follows it (DropIoRef)
  // never takes the count below zero.
  deferred_frees_.fetch_add(1, std::memory_order_relaxed);
  if (raw->io_refs.fetch_sub(1, std::memory_order_seq_cst) != 1) {
    return removed;
  }
  deferred_frees_.fetch_sub(1, std::memory_order_relaxed);
#endif
  uintptr_t rg, wg;
  table_.Free(raw, &rg, &wg);
  // Evict() took every parked waiter and a closing pollDesc parks no more:
  // a token here is a bug in gort (Go throws "blocked read on closing
  // polldesc"). Debug builds stop; release builds still hand it out.
  assert(rg == 0 && wg == 0 && "a waiter parked on a closing pollDesc");
  HandOut<Sink>(nullptr, rg, PollMode::kRead, PollReason::kClosing);
  HandOut<Sink>(nullptr, wg, PollMode::kWrite, PollReason::kClosing);
  return removed;
}

// Go's poll_runtime_pollReset.
absl::Status Poller::Impl::Prepare(PollDescId id, PollMode mode) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll prepare: mode");
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll prepare");
  int code = pd->CheckErr(mode);
  if (code == 0) code = pd->Reset(mode);
  if (code != 0) return Err(code, "netpoll prepare");
  return absl::OkStatus();
}

// Go's poll_runtime_pollWait and netpollblock, with the commit step
// (netpollblockcommit) done here: the caller's waiter is already suspended.
absl::StatusOr<WaitResult> Poller::Impl::Wait(PollDescId id, PollMode mode,
                                              uintptr_t token) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll wait: mode");
  if (token <= kPdWait) return Err(GORT_EINVAL, "netpoll wait: token");
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll wait");
  int code = pd->CheckErr(mode);
  if (code == 0) code = pd->Block(mode, token);
  if (code == internal::kBlockParked) return WaitResult::kParked;
  if (code == internal::kBlockReady) return WaitResult::kReady;
  return Err(code, "netpoll wait");
}

// Go's netpollcheckerr, on its own: the check pollWait makes after a wake.
absl::Status Poller::Impl::Check(PollDescId id, PollMode mode) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll check: mode");
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll check");
  int code = pd->CheckErr(mode);
  if (code != 0) return Err(code, "netpoll check");
  return absl::OkStatus();
}

// Go's poll_runtime_pollSetDeadline.
absl::Status Poller::Impl::SetDeadline(PollDescId id, int64_t d,
                                       PollMode mode) {
  if (!OneMode(mode) && mode != PollMode::kReadWrite) {
    return Err(GORT_EINVAL, "netpoll set deadline: mode");
  }
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll set deadline");
  uintptr_t rg = 0, wg = 0;
  bool armed = true;
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    if (pd->closing) return absl::OkStatus();
    int64_t rd0 = pd->rd, wd0 = pd->wd;
    bool combo0 = rd0 > 0 && rd0 == wd0;
    if (d > 0) {
      int64_t now = Nanotime();
      d = d > INT64_MAX - now ? INT64_MAX : d + now;  // saturate
    }
    bool r = mode != PollMode::kWrite, w = mode != PollMode::kRead;
    if (r) pd->rd = d;
    if (w) pd->wd = d;
    bool combo = pd->rd > 0 && pd->rd == pd->wd;
    if (pd->rt != 0 ? (pd->rd != rd0 || combo != combo0) : pd->rd > 0) {
      pd->rseq++;
      if (pd->rt != 0) RemoveTimer(pd->rt);
      pd->rt = 0;
      if (pd->rd > 0) {
        absl::StatusOr<TimerId> t =
            ArmTimer(*pd, pd->rd, combo ? kKindBoth : kKindRead, pd->rseq);
        armed = armed && t.ok();
        pd->rt = t.ok() ? *t : 0;
      }
    }
    if (pd->wt != 0 ? (pd->wd != wd0 || combo != combo0)
                    : (pd->wd > 0 && !combo)) {
      pd->wseq++;
      if (pd->wt != 0) RemoveTimer(pd->wt);
      pd->wt = 0;
      if (pd->wd > 0 && !combo) {
        absl::StatusOr<TimerId> t = ArmTimer(*pd, pd->wd, kKindWrite, pd->wseq);
        armed = armed && t.ok();
        pd->wt = t.ok() ? *t : 0;
      }
    }
    // A deadline in the past unblocks pending I/O now.
    uint32_t expired =
        (pd->rd < 0 ? kPollRead : 0) | (pd->wd < 0 ? kPollWrite : 0);
    pd->PublishAndUnblock(expired, &rg, &wg);
  }
  HandOut<Sink>(nullptr, rg, PollMode::kRead, PollReason::kDeadline);
  HandOut<Sink>(nullptr, wg, PollMode::kWrite, PollReason::kDeadline);
  if (!armed) return Err(GORT_ENOMEM, "netpoll set deadline: timer");
  return absl::OkStatus();
}

// The body of Go's netpoll loop, for one harvested event.
template <typename Event, typename S>
[[gnu::always_inline]] inline void Poller::Impl::OnEvent(const Event& ev,
                                                         S* sink) {
#ifdef _WIN32
  if (ev.op != nullptr) {
    PollDesc* owner = table_.At(static_cast<uint32_t>(ev.key) - 1);
    if (owner != nullptr) CompleteOp(owner, *ev.op, ev.key, sink);
    return;
  }
#endif
  // Pinned, as every call is: an Unregister() racing with us waits in
  // Free() until we are done, so an event harvested for the old descriptor
  // never readies (or takes a waiter of) the one that reuses the pollDesc.
  PollDesc* pd;
  bool pinned;
  if constexpr (Event::kTaggedKey) {
    pd = PollDescTable::TaggedDesc(ev.Key());
    pinned = PollDescTable::PinTagged(pd, ev.Key());
  } else {
    pd = table_.TryPin(ev.Key());
    pinned = pd != nullptr;
  }
  if (!pinned) [[unlikely]] {  // harvested for a closed (maybe reused) pollDesc
    stale_events_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pd->SetEventErr(ev.ErrorOnly());
  if (ev.Readable()) {
    pd->Ready(PollMode::kRead, [this, sink](uintptr_t token) {
      HandOutToken(sink, token, PollMode::kRead, PollReason::kReady);
    });
  }
  if (ev.Writable()) {
    // Ready first: a writable descriptor's events mostly find its write
    // direction ready already (no writer waits), as every event of an echo
    // server's connection does (EPOLLIN | EPOLLOUT).
    pd->template Ready<true>(PollMode::kWrite, [this, sink](uintptr_t token) {
      HandOutToken(sink, token, PollMode::kWrite, PollReason::kReady);
    });
  }
  PollDescTable::Unpin(pd);
}

namespace {

// Poll()'s errors, as PollCode() returns them (netpoll.h): its arguments
// (EINVAL), the OS backend's wait failing with errno e (kPollWaitFailed -
// e: e > 0, see Harvest()), or another backend's (tests') status, kept
// for PollError() in the calling thread's slot below. Only codes: the
// status is made by PollError(), out of line, so that the hot path keeps
// nothing for it (no registers, no Status destructor).
constexpr ptrdiff_t kPollBadArgs = -1;
constexpr ptrdiff_t kPollStashed = -2;
constexpr ptrdiff_t kPollWaitFailed = -2;  // less the errno: <= -3

ptrdiff_t PollWaitError(int err) { return kPollWaitFailed - err; }

// A status of a backend other than the OS's between PollCode() and
// PollError(), which Poll() calls at once on the same thread (a status of
// any code and context, which no code could carry). Raw storage, so that
// the thread_local has no destructor to register (nor to run at thread
// exit): PollError() moves the status out and destroys it.
alignas(absl::Status) thread_local unsigned char t_poll_status[sizeof(
    absl::Status)];

GORT_NOINLINE ptrdiff_t StashPollStatus(absl::Status s) {
  new (t_poll_status) absl::Status(std::move(s));
  return kPollStashed;
}

absl::Status TakePollStatus() {
  absl::Status* p =
      std::launder(reinterpret_cast<absl::Status*>(t_poll_status));
  absl::Status s = std::move(*p);
  p->~Status();
  return s;
}

}  // namespace

absl::Status Poller::PollError(ptrdiff_t code) {
  absl::Status s;
  if (code == kPollBadArgs) {
    s = Err(GORT_EINVAL, "netpoll poll");
  } else if (code == kPollStashed) {
    s = TakePollStatus();
  } else {
    s = internal::NativePollBackend::WaitError(
        static_cast<int>(kPollWaitFailed - code));
  }
  // Never OK (Poll() assumes it): none of the three is; this only makes
  // it sure.
  if (s.ok()) [[unlikely]] {
    s = Err(GORT_EUNKNOWN, "netpoll poll");
  }
  return s;
}

void Poller::Impl::WakeForQueued() { (void)Wake(); }

Poller::Impl::PollPrelude Poller::Impl::Prelude(int64_t delay, Sink sink,
                                                const PollEvent* out) {
  if (Queued() != 0) {
    sink.next = TakeQueuedLocked(sink);
  }
  // The clock is read only when a deadline is armed.
  int64_t next = deadlines_.NextWhen();
  int64_t now = -1;
  if (next >= 0) {
    now = Nanotime();
    if (next <= now) {
      sink.next = RunDeadlines(now, sink);
      next = deadlines_.NextWhen();
    }
  }
  int64_t wait = sink.next != out ? 0 : delay;
  if (next >= 0 && wait != 0) {
    int64_t until = next > now ? next - now : 0;
    if (wait < 0 || until < wait) wait = until;
  }
  return {sink.next, wait};
}

// Poll()'s harvest when it is not the common one: a backend other than the
// OS's own (tests), or room for more than kStackEvents waiters (the big
// buffer, one Poll() at a time; another meanwhile takes the stack).
PollEvent* Poller::Impl::HarvestOther(int64_t wait, Sink sink,
                                      internal::BackendWaitResult* r,
                                      absl::Status* err) {
  size_t room = static_cast<size_t>(sink.end - sink.next);
  BigHarvest big(this);
  bool big_room = room > internal::kStackEvents && big.Claim();
  if (native_ != nullptr) {
    int e;
    do {
      Harvester<Sink> h{this, sink};
      e = native_->Harvest(
          wait, big_room ? room : std::min(room, internal::kStackEvents), r, h);
      sink = h.sink;
    } while (e == internal::kHarvestAgain);
    if (e != 0) *err = internal::NativePollBackend::WaitError(e);
    if (r->broke) native_->ConsumeWake();
    return sink.next;
  }
  BackendEvent stack[internal::kStackEvents];
  BackendEvent* evs = stack;
  size_t cap = std::min(internal::kStackEvents, room);
  if (big_room) evs = harvest_.Get(stack, room, &cap);
  {
    absl::StatusOr<internal::BackendWaitResult> got =
        backend_->Wait(wait, evs, cap);
    if (!got.ok()) {
      *err = got.status();
      return sink.next;
    }
    *r = *got;
  }
  for (size_t i = 0; i < r->n; ++i) OnEvent(evs[i], &sink);
  return sink.next;
}

// Handshake 3: a token handed out by another thread must not sit in the
// queue while every poller sleeps. HandOut() adds to busy_'s queue count
// (an RMW: a store), then Wake() CASes wake_sig_ from 0; Poll() stores
// wake_sig_ = 0 after consuming the wake-up, then loads busy_ (Queued()).
// All seq_cst (store then load on each side):
// either Poll() sees the token, or Wake() sees 0 and signals the backend
// again. Waiters left in the queue when Poll() returns (more than `n`, or
// queued while it ran) get a Wake() too, so another thread blocked in
// Poll() takes them: Go's netpoll returns every ready goroutine and
// injectglist starts idle Ps for them.
// PollGeneral() is all of it; Poll() below is its common case alone.
// `sink` never has its address taken here, so it lives in registers.
ptrdiff_t Poller::Impl::PollGeneral(int64_t delay, PollEvent* out, size_t n) {
  if (out == nullptr || n == 0) [[unlikely]] {
    return kPollBadArgs;
  }
  Sink sink{out, out + n};
  int64_t wait = delay;
  // Waiters queued, deadlines armed: PollPrelude() takes the first and
  // fires those due, and bounds the wait by the next. A deadline armed
  // after our load of NextWhen() wakes us (the heap's earlier hook calls
  // Wake(), as Go's wakeNetPoller does): none armed needs no second look.
  if (Queued() != 0 || deadlines_.NextWhen() >= 0) [[unlikely]] {
    PollPrelude p = Prelude(delay, sink, out);
    sink.next = p.next;
    wait = p.wait;
    // The queue filled the sink: no wait (Go's netpoll is not called).
    if (sink.full()) goto check_queue;
  }
  {
    // One kernel wait harvests up to the room left (at most kMaxHarvest).
    internal::BackendWaitResult r;
    size_t room = static_cast<size_t>(sink.end - sink.next);
    if (native_ != nullptr && room <= internal::kStackEvents) [[likely]] {
      // The OS's own backend, inlined: each kernel event is handled as it
      // is translated (Go's netpoll loop), with no copy in between. Its
      // rare steps start over from native_ (kHarvestAgain, ConsumeWake),
      // so that nothing of the wait's own is kept across it.
      for (;;) {
        Harvester<Sink> h{this, sink};
        int err = native_->Harvest(wait, room, &r, h);
        sink = h.sink;
        if (err == 0) [[likely]] {
          break;
        }
        if (err != internal::kHarvestAgain) return PollWaitError(err);
      }
      if (r.broke) [[unlikely]] {
        native_->ConsumeWake();
      }
    } else {
      internal::BackendWaitResult got;
      absl::Status err;
      sink.next = HarvestOther(wait, sink, &got, &err);
      if (!err.ok()) return StashPollStatus(std::move(err));
      r = got;
    }
    // After the events, as Go's netpoll stores netpollWakeSig in its loop:
    // the load of busy_ below (handshake 3) still comes after this store.
    if (r.broke) [[unlikely]] {
      wake_sig_.store(0, std::memory_order_seq_cst);
    }
    if (r.foreign != 0) [[unlikely]] {
      foreign_events_.fetch_add(r.foreign, std::memory_order_relaxed);
    }
    if (r.n != 0) events_.fetch_add(r.n, std::memory_order_relaxed);
    if (wait != 0 && !sink.full()) {
      int64_t next = deadlines_.NextWhen();
      if (next >= 0) [[unlikely]] {
        int64_t now = Nanotime();
        if (next <= now) sink.next = RunDeadlines(now, sink);
      }
      // Handshake 3's load. Finding the queue empty settles the check
      // below too: a waiter queued after this load is another thread's to
      // wake for (QueueOut() outside Poll() calls Wake(); a Poll() that
      // overflowed its sink checks before it returns, as we do).
      if (Queued() == 0) [[likely]] {
        return sink.next - out;
      }
      sink.next = TakeQueuedLocked(sink);
    }
  }
check_queue:
  if (Queued() != 0) WakeForQueued();
  return sink.next - out;
}

PollEvent* Poller::Impl::AfterWait(Sink sink) {
  // PollGeneral()'s steps after the wait, in its order.
  int64_t next = deadlines_.NextWhen();
  if (next >= 0) {
    int64_t now = Nanotime();
    if (next <= now) sink.next = RunDeadlines(now, sink);
  }
  if (Queued() != 0) {
    sink.next = TakeQueuedLocked(sink);
    if (Queued() != 0) WakeForQueued();
  }
  return sink.next;
}

// Poll()'s common case, PollGeneral() with what it cannot meet taken out:
// the OS's own backend, room for 1 to kStackEvents waiters (the stack
// array), nothing queued and no deadline timer before the wait. Always
// inlined into Poller::Poll(), its only caller (a call layer less on every
// poll); anything else is one call to PollGeneral(), before any work.
// After the wait the same steps as PollGeneral()'s, in the same order (the
// wake flag cleared, then handshake 3's load of busy_), with the rare
// ones in AfterWait(). Fewer values live across the wait than in
// PollGeneral() (no separate `wait`, no prelude's results): fewer
// callee-saved registers and spills on every call.
[[gnu::always_inline]] inline ptrdiff_t Poller::Impl::Poll(int64_t delay,
                                                           PollEvent* out,
                                                           size_t n) {
  // n - 1 wraps for n == 0: one compare for "no room", "more room than
  // the stack array" and "not the OS's own backend" (fast_room_ 0;
  // PollGeneral() answers the first with EINVAL). native_ is loaded once,
  // before the atomic loads below (after which the compiler would load it
  // again).
  internal::NativePollBackend* const native = native_;
  if (out == nullptr || n - 1 >= fast_room_) [[unlikely]] {
    return PollGeneral(delay, out, n);
  }
  // fast_room_ <= kStackEvents: the backend's test for its bigger array
  // goes.
  if (n > internal::kStackEvents) __builtin_unreachable();
  // Nothing queued and no deadline timer (busy_ 0), in one test:
  // anything else is PollGeneral()'s prelude. A deadline armed after this
  // load wakes us (see busy_ and PollGeneral()).
  if (Busy()) [[unlikely]] {
    return PollGeneral(delay, out, n);
  }
  Harvester<OffsetSink> h{this, OffsetSink{out, 0, OffsetSink::LastFor(n)}};
  internal::BackendWaitResult r;
  int err = native->Harvest(delay, n, &r, h);
  if (err != 0) [[unlikely]] {
    // Interrupted before any event was handled (an untimed wait): wait
    // again, as PollGeneral() would, which starts over from the queue and
    // the deadlines (the same as a Poll() called again: nothing is lost).
    // Nothing of this wait's is then live across epoll_wait for a retry.
    if (err == internal::kHarvestAgain) {
      return PollGeneral(delay, out, h.sink.n());
    }
    return PollWaitError(err);
  }
  if (r.broke) [[unlikely]] {
    native_->ConsumeWake();
    wake_sig_.store(0, std::memory_order_seq_cst);
  }
  // IOCP: packets for foreign keys (never set by the other backends, so
  // the test goes where the compiler sees that).
  if (r.foreign != 0) [[unlikely]] {
    foreign_events_.fetch_add(r.foreign, std::memory_order_relaxed);
  }
  // Unconditionally: a wait that timed out adds 0, where a test would cost
  // every other call.
  events_.fetch_add(r.n, std::memory_order_relaxed);
  // Handshake 3's load, with the deadline test, in the same test as before
  // the wait (nothing queued, no deadline timer: the common case, done).
  // Else PollGeneral()'s steps, out of line (BusyAfterWait()).
  if (Busy()) [[unlikely]] {
    return static_cast<ptrdiff_t>(BusyAfterWait(delay, h.sink));
  }
  return static_cast<ptrdiff_t>(h.sink.count());
}

size_t Poller::Impl::BusyAfterWait(int64_t delay, OffsetSink sink) {
  // A blocking poll with room left fires due deadlines and takes the queue
  // (AfterWait()); any other wakes another poller for what is queued.
  if (delay != 0 && !sink.full()) {
    return static_cast<size_t>(AfterWait(sink.AsSink()) - sink.out);
  }
  if (Queued() != 0) WakeForQueued();
  return sink.count();
}

// Go's netpollBreak: one signal until a blocking poll consumes it. A signal
// that could not be sent clears the flag again (else every later Wake()
// would be taken for one in flight) and is reported; Go throws.
absl::Status Poller::Impl::Wake() {
  wakes_.fetch_add(1, std::memory_order_relaxed);
  uint32_t expected = 0;
  if (!wake_sig_.compare_exchange_strong(expected, 1,
                                         std::memory_order_seq_cst)) {
    return absl::OkStatus();
  }
  wakes_sent_.fetch_add(1, std::memory_order_relaxed);
  absl::Status s = backend_->Break();
  if (!s.ok()) {
    wake_sig_.store(0, std::memory_order_seq_cst);
    wake_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

#ifdef _WIN32
void Poller::Impl::DropIoRef(PollDesc* pd) {
  if (pd->io_refs.fetch_sub(1, std::memory_order_seq_cst) != 1) return;
  // The last reference of an unregistered pollDesc: Unregister() left the
  // free to us. Its handle is retired, so nobody can have pinned it since.
  uintptr_t rg, wg;
  table_.Free(pd, &rg, &wg);
  deferred_frees_.fetch_sub(1, std::memory_order_relaxed);
  HandOut<Sink>(nullptr, rg, PollMode::kRead, PollReason::kClosing);
  HandOut<Sink>(nullptr, wg, PollMode::kWrite, PollReason::kClosing);
}

template <typename S>
void Poller::Impl::CompleteOp(PollDesc* raw, internal::WinOp& op, uint64_t key,
                              S* sink) {
  PollMode mode = op.mode == kPollRead ? PollMode::kRead : PollMode::kWrite;
  // Idle first, then ready: a waiter handed its token below must find the
  // result in the record and may start the next operation at once. (A
  // readiness that then reaches the next operation's waiter only makes it
  // look at its record, still in flight, and park again.) The bytes and
  // error were stored before; release publishes them with the flag.
  op.in_flight.store(0, std::memory_order_seq_cst);
  ops_in_flight_.fetch_sub(1, std::memory_order_relaxed);
  {
    Pin pd = table_.Acquire(key);
    if (!pd) {
      stale_events_.fetch_add(1, std::memory_order_relaxed);
    } else {
      pd->SetEventErr(false);
      HandOut(sink, pd->Ready(mode), mode, PollReason::kReady);
    }
  }  // unpinned before a free, which waits for pins
  DropIoRef(raw);
}
#endif

absl::StatusOr<void*> Poller::Impl::Overlapped(PollDescId id, PollMode mode) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll overlapped: mode");
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll overlapped");
#ifdef _WIN32
  internal::WinOp& op = pd->ops[mode == PollMode::kRead ? 0 : 1];
  uint32_t idle = 0;
  if (!op.in_flight.compare_exchange_strong(idle, 1,
                                            std::memory_order_acq_rel)) {
    return Err(GORT_EBUSY, "netpoll overlapped: an operation is in flight");
  }
  // A reference for the operation, never from zero: Unregister() may have
  // dropped the registration's since we pinned (then Free() waits for our
  // pin, and the record must not go out). seq_cst with Unregister's drop.
  uint32_t refs = pd->io_refs.load(std::memory_order_seq_cst);
  do {
    if (refs == 0) {
      op.in_flight.store(0, std::memory_order_release);
      return Err(GORT_EBADF, "netpoll overlapped");
    }
  } while (!pd->io_refs.compare_exchange_weak(
      refs, refs + 1, std::memory_order_seq_cst, std::memory_order_seq_cst));
  ops_in_flight_.fetch_add(1, std::memory_order_relaxed);
  // Ours alone until the operation starts: no packet can name it before.
  std::memset(op.overlapped, 0, sizeof(op.overlapped));
  op.key = id;
  op.mode = mode == PollMode::kRead ? kPollRead : kPollWrite;
  op.bytes = 0;
  op.error = 0;
  return static_cast<void*>(op.overlapped);
#else
  return Err(GORT_ENOTSUP, "netpoll overlapped: Windows only");
#endif
}

absl::Status Poller::Impl::OverlappedNotQueued(PollDescId id, PollMode mode,
                                               OverlappedResult result) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll overlapped: mode");
#ifdef _WIN32
  // Not through Acquire(): the record keeps its pollDesc alive even after
  // Unregister() retired the handle, and must be released then too.
  uint32_t low = static_cast<uint32_t>(id);
  PollDesc* pd = low == 0 ? nullptr : table_.At(low - 1);
  if (pd == nullptr) return Err(GORT_EBADF, "netpoll overlapped not queued");
  internal::WinOp& op = pd->ops[mode == PollMode::kRead ? 0 : 1];
  if (op.in_flight.load(std::memory_order_acquire) != 1 || op.key != id) {
    // A live handle whose record is idle is the caller's mistake (EINVAL);
    // anything else names no record handed out (EBADF).
    if (!table_.Acquire(id)) {
      return Err(GORT_EBADF, "netpoll overlapped not queued");
    }
    return Err(GORT_EINVAL, "netpoll overlapped not queued: not in flight");
  }
  op.bytes = result.bytes;
  op.error = result.error;
  CompleteOp<Sink>(pd, op, id, nullptr);
  return absl::OkStatus();
#else
  (void)id;
  (void)result;
  return Err(GORT_ENOTSUP, "netpoll overlapped not queued: Windows only");
#endif
}

absl::StatusOr<OverlappedResult> Poller::Impl::GetOverlappedResult(
    PollDescId id, PollMode mode) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll overlapped: mode");
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll overlapped result");
#ifdef _WIN32
  const internal::WinOp& op = pd->ops[mode == PollMode::kRead ? 0 : 1];
  // Acquire: pairs with CompleteOp's store, after the result was written.
  if (op.in_flight.load(std::memory_order_acquire) != 0) {
    return Err(GORT_EBUSY, "netpoll overlapped result: in flight");
  }
  return OverlappedResult{op.bytes, op.error};
#else
  return Err(GORT_ENOTSUP, "netpoll overlapped result: Windows only");
#endif
}

// Go's poll_runtime_pollWaitCanceled: `for !netpollblock(pd, mode, true)`.
absl::StatusOr<WaitResult> Poller::Impl::WaitCanceled(PollDescId id,
                                                      PollMode mode,
                                                      uintptr_t token) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll wait canceled: mode");
  if (token <= kPdWait) return Err(GORT_EINVAL, "netpoll wait canceled: token");
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll wait canceled");
#ifdef _WIN32
  const internal::WinOp& op = pd->ops[mode == PollMode::kRead ? 0 : 1];
  for (;;) {
    // CompleteOp clears the flag before it readies the direction, so once
    // we saw the flag set, the readiness that follows its clearing either
    // is there for Block() to consume or takes the token Block() parks.
    if (op.in_flight.load(std::memory_order_acquire) == 0) {
      return WaitResult::kReady;
    }
    int code = pd->Block(mode, token, /*waitio=*/true);
    if (code == internal::kBlockParked) return WaitResult::kParked;
    if (code != internal::kBlockReady) {
      return Err(code, "netpoll wait canceled");
    }
    // Ready, maybe a stale readiness of an earlier packet: look again.
  }
#else
  return Err(GORT_ENOTSUP, "netpoll wait canceled: Windows only");
#endif
}

absl::StatusOr<bool> Poller::Impl::SkipsCompletionOnSuccess(PollDescId id) {
  Pin pd = table_.Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll skips completion on success");
#ifdef _WIN32
  std::lock_guard<std::mutex> lock(pd->mu);
  return pd->skip_sync;
#else
  return Err(GORT_ENOTSUP, "netpoll skips completion on success: Windows only");
#endif
}

Poller::Impl::~Impl() {
  if (ops_in_flight_.load(std::memory_order_acquire) == 0) return;
    // The kernel still owns an OVERLAPPED in the table: see netpoll.h.
#ifndef NDEBUG
  std::fputs(
      "gort: netpoll: Poller destroyed with an overlapped operation in "
      "flight\n",
      stderr);
  std::abort();
#else
  table_.LeakOnDestroy();
  g_leaked_pollers.fetch_add(1, std::memory_order_relaxed);
#endif
}

PollerStats Poller::Impl::stats() const {
  PollerStats s;
  s.wakes = wakes_.load(std::memory_order_relaxed);
  s.wakes_sent = wakes_sent_.load(std::memory_order_relaxed);
  s.wake_errors = wake_errors_.load(std::memory_order_relaxed);
  s.events = events_.load(std::memory_order_relaxed);
  s.stale_events = stale_events_.load(std::memory_order_relaxed);
  s.foreign_events = foreign_events_.load(std::memory_order_relaxed);
  s.deadline_timers = deadlines_.pending();
  s.ops_in_flight = ops_in_flight_.load(std::memory_order_relaxed);
  s.deferred_frees = deferred_frees_.load(std::memory_order_relaxed);
  return s;
}

void Poller::Impl::ParkRawForTest(PollDescId id, PollMode mode,
                                  uintptr_t token) {
  Pin pd = table_.Acquire(id);
  if (pd) pd->g(mode).store(token, std::memory_order_seq_cst);
}

// The public class forwards to Impl.

absl::StatusOr<std::unique_ptr<Poller>> Poller::Open() {
  absl::StatusOr<std::unique_ptr<internal::NativePollBackend>> b =
      internal::NativePollBackend::Open();
  if (!b.ok()) return b.status();
  internal::NativePollBackend* native = b->get();
  std::unique_ptr<Impl> impl(new (std::nothrow) Impl(std::move(*b), native));
  if (impl == nullptr) return Err(GORT_ENOMEM, "netpoll open");
  // If this allocation fails, Poller's constructor never runs and `impl`
  // still owns (and frees) the Impl.
  std::unique_ptr<Poller> poller(new (std::nothrow) Poller(std::move(impl)));
  if (poller == nullptr) return Err(GORT_ENOMEM, "netpoll open");
  return poller;
}

// As Poller::Open(), over any backend: always through its virtual calls.
absl::StatusOr<std::unique_ptr<Poller>> internal::PollerAccess::Open(
    std::unique_ptr<PollBackend> backend) {
  std::unique_ptr<Poller::Impl> impl(
      new (std::nothrow) Poller::Impl(std::move(backend), nullptr));
  if (impl == nullptr) return Err(GORT_ENOMEM, "netpoll open");
  std::unique_ptr<Poller> poller(new (std::nothrow) Poller(std::move(impl)));
  if (poller == nullptr) return Err(GORT_ENOMEM, "netpoll open");
  return poller;
}

uint64_t internal::PollersLeakedWithOpsInFlight() {
  return g_leaked_pollers.load(std::memory_order_relaxed);
}

internal::PollDesc* internal::PollerAccess::DescOf(Poller& p, PollDescId pd) {
  return p.impl_->DescOf(pd);
}

uint64_t internal::PollerAccess::Busy(Poller& p) {
  return p.impl_->BusyForTest();
}

void internal::PollerAccess::ParkRaw(Poller& p, PollDescId pd, PollMode mode,
                                     uintptr_t token) {
  p.impl_->ParkRawForTest(pd, mode, token);
}

Poller::Poller(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Poller::~Poller() = default;

absl::StatusOr<PollDescId> Poller::Register(intptr_t fd) {
  return impl_->Register(fd);
}
absl::Status Poller::Evict(PollDescId pd) { return impl_->Evict(pd); }
absl::Status Poller::Unregister(PollDescId pd) { return impl_->Unregister(pd); }
absl::Status Poller::Prepare(PollDescId pd, PollMode mode) {
  return impl_->Prepare(pd, mode);
}
absl::StatusOr<WaitResult> Poller::Wait(PollDescId pd, PollMode mode,
                                        uintptr_t token) {
  return impl_->Wait(pd, mode, token);
}
absl::Status Poller::Check(PollDescId pd, PollMode mode) {
  return impl_->Check(pd, mode);
}
absl::Status Poller::SetDeadline(PollDescId pd, int64_t d, PollMode mode) {
  return impl_->SetDeadline(pd, d, mode);
}
absl::Status Poller::SetDeadline(PollDescId pd, absl::Duration d,
                                 PollMode mode) {
  if (d == absl::InfiniteDuration()) return impl_->SetDeadline(pd, 0, mode);
  if (d == -absl::InfiniteDuration()) return impl_->SetDeadline(pd, -1, mode);
  int64_t ns = absl::ToInt64Nanoseconds(absl::Ceil(d, absl::Nanoseconds(1)));
  if (ns == 0) ns = -1;  // "now" has passed by the time it is set
  return impl_->SetDeadline(pd, ns, mode);
}
ptrdiff_t Poller::PollCode(PollEvent* out, size_t n, int64_t delay) {
  return impl_->Poll(delay, out, n);
}
absl::Status Poller::Wake() { return impl_->Wake(); }
absl::StatusOr<void*> Poller::Overlapped(PollDescId pd, PollMode mode) {
  return impl_->Overlapped(pd, mode);
}
absl::Status Poller::OverlappedNotQueued(PollDescId pd, PollMode mode,
                                         OverlappedResult result) {
  return impl_->OverlappedNotQueued(pd, mode, result);
}
absl::StatusOr<OverlappedResult> Poller::GetOverlappedResult(PollDescId pd,
                                                             PollMode mode) {
  return impl_->GetOverlappedResult(pd, mode);
}
absl::StatusOr<WaitResult> Poller::WaitCanceled(PollDescId pd, PollMode mode,
                                                uintptr_t token) {
  return impl_->WaitCanceled(pd, mode, token);
}
absl::StatusOr<bool> Poller::SkipsCompletionOnSuccess(PollDescId pd) {
  return impl_->SkipsCompletionOnSuccess(pd);
}
PollerStats Poller::stats() const { return impl_->stats(); }
size_t Poller::PollDescBytes() { return sizeof(PollDesc); }
const char* Poller::BackendName() { return internal::PollBackendName(); }

}  // namespace gort
