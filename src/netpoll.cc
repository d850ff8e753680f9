// The portable netpoller: pollDesc state machine, deadlines, close and
// stale-event protection, written once for every backend (Go:
// runtime/netpoll.go).
#include "gort/netpoll.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/time.h"
#include "gort/timer.h"
#include "netpoll_internal.h"

namespace gort {
namespace {

using internal::BackendEvent;
using internal::kPollRead;
using internal::kPollWrite;

// rg/wg values (Go's pdNil, pdReady, pdWait); anything else is a parked
// waiter's token.
constexpr uintptr_t kPdNil = 0;
constexpr uintptr_t kPdReady = 1;
constexpr uintptr_t kPdWait = 2;

// Bits of PollDesc::info, read without the lock (Go's atomicInfo).
constexpr uint32_t kInfoClosing = 1;
constexpr uint32_t kInfoEventErr = 2;
constexpr uint32_t kInfoExpiredRead = 4;
constexpr uint32_t kInfoExpiredWrite = 8;

// pollDescs live in chunks that are never freed before the poller (Go's
// pollCache allocates 4 KiB blocks). A two-level table of chunk pointers,
// grown but never shrunk, lets a handle's index find its pollDesc without a
// lock: 64 directory entries, each a page of 256 chunk pointers (allocated
// when first needed), each chunk 256 pollDescs: 4M pollDescs in all, for a
// fixed cost of 512 bytes per poller.
constexpr int kChunkShift = 8;
constexpr uint32_t kChunkSize = 1u << kChunkShift;
constexpr int kPageShift = 8;
constexpr uint32_t kPageSize = 1u << kPageShift;  // chunk pointers per page
constexpr uint32_t kPages = 64;
constexpr uint32_t kMaxChunks = kPages * kPageSize;

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

}  // namespace

// One watched descriptor. Type-stable: once allocated it stays valid memory
// for the poller's life, whatever happens to the descriptor.
struct PollDesc {
  // Lock-free part (Go: rg, wg, atomicInfo, fdseq). seq is odd while the
  // pollDesc is in use and even while it is free; a handle carries it.
  std::atomic<uintptr_t> rg{kPdNil};
  std::atomic<uintptr_t> wg{kPdNil};
  std::atomic<uint32_t> info{0};
  std::atomic<uint32_t> seq{0};
  // Calls in flight on this pollDesc; Close() waits for them to leave
  // before the pollDesc is reset and reused.
  std::atomic<uint32_t> refs{0};
  uint32_t index = 0;

  // Go's pd.lock and what it guards.
  std::mutex mu;
  bool in_use = false;
  bool closing = false;
  intptr_t fd = -1;
  uint32_t rseq = 0;
  uint32_t wseq = 0;
  int64_t rd = 0;  // read deadline: 0 none, -1 expired
  int64_t wd = 0;
  TimerId rt = 0;  // read timer (also serves writes when rd == wd > 0)
  TimerId wt = 0;
  uint32_t next_free = 0;  // 1-based index; 0 ends the list

#ifdef _WIN32
  internal::WinOp ops[2] = {};  // read, write
#endif

  std::atomic<uintptr_t>& g(PollMode mode) {
    return mode == PollMode::kRead ? rg : wg;
  }
};

namespace {

struct Chunk {
  PollDesc pds[kChunkSize];
};

// Where Poll() writes waiters; what does not fit goes to the poller's queue.
struct Sink {
  PollEvent* out;
  size_t n;
  size_t count;
};

}  // namespace

class Poller::Impl {
 public:
  explicit Impl(std::unique_ptr<internal::PollBackend> backend)
      : backend_(std::move(backend)), pages_{} {
    deadlines_.SetEarlierHook(
        [](void* self) { static_cast<Impl*>(self)->Wake(); }, this);
  }

  ~Impl() {
    for (uint32_t i = 0; i < nchunks_; ++i) delete ChunkSlot(i).load();
    for (std::atomic<ChunkPage*>& p : pages_) delete p.load();
  }

  absl::StatusOr<PollDescId> Register(intptr_t fd);
  absl::Status Evict(PollDescId id);
  absl::Status Close(PollDescId id);
  absl::Status Prepare(PollDescId id, PollMode mode);
  absl::StatusOr<WaitResult> Wait(PollDescId id, PollMode mode,
                                  uintptr_t token);
  absl::Status SetDeadline(PollDescId id, int64_t d, PollMode mode);
  absl::StatusOr<size_t> Poll(int64_t delay, PollEvent* out, size_t n);
  void Wake();
  absl::StatusOr<void*> Overlapped(PollDescId id, PollMode mode);
  absl::StatusOr<OverlappedResult> GetOverlappedResult(PollDescId id,
                                                       PollMode mode);
  PollerStats stats() const;

 private:
  // A pollDesc pinned for one call: its handle was valid when pinned, and
  // Close() waits for the pin to go before reusing it.
  class Pin {
   public:
    explicit Pin(PollDesc* pd) : pd_(pd) {}
    ~Pin() {
      if (pd_ != nullptr) pd_->refs.fetch_sub(1, std::memory_order_release);
    }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    PollDesc* get() const { return pd_; }
    PollDesc* operator->() const { return pd_; }
    explicit operator bool() const { return pd_ != nullptr; }

   private:
    PollDesc* pd_;
  };

  PollDesc* At(uint32_t index) const;
  Pin Acquire(PollDescId id) const;
  PollDesc* Alloc();
  void Free(PollDesc* pd);

  static int CheckErr(const PollDesc& pd, PollMode mode);
  static void PublishInfo(PollDesc& pd);
  static uintptr_t Unblock(PollDesc& pd, PollMode mode, bool ioready);
  void StopTimers(PollDesc& pd);
  uintptr_t ArmTimer(const PollDesc& pd, int64_t when, uintptr_t kind,
                     uint32_t seq);
  void FireDeadline(uintptr_t token, Sink* sink);
  void RunDeadlines(int64_t now, Sink* sink);
  void Emit(Sink* sink, uintptr_t token, PollMode mode, PollReason reason);
  void Enqueue(const PollEvent& ev);
  void DrainQueue(Sink* sink);
  // Hands waiters found outside Poll() to the queue and wakes a poller.
  void Deliver(uintptr_t rg, uintptr_t wg, PollReason reason);

  std::unique_ptr<internal::PollBackend> backend_;
  TimerHeap deadlines_;

  struct ChunkPage {
    std::atomic<Chunk*> chunks[kPageSize] = {};
  };
  std::atomic<Chunk*>& ChunkSlot(uint32_t chunk) const {
    return pages_[chunk >> kPageShift]
        .load(std::memory_order_acquire)
        ->chunks[chunk & (kPageSize - 1)];
  }
  std::atomic<ChunkPage*> pages_[kPages];
  std::mutex alloc_mu_;  // guards the free list and growing
  uint32_t free_head_ = 0;
  uint32_t nchunks_ = 0;

  std::mutex queue_mu_;
  std::vector<PollEvent> queue_;  // waiters not yet handed out
  std::atomic<size_t> queued_{0};

  std::atomic<uint32_t> wake_sig_{0};  // Go's netpollWakeSig
  std::atomic<uint64_t> wakes_{0};
  std::atomic<uint64_t> wakes_sent_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> stale_events_{0};
  std::atomic<uint64_t> foreign_events_{0};
};

PollDesc* Poller::Impl::At(uint32_t index) const {
  if (index >= kMaxChunks * kChunkSize) return nullptr;
  uint32_t chunk = index >> kChunkShift;
  ChunkPage* page = pages_[chunk >> kPageShift].load(std::memory_order_acquire);
  if (page == nullptr) return nullptr;
  Chunk* c =
      page->chunks[chunk & (kPageSize - 1)].load(std::memory_order_acquire);
  if (c == nullptr) return nullptr;
  return &c->pds[index & (kChunkSize - 1)];
}

Poller::Impl::Pin Poller::Impl::Acquire(PollDescId id) const {
  uint32_t low = static_cast<uint32_t>(id);
  uint32_t seq = static_cast<uint32_t>(id >> 32);
  if (low == 0 || (seq & 1) == 0) return Pin(nullptr);
  PollDesc* pd = At(low - 1);
  if (pd == nullptr) return Pin(nullptr);
  // Pin first, then check the sequence: Close() changes the sequence first,
  // then waits for pins to go (both sequentially consistent, so one of the
  // two sees the other).
  pd->refs.fetch_add(1, std::memory_order_seq_cst);
  if (pd->seq.load(std::memory_order_seq_cst) != seq) {
    pd->refs.fetch_sub(1, std::memory_order_release);
    return Pin(nullptr);
  }
  return Pin(pd);
}

PollDesc* Poller::Impl::Alloc() {
  std::lock_guard<std::mutex> lock(alloc_mu_);
  if (free_head_ == 0) {
    if (nchunks_ == kMaxChunks) return nullptr;
    std::atomic<ChunkPage*>& page = pages_[nchunks_ >> kPageShift];
    if (page.load(std::memory_order_relaxed) == nullptr) {
      ChunkPage* fresh = new (std::nothrow) ChunkPage;
      if (fresh == nullptr) return nullptr;
      page.store(fresh, std::memory_order_release);
    }
    Chunk* c = new (std::nothrow) Chunk;
    if (c == nullptr) return nullptr;
    uint32_t base = nchunks_ << kChunkShift;
    for (uint32_t i = 0; i < kChunkSize; ++i) {
      c->pds[i].index = base + i;
      c->pds[i].next_free = i + 1 < kChunkSize ? base + i + 2 : 0;
    }
    ChunkSlot(nchunks_).store(c, std::memory_order_release);
    ++nchunks_;
    free_head_ = base + 1;
  }
  PollDesc* pd = At(free_head_ - 1);
  free_head_ = pd->next_free;
  pd->next_free = 0;
  return pd;
}

// Called once the handle's sequence has moved on (no new pins): waits for
// the calls that pinned the pollDesc before, then resets it for reuse.
void Poller::Impl::Free(PollDesc* pd) {
  while (pd->refs.load(std::memory_order_acquire) != 0) {
    std::this_thread::yield();
  }
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    pd->in_use = false;
    pd->closing = false;
    pd->fd = -1;
    pd->rd = pd->wd = 0;
    pd->rg.store(kPdNil, std::memory_order_relaxed);
    pd->wg.store(kPdNil, std::memory_order_relaxed);
    pd->info.store(0, std::memory_order_release);
  }
  std::lock_guard<std::mutex> lock(alloc_mu_);
  pd->next_free = free_head_;
  free_head_ = pd->index + 1;
}

// Go's netpollcheckerr: the error a direction reports, from the lock-free
// info word alone.
int Poller::Impl::CheckErr(const PollDesc& pd, PollMode mode) {
  uint32_t info = pd.info.load(std::memory_order_acquire);
  if (info & kInfoClosing) return GORT_ECANCELED;
  if ((mode == PollMode::kRead && (info & kInfoExpiredRead)) ||
      (mode == PollMode::kWrite && (info & kInfoExpiredWrite))) {
    return GORT_ETIMEDOUT;
  }
  if (mode == PollMode::kRead && (info & kInfoEventErr)) return GORT_EIO;
  return 0;
}

// Go's publishInfo: called with pd.mu held after closing/rd/wd change and
// before any waiter is unblocked; keeps the event-error bit.
void Poller::Impl::PublishInfo(PollDesc& pd) {
  uint32_t bits = 0;
  if (pd.closing) bits |= kInfoClosing;
  if (pd.rd < 0) bits |= kInfoExpiredRead;
  if (pd.wd < 0) bits |= kInfoExpiredWrite;
  uint32_t old = pd.info.load(std::memory_order_relaxed);
  while (!pd.info.compare_exchange_weak(old, (old & kInfoEventErr) | bits,
                                        std::memory_order_acq_rel)) {
  }
}

// Go's netpollunblock. I/O readiness moves nil or wait to ready; a parked
// token is taken and the direction goes back to nil (the token's wake-up
// consumes the notification, as the woken goroutine does in Go). Deadline
// and close never pre-arm: they only take a parked token.
uintptr_t Poller::Impl::Unblock(PollDesc& pd, PollMode mode, bool ioready) {
  std::atomic<uintptr_t>& g = pd.g(mode);
  uintptr_t old = g.load(std::memory_order_acquire);
  for (;;) {
    if (old == kPdReady) return 0;
    if (old == kPdNil && !ioready) return 0;
    uintptr_t next = (ioready && old <= kPdWait) ? kPdReady : kPdNil;
    if (g.compare_exchange_weak(old, next, std::memory_order_acq_rel,
                                std::memory_order_acquire)) {
      return old > kPdWait ? old : 0;
    }
  }
}

void Poller::Impl::StopTimers(PollDesc& pd) {
  if (pd.rt != 0) (void)deadlines_.Remove(pd.rt);
  if (pd.wt != 0) (void)deadlines_.Remove(pd.wt);
  pd.rt = pd.wt = 0;
}

uintptr_t Poller::Impl::ArmTimer(const PollDesc& pd, int64_t when,
                                 uintptr_t kind, uint32_t seq) {
  TimerTarget t;
  t.token = (static_cast<uintptr_t>(pd.index) << 32) |
            (static_cast<uintptr_t>(seq & kSeqMask) << 2) | kind;
  absl::StatusOr<TimerId> id = deadlines_.Start(when, 0, t);
  return id.ok() ? *id : 0;
}

void Poller::Impl::Emit(Sink* sink, uintptr_t token, PollMode mode,
                        PollReason reason) {
  if (token == 0) return;
  PollEvent ev{token, mode, reason};
  if (sink != nullptr && sink->count < sink->n) {
    sink->out[sink->count++] = ev;
  } else {
    Enqueue(ev);
  }
}

void Poller::Impl::Enqueue(const PollEvent& ev) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  queue_.push_back(ev);
  queued_.store(queue_.size(), std::memory_order_release);
}

void Poller::Impl::DrainQueue(Sink* sink) {
  if (queued_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard<std::mutex> lock(queue_mu_);
  size_t k = std::min(queue_.size(), sink->n - sink->count);
  std::copy(queue_.begin(), queue_.begin() + k, sink->out + sink->count);
  sink->count += k;
  queue_.erase(queue_.begin(), queue_.begin() + k);
  queued_.store(queue_.size(), std::memory_order_release);
}

void Poller::Impl::Deliver(uintptr_t rg, uintptr_t wg, PollReason reason) {
  if (rg == 0 && wg == 0) return;
  Emit(nullptr, rg, PollMode::kRead, reason);
  Emit(nullptr, wg, PollMode::kWrite, reason);
  Wake();
}

// Go's netpolldeadlineimpl, run by Poll() for a due deadline timer.
void Poller::Impl::FireDeadline(uintptr_t token, Sink* sink) {
  PollDesc* pd = At(static_cast<uint32_t>(token >> 32));
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
        (void)deadlines_.Remove(pd->rt);
        pd->rt = 0;
      }
    }
    if (kind & kKindWrite) {
      pd->wd = -1;
      if (kind == kKindWrite && pd->wt != 0) {
        (void)deadlines_.Remove(pd->wt);
        pd->wt = 0;
      }
    }
    PublishInfo(*pd);
    if (kind & kKindRead) rg = Unblock(*pd, PollMode::kRead, false);
    if (kind & kKindWrite) wg = Unblock(*pd, PollMode::kWrite, false);
  }
  Emit(sink, rg, PollMode::kRead, PollReason::kDeadline);
  Emit(sink, wg, PollMode::kWrite, PollReason::kDeadline);
}

void Poller::Impl::RunDeadlines(int64_t now, Sink* sink) {
  if (deadlines_.NextWhen() < 0 || deadlines_.NextWhen() > now) return;
  uintptr_t tokens[64];
  for (;;) {
    size_t n = 0;
    int64_t next = deadlines_.Run(now, tokens, 64, &n);
    for (size_t i = 0; i < n; ++i) FireDeadline(tokens[i], sink);
    if (next < 0 || next > now) break;
  }
}

absl::StatusOr<PollDescId> Poller::Impl::Register(intptr_t fd) {
  PollDesc* pd = Alloc();
  if (pd == nullptr) return Err(GORT_ENOMEM, "netpoll register");
  uint32_t seq;
  {
    // A free pollDesc is in its reset state (new, or reset by Free()).
    std::lock_guard<std::mutex> lock(pd->mu);
    pd->in_use = true;
    pd->fd = fd;
    seq = pd->seq.load(std::memory_order_relaxed) + 1;  // odd: in use
    pd->seq.store(seq, std::memory_order_seq_cst);
  }
  PollDescId id = (static_cast<uint64_t>(seq) << 32) | (pd->index + 1);
  absl::Status s = backend_->Add(fd, id);
  if (!s.ok()) {
    pd->seq.store(seq + 1, std::memory_order_seq_cst);
    Free(pd);
    return s;
  }
  return id;
}

// Go's poll_runtime_pollUnblock.
absl::Status Poller::Impl::Evict(PollDescId id) {
  Pin pd = Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll evict");
  uintptr_t rg = 0, wg = 0;
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    if (pd->closing) return absl::OkStatus();
    pd->closing = true;
    pd->rseq++;
    pd->wseq++;
    PublishInfo(*pd.get());
    rg = Unblock(*pd.get(), PollMode::kRead, false);
    wg = Unblock(*pd.get(), PollMode::kWrite, false);
    StopTimers(*pd.get());
  }
  Deliver(rg, wg, PollReason::kClosing);
  return absl::OkStatus();
}

// Go's poll_runtime_pollClose plus the pollCache free that bumps fdseq.
absl::Status Poller::Impl::Close(PollDescId id) {
  absl::Status s = Evict(id);
  if (!s.ok()) return Err(GORT_EBADF, "netpoll close");
  PollDesc* raw;
  intptr_t fd;
  {
    Pin pd = Acquire(id);
    if (!pd) return Err(GORT_EBADF, "netpoll close");
    // Only one closer wins; from here on new calls with `id` fail.
    uint32_t seq = static_cast<uint32_t>(id >> 32);
    if (!pd->seq.compare_exchange_strong(seq, seq + 1,
                                         std::memory_order_seq_cst)) {
      return Err(GORT_EBADF, "netpoll close");
    }
    {
      std::lock_guard<std::mutex> lock(pd->mu);
      fd = pd->fd;
    }
    raw = pd.get();
  }
  absl::Status removed = backend_->Remove(fd);
  Free(raw);
  return removed;
}

// Go's poll_runtime_pollReset.
absl::Status Poller::Impl::Prepare(PollDescId id, PollMode mode) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll prepare: mode");
  Pin pd = Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll prepare");
  int code = CheckErr(*pd.get(), mode);
  if (code != 0) return Err(code, "netpoll prepare");
  std::atomic<uintptr_t>& g = pd->g(mode);
  uintptr_t old = g.load(std::memory_order_acquire);
  while (old == kPdReady) {
    if (g.compare_exchange_weak(old, kPdNil, std::memory_order_acq_rel)) break;
  }
  if (old > kPdReady) {
    return Err(GORT_EBUSY, "netpoll prepare: a waiter is parked");
  }
  return absl::OkStatus();
}

// Go's poll_runtime_pollWait and netpollblock, with the commit step
// (netpollblockcommit) done here: the caller's waiter is already suspended.
absl::StatusOr<WaitResult> Poller::Impl::Wait(PollDescId id, PollMode mode,
                                              uintptr_t token) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll wait: mode");
  if (token <= kPdWait) return Err(GORT_EINVAL, "netpoll wait: token");
  Pin pd = Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll wait");
  int code = CheckErr(*pd.get(), mode);
  if (code != 0) return Err(code, "netpoll wait");
  std::atomic<uintptr_t>& g = pd->g(mode);
  for (;;) {
    uintptr_t old = g.load(std::memory_order_acquire);
    for (;;) {
      if (old == kPdReady) {
        if (g.compare_exchange_weak(old, kPdNil, std::memory_order_acq_rel)) {
          return WaitResult::kReady;
        }
      } else if (old == kPdNil) {
        if (g.compare_exchange_weak(old, kPdWait, std::memory_order_acq_rel)) {
          break;
        }
      } else {
        return Err(GORT_EBUSY, "netpoll wait: double wait");
      }
    }
    // Errors may have appeared after the first check (Go re-checks too).
    if (CheckErr(*pd.get(), mode) == 0) {
      uintptr_t wait = kPdWait;
      if (g.compare_exchange_strong(wait, token, std::memory_order_acq_rel)) {
        return WaitResult::kParked;
      }
    }
    // Readiness, a deadline or close came in between.
    old = g.exchange(kPdNil, std::memory_order_acq_rel);
    if (old == kPdReady) return WaitResult::kReady;
    code = CheckErr(*pd.get(), mode);
    if (code != 0) return Err(code, "netpoll wait");
  }
}

// Go's poll_runtime_pollSetDeadline.
absl::Status Poller::Impl::SetDeadline(PollDescId id, int64_t d,
                                       PollMode mode) {
  if (!OneMode(mode) && mode != PollMode::kReadWrite) {
    return Err(GORT_EINVAL, "netpoll set deadline: mode");
  }
  Pin pd = Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll set deadline");
  uintptr_t rg = 0, wg = 0;
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
      if (pd->rt != 0) (void)deadlines_.Remove(pd->rt);
      pd->rt = 0;
      if (pd->rd > 0) {
        pd->rt = ArmTimer(*pd.get(), pd->rd, combo ? kKindBoth : kKindRead,
                          pd->rseq);
      }
    }
    if (pd->wt != 0 ? (pd->wd != wd0 || combo != combo0)
                    : (pd->wd > 0 && !combo)) {
      pd->wseq++;
      if (pd->wt != 0) (void)deadlines_.Remove(pd->wt);
      pd->wt = 0;
      if (pd->wd > 0 && !combo) {
        pd->wt = ArmTimer(*pd.get(), pd->wd, kKindWrite, pd->wseq);
      }
    }
    PublishInfo(*pd.get());
    // A deadline in the past unblocks pending I/O now.
    if (pd->rd < 0) rg = Unblock(*pd.get(), PollMode::kRead, false);
    if (pd->wd < 0) wg = Unblock(*pd.get(), PollMode::kWrite, false);
  }
  Deliver(rg, wg, PollReason::kDeadline);
  return absl::OkStatus();
}

absl::StatusOr<size_t> Poller::Impl::Poll(int64_t delay, PollEvent* out,
                                          size_t n) {
  if (out == nullptr || n == 0) return Err(GORT_EINVAL, "netpoll poll");
  Sink sink{out, n, 0};
  DrainQueue(&sink);
  int64_t now = Nanotime();
  RunDeadlines(now, &sink);
  if (sink.count == n) return n;
  int64_t wait = sink.count > 0 ? 0 : delay;
  int64_t next = deadlines_.NextWhen();
  if (next >= 0 && wait != 0) {
    int64_t until = next > now ? next - now : 0;
    if (wait < 0 || until < wait) wait = until;
  }
  BackendEvent evs[128];
  size_t cap = std::min<size_t>(128, n - sink.count);
  absl::StatusOr<internal::BackendWaitResult> r =
      backend_->Wait(wait, evs, cap);
  if (!r.ok()) return r.status();
  if (r->broke) wake_sig_.store(0, std::memory_order_release);
  if (r->foreign != 0) {
    foreign_events_.fetch_add(r->foreign, std::memory_order_relaxed);
  }
  if (r->n != 0) events_.fetch_add(r->n, std::memory_order_relaxed);
  for (size_t i = 0; i < r->n; ++i) {
    const BackendEvent& ev = evs[i];
    Pin pd = Acquire(ev.key);
    if (!pd) {  // harvested for a closed (maybe reused) pollDesc: drop it
      stale_events_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // Go's setEventErr: only an event that is nothing but an error marks
    // reads as failed; any other event clears the mark.
    if (ev.error_only) {
      pd->info.fetch_or(kInfoEventErr, std::memory_order_acq_rel);
    } else if (pd->info.load(std::memory_order_relaxed) & kInfoEventErr) {
      pd->info.fetch_and(~kInfoEventErr, std::memory_order_acq_rel);
    }
    if (ev.modes & kPollRead) {
      Emit(&sink, Unblock(*pd.get(), PollMode::kRead, true), PollMode::kRead,
           PollReason::kReady);
    }
    if (ev.modes & kPollWrite) {
      Emit(&sink, Unblock(*pd.get(), PollMode::kWrite, true), PollMode::kWrite,
           PollReason::kReady);
    }
  }
  if (wait != 0 && sink.count < n) {
    RunDeadlines(Nanotime(), &sink);
    DrainQueue(&sink);
  }
  return sink.count;
}

// Go's netpollBreak: one signal until a blocking poll consumes it.
void Poller::Impl::Wake() {
  wakes_.fetch_add(1, std::memory_order_relaxed);
  uint32_t expected = 0;
  if (!wake_sig_.compare_exchange_strong(expected, 1,
                                         std::memory_order_acq_rel)) {
    return;
  }
  wakes_sent_.fetch_add(1, std::memory_order_relaxed);
  (void)backend_->Break();
}

absl::StatusOr<void*> Poller::Impl::Overlapped(PollDescId id, PollMode mode) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll overlapped: mode");
  Pin pd = Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll overlapped");
#ifdef _WIN32
  internal::WinOp& op = pd->ops[mode == PollMode::kRead ? 0 : 1];
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

absl::StatusOr<OverlappedResult> Poller::Impl::GetOverlappedResult(
    PollDescId id, PollMode mode) {
  if (!OneMode(mode)) return Err(GORT_EINVAL, "netpoll overlapped: mode");
  Pin pd = Acquire(id);
  if (!pd) return Err(GORT_EBADF, "netpoll overlapped result");
#ifdef _WIN32
  const internal::WinOp& op = pd->ops[mode == PollMode::kRead ? 0 : 1];
  return OverlappedResult{op.bytes, op.error};
#else
  return Err(GORT_ENOTSUP, "netpoll overlapped result: Windows only");
#endif
}

PollerStats Poller::Impl::stats() const {
  PollerStats s;
  s.wakes = wakes_.load(std::memory_order_relaxed);
  s.wakes_sent = wakes_sent_.load(std::memory_order_relaxed);
  s.events = events_.load(std::memory_order_relaxed);
  s.stale_events = stale_events_.load(std::memory_order_relaxed);
  s.foreign_events = foreign_events_.load(std::memory_order_relaxed);
  s.deadline_timers = deadlines_.pending();
  return s;
}

// The public class forwards to Impl.

absl::StatusOr<std::unique_ptr<Poller>> Poller::Open() {
  absl::StatusOr<std::unique_ptr<internal::PollBackend>> b =
      internal::NewPollBackend();
  if (!b.ok()) return b.status();
  auto impl = std::make_unique<Impl>(std::move(*b));
  return std::unique_ptr<Poller>(new Poller(std::move(impl)));
}

Poller::Poller(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Poller::~Poller() = default;

absl::StatusOr<PollDescId> Poller::Register(intptr_t fd) {
  return impl_->Register(fd);
}
absl::Status Poller::Evict(PollDescId pd) { return impl_->Evict(pd); }
absl::Status Poller::Close(PollDescId pd) { return impl_->Close(pd); }
absl::Status Poller::Prepare(PollDescId pd, PollMode mode) {
  return impl_->Prepare(pd, mode);
}
absl::StatusOr<WaitResult> Poller::Wait(PollDescId pd, PollMode mode,
                                        uintptr_t token) {
  return impl_->Wait(pd, mode, token);
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
absl::StatusOr<size_t> Poller::Poll(int64_t delay, PollEvent* out, size_t n) {
  return impl_->Poll(delay, out, n);
}
void Poller::Wake() { impl_->Wake(); }
absl::StatusOr<void*> Poller::Overlapped(PollDescId pd, PollMode mode) {
  return impl_->Overlapped(pd, mode);
}
absl::StatusOr<OverlappedResult> Poller::GetOverlappedResult(PollDescId pd,
                                                             PollMode mode) {
  return impl_->GetOverlappedResult(pd, mode);
}
PollerStats Poller::stats() const { return impl_->stats(); }
size_t Poller::PollDescBytes() { return sizeof(PollDesc); }
const char* Poller::BackendName() { return internal::PollBackendName(); }

}  // namespace gort
