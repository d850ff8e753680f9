// SPDX-License-Identifier: BSD-3-Clause
// The timer heap, written once for every OS (Go: runtime/time.go, the
// 4-ary heap of {timer, when} of Go 1.23; time/sleep.go for Stop's
// semantics). See include/gort/timer.h.
#include "gort/timer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "owner_lock.h"

// The public methods are thin checks around Impl's; inlining the hot ones
// there keeps the private implementation from costing a second call.
// Rare paths are kept out of line and out of the hot code's way.
#if defined(__GNUC__)
#define GORT_TIMER_HOT [[gnu::always_inline]] inline
#define GORT_TIMER_COLD [[gnu::noinline, gnu::cold]]
#else
#define GORT_TIMER_HOT inline
#define GORT_TIMER_COLD
#endif

namespace gort {
namespace {

constexpr uint32_t kPending = 1;   // armed and not yet fired or stopped
constexpr uint32_t kRemoved = 2;   // removed while its callback ran
constexpr uint32_t kRunning = 4;   // its callback runs now (on one thread)
constexpr uint32_t kDeferred = 8;  // came due while running: a tail slot
constexpr uint32_t kGenShift = 4;  // the generation counts in the top bits
constexpr uint32_t kGenOne = 1u << kGenShift;
constexpr uint32_t kGenMask = 0xffffffffu >> kGenShift;
constexpr size_t kArity = 4;
constexpr int kChunkShift = 12;  // 4096 records per chunk
constexpr uint32_t kChunkMask = (1u << kChunkShift) - 1;
// Stale slots (of stopped or re-armed timers) are swept out, a few per
// call, while they number more than a quarter of the live ones and at
// least this many...
constexpr size_t kMinStaleToSweep = 64;
// ...looking at up to this many slots per call (each look reads the
// timer's record: a cache miss at 1e6 timers) and removing up to
// kSweepRemovals of them (a sift each), more than the one stale slot a
// Stop or Reset adds, while no call does more than a microsecond or two
// of it.
constexpr size_t kSweepSlots = 8;
constexpr size_t kSweepRemovals = 2;
// SetCallbackBatch()'s largest batch.
constexpr size_t kMaxCallbackBatch = 64;
// Slot i lives at slots[i + kPad]: with a 64-byte aligned base, the four
// children of every node share one cache line.
constexpr size_t kPad = 3;
constexpr std::align_val_t kLine{64};
// Arming numbers are renumbered from 0 before they reach this, so they
// never wrap and compare as plain unsigned numbers.
constexpr uint32_t kRenumberAt = 0xffffffffu;
// Records are numbered by 32 bits (index + 1 in the handle).
constexpr uint32_t kMaxRecords = 0xfffffffeu;

// Timer callbacks running on this thread, of any heap. StopSync() refuses
// to wait while it is non-zero: see the header.
thread_local int tls_callbacks = 0;

// Heaps get distinct salts; the multiplier is odd, so the first 2^32 heaps
// all differ, and consecutive heaps differ in their high bits.
std::atomic<uint32_t> g_heap_serial{1};

uint32_t GenOf(uint32_t state) { return state >> kGenShift; }

absl::Status NoMemory() {
  // No message: a Status with one allocates, and memory has just run out.
  return absl::ResourceExhaustedError("");
}

absl::Status NotFound() {
  return absl::NotFoundError("stale, removed or other heap's timer");
}

// Go's periodic re-arm (runtime/time.go, unlockAndRun): the first tick after
// `now`, skipping missed ones; saturates at INT64_MAX. 0 <= when <= now.
int64_t NextTick(int64_t when, int64_t period, int64_t now) {
  uint64_t delay = static_cast<uint64_t>(now) - static_cast<uint64_t>(when);
  uint64_t ticks = delay / static_cast<uint64_t>(period) + 1;  // <= 2^63
  uint64_t add;
  if (__builtin_mul_overflow(ticks, static_cast<uint64_t>(period), &add) ||
      add > static_cast<uint64_t>(INT64_MAX - when)) {
    return INT64_MAX;
  }
  return when + static_cast<int64_t>(add);
}

}  // namespace

class TimerHeap::Impl {
 public:
  // What handle checks, Stop() and the heap's liveness checks read.
  struct Meta {
    uint32_t order;  // arming number of its live slot; free list link if free
    uint32_t state;  // gen << kGenShift | kDeferred | kRunning | kRemoved |
                     // kPending
  };
  // A timer: its Meta and what firing reads, in one half cache line, so a
  // fire or a stop at a million timers misses the cache once per timer.
  struct alignas(32) Record {
    Meta meta;
    void (*fn)(void*, int64_t);
    uintptr_t arg;   // callback argument, or the token
    int64_t period;  // > 0 for a periodic timer
  };
  struct Chunk {
    Record rec[size_t{1} << kChunkShift];
  };
  // Laid out so that, read as one little-endian 128-bit number, a slot
  // orders as (when, order, index): Less() is then one 128-bit compare (two
  // instructions on a 64-bit target) instead of two compares and branches.
  // `index` never decides: arming numbers are unique among the slots.
  struct alignas(16) Slot {
    uint32_t index;  // record index
    uint32_t order;  // arming order: FIFO among equal deadlines
    int64_t when;    // never negative, so it compares as unsigned
  };
  static_assert(sizeof(Slot) == 16, "a heap slot is 16 bytes");
  static Slot MakeSlot(int64_t when, uint32_t order, uint32_t index) {
    Slot s;
    s.index = index;
    s.order = order;
    s.when = when;
    return s;
  }
  static_assert(sizeof(Record) == 32, "a record is half a cache line");

  explicit Impl(std::atomic<int64_t>* next_when) noexcept
      : salt_(g_heap_serial.fetch_add(1, std::memory_order_relaxed) *
              0x9e3779b9u),
        next_when_(*next_when) {}
  ~Impl() {
    for (size_t i = 0; i < nchunks_; ++i) delete chunks_[i];
    delete[] chunks_;
    if (slots_ != nullptr) ::operator delete(slots_, kLine);
  }

  absl::StatusOr<TimerId> Add(TimerTarget target);
  absl::StatusOr<bool> Reset(TimerId id, int64_t when, int64_t period);
  absl::StatusOr<bool> Stop(TimerId id);
  absl::StatusOr<bool> StopSync(TimerId id);
  absl::Status Remove(TimerId id);
  int64_t Run(int64_t now, uintptr_t* tokens, size_t capacity, size_t* n);
  absl::Status Reserve(size_t n);
  size_t MemoryUsage() const;

  // The private helpers run with mu_ held.
  // The live timer `id` names (and its record index), or null.
  GORT_TIMER_HOT Meta* Lookup(TimerId id, uint32_t* index);
  TimerId MakeId(uint32_t index) const {
    return (static_cast<uint64_t>(GenOf(M(index).state) ^ salt_) << 32) |
           (static_cast<uint64_t>(index) + 1);
  }
  Meta& M(uint32_t index) const {
    return chunks_[index >> kChunkShift]->rec[index & kChunkMask].meta;
  }
  Record& R(uint32_t index) const {
    return chunks_[index >> kChunkShift]->rec[index & kChunkMask];
  }
  Slot& H(size_t i) const { return slots_[i + kPad]; }
  // The deferred timers' slots (kDeferred: came due while their callback
  // ran) wait at the far end of the slot array, T(0) the last slot, so a
  // deferred timer costs no record space; few are ever deferred at once.
  Slot& T(size_t j) const { return slots_[kPad + cap_ - 1 - j]; }
  void AddDeferred(Slot s) { T(deferred_++) = s; }
  // Cold: deferral is rare, and inlined it weighs on every Disarm's
  // register allocation.
  GORT_TIMER_COLD Slot TakeDeferred(uint32_t index);
  bool Live(const Slot& s) const {
    const Meta& m = M(s.index);
    return (m.state & kPending) != 0 && m.order == s.order;
  }
  // Orders by deadline, then arming number (which never wraps: see
  // Renumber()).
#if defined(__SIZEOF_INT128__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  using Key = unsigned __int128;
  static Key KeyOf(const Slot& s) {
    Key k;
    std::memcpy(&k, &s, sizeof k);
    return k;
  }
#else
  struct Key {
    uint64_t when;
    uint32_t order;
    bool operator<(const Key& o) const {
      return when != o.when ? when < o.when : order < o.order;
    }
  };
  static Key KeyOf(const Slot& s) {
    return Key{static_cast<uint64_t>(s.when), s.order};
  }
#endif
  static bool Less(const Slot& a, const Slot& b) { return KeyOf(a) < KeyOf(b); }
  // Room for `need` slots; the check is inline, the growing is not.
  bool Grow(size_t need) { return need <= cap_ || GrowSlots(need, false); }
  bool GrowSlots(size_t need, bool exact);
  bool GrowChunks(size_t chunks);
  void Push(Slot s);  // capacity ensured by the caller
  void PopTop();
  void SiftUp(size_t i);
  void SiftDown(size_t i);
  // The smallest of the four slots from `first` on, by full key.
  size_t MinOfFour(size_t first) const;
  void Heapify();
  void Disarm(uint32_t index, Meta& m);
  void RemoveAt(size_t i);  // removes slot i, keeping the heap order
  // Invariant: whenever mu_ is free, the top slot (if any) is live, so
  // NextWhen() is exact. Stop, Reset and Remove make only their timer's
  // old slot stale: CleanAfter(index) pops the top only when it is that
  // slot. Everything else that can leave a stale slot on top (Run, a
  // sweep) calls TopLive().
  void Clean();
  void CleanAfter(uint32_t index) {
    if (Sweep() || (size_ > 0 && H(0).index == index)) TopLive();
  }
  // Whether stale slots are to be swept out now (then SweepSome() does a
  // few): inline, since it is false on most calls.
  bool Sweep() {
    size_t live = pending_ - deferred_;
    size_t stale = size_ - live;
    if (stale < kMinStaleToSweep || stale <= live / 4) return false;
    SweepSome();
    return true;
  }
  void SweepSome();
  void TopLive() {
    while (size_ > 0 && !Live(H(0))) PopTop();
  }
  void Publish() {
    next_when_.store(size_ == 0 ? -1 : H(0).when, std::memory_order_release);
  }
  void Renumber();
  void CallbackDone(uint32_t index);
  void Free(uint32_t index);
  bool NewRecord(uint32_t* index);

  // Go's runtime lock, biased towards an owner thread if SetOwner() named
  // one (owner_lock.h), not std::mutex: a pthread mutex costs some fifty
  // instructions per lock and unlock, about a fifth of a Reset's.
  // Everything below up to next_when_ is guarded by mu_.
  mutable OwnerLock mu_;
  // StopSync()'s wait for a callback to return, on a std::condition_variable
  // (condition_variable_any would allocate in the constructor): the waiter
  // takes wait_mu_ before it frees mu_, and CallbackDone() (holding mu_)
  // takes wait_mu_ to notify, so the wake-up cannot fall between the two.
  std::mutex wait_mu_;
  std::condition_variable done_running_;
  Slot* slots_ = nullptr;  // the heap: size_ slots from H(0)
  size_t size_ = 0;
  size_t sweep_ = 0;  // Clean()'s cursor into the heap
  size_t batch_ = 1;  // callbacks per unlock in Run() (SetCallbackBatch)
  // Invariant: size_ + deferred_ <= cap_: the heap's slots from the front,
  // the deferred ones' from the back (T), and a deferred timer can always
  // be pushed back without allocating.
  size_t cap_ = 0;
  Chunk** chunks_ = nullptr;  // chunks never move: handles stay checkable
  size_t nchunks_ = 0;
  size_t chunks_cap_ = 0;
  uint32_t records_ = 0;             // records handed out
  uint32_t free_head_ = 0;           // 1-based; 0 = none
  uint32_t order_ = 0;               // next arming number
  uint64_t epoch_ = 0;               // renumberings so far
  size_t pending_ = 0;               // pending timers: live slots + deferred_
  size_t deferred_ = 0;              // kDeferred timers: slots T(0..)
  int runs_ = 0;                     // threads in Run()
  int sync_waiters_ = 0;             // threads waiting in StopSync()
  const uint32_t salt_;              // mixed into every handle's generation
  std::atomic<int64_t>& next_when_;  // the TimerHeap's, read inline there
  void (*earlier_fn_)(void*) = nullptr;  // guarded by mu_
  void* earlier_arg_ = nullptr;          // guarded by mu_
};

GORT_TIMER_HOT TimerHeap::Impl::Meta* TimerHeap::Impl::Lookup(TimerId id,
                                                              uint32_t* index) {
  uint64_t low = id & 0xffffffffu;
  if (low == 0 || low > records_) return nullptr;
  *index = static_cast<uint32_t>(low - 1);
  Meta& m = M(*index);
  // Remove() bumps the generation, so every handle to it is stale; another
  // heap's salt makes its handles' generations differ (in the top bits too).
  if (GenOf(m.state) != (static_cast<uint32_t>(id >> 32) ^ salt_) ||
      (m.state & kRemoved) != 0) {
    return nullptr;
  }
  return &m;
}

bool TimerHeap::Impl::GrowSlots(size_t need, bool exact) {
  if (need <= cap_) return true;
  size_t cap = cap_ < 64 ? 64 : cap_ * 2;
  while (cap < need) cap *= 2;
  if (exact) cap = need;  // Reserve(): what was asked for, no doubling
  auto* slots = static_cast<Slot*>(
      ::operator new((cap + kPad) * sizeof(Slot), kLine, std::nothrow));
  if (slots == nullptr) return false;
  if (slots_ != nullptr) {
    std::memcpy(slots + kPad, slots_ + kPad, size_ * sizeof(Slot));
    std::memcpy(slots + kPad + cap - deferred_,
                slots_ + kPad + cap_ - deferred_, deferred_ * sizeof(Slot));
    ::operator delete(slots_, kLine);
  }
  slots_ = slots;
  cap_ = cap;
  return true;
}

bool TimerHeap::Impl::GrowChunks(size_t chunks) {
  if (chunks > chunks_cap_) {
    size_t cap = chunks_cap_ < 8 ? 8 : chunks_cap_ * 2;
    while (cap < chunks) cap *= 2;
    auto** table = new (std::nothrow) Chunk*[cap];
    if (table == nullptr) return false;
    if (nchunks_ > 0) std::memcpy(table, chunks_, nchunks_ * sizeof(Chunk*));
    delete[] chunks_;
    chunks_ = table;
    chunks_cap_ = cap;
  }
  while (nchunks_ < chunks) {
    Chunk* c = new (std::nothrow) Chunk();
    if (c == nullptr) return false;
    chunks_[nchunks_++] = c;
  }
  return true;
}

void TimerHeap::Impl::SiftUp(size_t i) {
  const Slot s = H(i);
  const Key k = KeyOf(s);
  while (i > 0) {
    size_t parent = (i - 1) / kArity;
    if (!(k < KeyOf(H(parent)))) break;
    H(i) = H(parent);
    i = parent;
  }
  H(i) = s;
}

// Floyd's sift-down (bottom-up heapsort): the hole goes down along the
// smallest children to a leaf without comparing against the slot being
// placed, which then rises from there. The slot placed is mostly one from
// the bottom of the heap (PopTop, RemoveAt) and belongs near the bottom
// again, so this makes three compares per level where the textbook
// sift-down makes four. The four children of a node share a cache line
// (kPad) and are compared as a tournament of deadlines, without branches
// unless deadlines tie.
void TimerHeap::Impl::SiftDown(size_t i) {
  const size_t n = size_;
  const size_t top = i;
  const Slot s = H(i);
  for (;;) {
    size_t first = i * kArity + 1;
    size_t best;
    if (first + kArity <= n) {
      // By deadline alone first (one 64-bit compare each): exact unless
      // one of the three compares made meets equal deadlines, and then
      // (rare outside tests) the full keys decide.
      const int64_t w0 = H(first).when, w1 = H(first + 1).when;
      const int64_t w2 = H(first + 2).when, w3 = H(first + 3).when;
      const size_t a = w1 < w0 ? first + 1 : first;
      const int64_t wa = w1 < w0 ? w1 : w0;
      const size_t b = w3 < w2 ? first + 3 : first + 2;
      const int64_t wb = w3 < w2 ? w3 : w2;
      best = wb < wa ? b : a;
      if (__builtin_expect((w0 == w1) | (w2 == w3) | (wa == wb), 0)) {
        best = MinOfFour(first);
      }
    } else if (first < n) {
      best = first;
      for (size_t c = first + 1; c < n; ++c) {
        if (Less(H(c), H(best))) best = c;
      }
    } else {
      break;
    }
    H(i) = H(best);
    i = best;
  }
  const Key k = KeyOf(s);
  while (i > top) {
    size_t parent = (i - 1) / kArity;
    if (!(k < KeyOf(H(parent)))) break;
    H(i) = H(parent);
    i = parent;
  }
  H(i) = s;
}

size_t TimerHeap::Impl::MinOfFour(size_t first) const {
  const Key k0 = KeyOf(H(first)), k1 = KeyOf(H(first + 1));
  const Key k2 = KeyOf(H(first + 2)), k3 = KeyOf(H(first + 3));
  const size_t a = k1 < k0 ? first + 1 : first;
  const Key ka = k1 < k0 ? k1 : k0;
  const size_t b = k3 < k2 ? first + 3 : first + 2;
  const Key kb = k3 < k2 ? k3 : k2;
  return kb < ka ? b : a;
}

void TimerHeap::Impl::Heapify() {
  for (size_t i = size_ / kArity + 1; i-- > 0;) {
    if (i < size_) SiftDown(i);
  }
}

void TimerHeap::Impl::Push(Slot s) {
  H(size_++) = s;
  SiftUp(size_ - 1);
}

void TimerHeap::Impl::PopTop() {
  H(0) = H(--size_);
  if (size_ > 0) {
    SiftDown(0);
    __builtin_prefetch(&R(H(0).index));
  }
}

TimerHeap::Impl::Slot TimerHeap::Impl::TakeDeferred(uint32_t index) {
  for (size_t j = 0; j < deferred_; ++j) {
    if (T(j).index == index) {
      Slot s = T(j);
      T(j) = T(--deferred_);
      return s;
    }
  }
  std::fputs("gort: timer heap: deferred timer without its slot\n", stderr);
  std::abort();
}

void TimerHeap::Impl::Disarm(uint32_t index, Meta& m) {
  if ((m.state & kPending) != 0) {
    m.state &= ~kPending;
    --pending_;
  }
  if ((m.state & kDeferred) != 0) {
    m.state &= ~kDeferred;
    (void)TakeDeferred(index);
  }
}

void TimerHeap::Impl::RemoveAt(size_t i) {
  --size_;
  if (i == size_) return;
  H(i) = H(size_);
  if (i > 0 && Less(H(i), H((i - 1) / kArity))) {
    SiftUp(i);
  } else {
    SiftDown(i);
  }
}

// Go's zombie sweep (runtime/time.go: adjust once zombies pass a quarter
// of the heap), made incremental: Go rebuilds the whole heap in one go,
// which at 1e6 timers held the lock for milliseconds inside whichever
// Stop crossed the line. Here each call looks at up to kSweepSlots slots
// from a cursor that walks the heap round and round, removing up to
// kSweepRemovals stale ones (a slot moved into a removed one's place is
// looked at next).
void TimerHeap::Impl::SweepSome() {
  size_t removals = kSweepRemovals;
  for (size_t budget = kSweepSlots; budget > 0 && removals > 0 && size_ > 0;
       --budget) {
    if (sweep_ >= size_) sweep_ = 0;
    if (Live(H(sweep_))) {
      ++sweep_;
    } else {
      RemoveAt(sweep_);
      --removals;
    }
  }
}

void TimerHeap::Impl::Clean() {
  Sweep();
  TopLive();
}

// Before the arming counter wraps: number the live armings 0, 1, ... in
// their order, so Less() stays exact. O(n log n) once per ~2^32 armings.
// Every Run() in progress notices epoch_ and stops at its next due timer
// (its start number is meaningless now); its caller calls again.
void TimerHeap::Impl::Renumber() {
  // Deferred timers' slots wait at the array's far end: put them back in
  // the heap (room is reserved), so they are renumbered too; they
  // are deferred again if they come due while their callback still runs.
  while (deferred_ > 0) {
    Slot s = T(--deferred_);  // read before Push may write its place
    M(s.index).state &= ~kDeferred;
    Push(s);
  }
  size_t out = 0;
  for (size_t i = 0; i < size_; ++i) {
    if (Live(H(i))) H(out++) = H(i);
  }
  size_ = out;
  Slot* first = &H(0);
  std::sort(first, first + size_,
            [](const Slot& a, const Slot& b) { return a.order < b.order; });
  for (size_t i = 0; i < size_; ++i) {
    H(i).order = static_cast<uint32_t>(i);
    M(H(i).index).order = static_cast<uint32_t>(i);
  }
  Heapify();
  order_ = static_cast<uint32_t>(size_);
  ++epoch_;
}

void TimerHeap::Impl::Free(uint32_t index) {
  Meta& m = M(index);
  m.state = (m.state & ~(kPending | kRemoved | kRunning | kDeferred)) + kGenOne;
  m.order = free_head_;
  free_head_ = index + 1;
}

bool TimerHeap::Impl::NewRecord(uint32_t* out) {
  if (free_head_ != 0) {
    uint32_t index = free_head_ - 1;
    free_head_ = M(index).order;
    *out = index;
    return true;
  }
  uint32_t index = records_;
  if (index >= kMaxRecords) return false;
  if (!GrowChunks((static_cast<size_t>(index) >> kChunkShift) + 1)) {
    return false;
  }
  ++records_;
  M(index) = Meta{};
  *out = index;
  return true;
}

// A callback has returned: the timer may run again, be freed, or get back
// the slot it was deferred from.
void TimerHeap::Impl::CallbackDone(uint32_t index) {
  Meta& m = M(index);
  m.state &= ~kRunning;
  if ((m.state & kRemoved) != 0) {
    Free(index);
  } else if ((m.state & kDeferred) != 0) {
    m.state &= ~kDeferred;
    Push(TakeDeferred(index));  // TakeDeferred frees the place Push uses
  }
  if (sync_waiters_ > 0) {
    std::lock_guard<std::mutex> w(wait_mu_);
    done_running_.notify_all();
  }
}

absl::StatusOr<TimerId> TimerHeap::Impl::Add(TimerTarget target) {
  OwnerLock::Guard lock(mu_);
  uint32_t index;
  if (!NewRecord(&index)) return NoMemory();
  Record& r = R(index);
  r.fn = target.fn;
  r.arg = target.fn != nullptr ? reinterpret_cast<uintptr_t>(target.arg)
                               : target.token;
  r.period = 0;
  M(index).order = 0;
  return MakeId(index);
}

GORT_TIMER_HOT absl::StatusOr<bool> TimerHeap::Impl::Reset(TimerId id,
                                                           int64_t when,
                                                           int64_t period) {
  if (when < 0) return absl::InvalidArgumentError("negative timer deadline");
  if (period < 0) return absl::InvalidArgumentError("negative timer period");
  bool was;
  bool earlier;
  void (*earlier_fn)(void*);
  void* earlier_arg;
  {
    OwnerLock::Guard lock(mu_);
    earlier_fn = earlier_fn_;  // read under the lock: SetEarlierHook may run
    earlier_arg = earlier_arg_;
    uint32_t index;
    Meta* m = Lookup(id, &index);
    if (m == nullptr) return NotFound();
    if (order_ >= kRenumberAt) Renumber();
    if (!Grow(size_ + deferred_ + 1)) return NoMemory();
    was = (m->state & kPending) != 0;
    Disarm(index, *m);
    R(index).period = period;
    m->order = order_++;
    m->state |= kPending;
    ++pending_;
    int64_t before = next_when_.load(std::memory_order_relaxed);
    Push(MakeSlot(when, m->order, index));
    CleanAfter(index);
    Publish();
    earlier = before < 0 || when < before;
  }
  if (earlier && earlier_fn != nullptr) earlier_fn(earlier_arg);
  return was;
}

GORT_TIMER_HOT absl::StatusOr<bool> TimerHeap::Impl::Stop(TimerId id) {
  OwnerLock::Guard lock(mu_);
  uint32_t index;
  Meta* m = Lookup(id, &index);
  if (m == nullptr) return NotFound();
  bool was = (m->state & kPending) != 0;
  Disarm(index, *m);
  CleanAfter(index);
  Publish();
  return was;
}

absl::StatusOr<bool> TimerHeap::Impl::StopSync(TimerId id) {
  OwnerLock::Guard lock(mu_);
  uint32_t index;
  Meta* m = Lookup(id, &index);
  if (m == nullptr) return NotFound();
  const bool running = (m->state & kRunning) != 0;
  if (running && tls_callbacks > 0) {
    // EDEADLK (kFailedPrecondition) with its payload, so the C ABI's one
    // mapper gives GORT_EDEADLK.
    return Error::FromCode(GORT_EDEADLK)
        .ToStatus(
            "timer StopSync from a timer callback while the target's "
            "callback runs: the wait could deadlock");
  }
  bool was = (m->state & kPending) != 0;
  Disarm(index, *m);
  CleanAfter(index);
  Publish();
  if (running) {
    // Only callbacks are waited for, and callbacks never wait here (the
    // check above), so this wait ends when the callback returns.
    // Remove() from the callback bumps the generation once and keeps the
    // record until the callback returns; after that it may be reused.
    const uint32_t gen = GenOf(m->state);
    auto same_run = [&] {
      uint32_t s = m->state;
      if ((s & kRunning) == 0) return false;
      return GenOf(s) == gen ||
             ((s & kRemoved) != 0 && GenOf(s) == ((gen + 1) & kGenMask));
    };
    ++sync_waiters_;
    while (same_run()) {
      std::unique_lock<std::mutex> w(wait_mu_);
      lock.unlock();
      done_running_.wait(w);
      w.unlock();  // before mu_: CallbackDone takes them in that order
      lock.lock();
    }
    --sync_waiters_;
  }
  return was;
}

absl::Status TimerHeap::Impl::Remove(TimerId id) {
  OwnerLock::Guard lock(mu_);
  uint32_t index;
  Meta* m = Lookup(id, &index);
  if (m == nullptr) return NotFound();
  Disarm(index, *m);
  CleanAfter(index);
  Publish();
  if ((m->state & kRunning) != 0) {
    // Its callback runs now: CallbackDone() frees it when it returns.
    m->state = (m->state | kRemoved) + kGenOne;
  } else {
    Free(index);
  }
  return absl::OkStatus();
}

GORT_TIMER_HOT int64_t TimerHeap::Impl::Run(int64_t now, uintptr_t* tokens,
                                            size_t capacity, size_t* n) {
  size_t count = 0;
  OwnerLock::Guard lock(mu_);
  ++runs_;
  // Armings numbered from `start` on were made after this call began: they
  // wait for the next call, which bounds this one.
  if (order_ >= kRenumberAt) Renumber();
  uint32_t start = order_;
  uint64_t epoch = epoch_;
  // Callbacks taken from the heap but not run yet (SetCallbackBatch): one
  // unlock and relock for all of them instead of one per callback.
  struct Due {
    void (*fn)(void*, int64_t);
    void* arg;
    uint32_t index;
  };
  Due batch[kMaxCallbackBatch];
  const size_t batch_max = batch_;
  for (;;) {
    size_t batched = 0;
    while (size_ > 0) {
      // Full: stop before touching the next timer's record (a cache miss
      // at a million timers); the caller calls again.
      if (capacity != 0 && count == capacity) break;
      if (__builtin_expect(order_ >= kRenumberAt, 0)) {
        Renumber();
        start = 0;
        epoch = epoch_;
      }
      Slot top = H(0);
      if (top.when > now) break;
      // Both per-timer reads miss the cache at a million timers: overlap
      // them.
      __builtin_prefetch(&R(top.index));
      Meta& m = M(top.index);
      if ((m.state & kPending) == 0 || m.order != top.order) {
        PopTop();  // stale: stopped or re-armed since
        continue;
      }
      if (top.order >= start) break;  // armed during this call: next call
      Record& r = R(top.index);
      if (r.fn == nullptr) {
        if (count == capacity) break;  // capacity 0: a token stops the run
        tokens[count++] = r.arg;
      } else if ((m.state & kRunning) != 0) {
        // Its callback runs now (on another thread, lower on this stack,
        // or later in this batch): it comes due again when that callback
        // returns (CallbackDone).
        m.state |= kDeferred;
        PopTop();  // first: size_ + deferred_ + 1 <= cap_ only after it
        AddDeferred(top);
        continue;
      }
      if (r.period > 0) {
        int64_t next = NextTick(top.when, r.period, now);
        m.order = order_++;
        H(0) = MakeSlot(next, m.order, top.index);
        SiftDown(0);
      } else {
        Disarm(top.index, m);
        PopTop();
      }
      if (r.fn != nullptr) {
        m.state |= kRunning;
        if (batch_max == 1) {  // Go's way: one callback per unlock
          auto fn = r.fn;
          void* arg = reinterpret_cast<void*>(r.arg);
          TopLive();  // the invariant holds while the lock is free
          lock.unlock();
          ++tls_callbacks;
          fn(arg, now);
          --tls_callbacks;
          lock.lock();
          CallbackDone(top.index);
          if (epoch != epoch_) {  // renumbered by a callback's Reset()
            start = 0;
            epoch = epoch_;
          }
          continue;
        }
        batch[batched++] = Due{r.fn, reinterpret_cast<void*>(r.arg), top.index};
        if (batched >= batch_max) break;
      }
    }
    if (batched == 0) break;
    TopLive();
    lock.unlock();
    ++tls_callbacks;
    for (size_t k = 0; k < batched; ++k) batch[k].fn(batch[k].arg, now);
    --tls_callbacks;
    lock.lock();
    for (size_t k = 0; k < batched; ++k) CallbackDone(batch[k].index);
    if (epoch != epoch_) {  // renumbered by a callback's Reset()
      start = 0;
      epoch = epoch_;
    }
  }
  --runs_;
  // The next timer to fire is known: start loading its record while Clean
  // reads its liveness.
  if (size_ > 0) __builtin_prefetch(&R(H(0).index));
  Clean();
  Publish();
  *n = count;
  return size_ == 0 ? -1 : H(0).when;
}

absl::Status TimerHeap::Impl::Reserve(size_t n) {
  OwnerLock::Guard lock(mu_);
  // Room for n live slots and the stale ones the sweep lets stand (a
  // quarter of the live ones, and a few): no Grow() copies the heap later.
  size_t slots = n + n / 4 + 2 * kMinStaleToSweep;
  if (slots < n || !GrowSlots(slots, /*exact=*/true)) return NoMemory();
  size_t chunks = (n + kChunkMask) >> kChunkShift;
  if (!GrowChunks(chunks)) return NoMemory();
  return absl::OkStatus();
}

size_t TimerHeap::Impl::MemoryUsage() const {
  OwnerLock::Guard lock(mu_);
  return nchunks_ * sizeof(Chunk) +
         (cap_ + (cap_ > 0 ? kPad : 0)) * sizeof(Slot) +
         chunks_cap_ * sizeof(Chunk*) + sizeof(Impl);
}

// --- TimerHeap: argument checks, then the implementation ---

TimerHeap::TimerHeap() : impl_(new (std::nothrow) Impl(&next_when_)) {}

TimerHeap::~TimerHeap() {
  if (impl_ != nullptr && InUse()) {
    std::fprintf(stderr,
                 "gort: TimerHeap destroyed while in use (from one of its "
                 "callbacks, or while another thread runs it)\n");
    std::abort();
  }
}

absl::StatusOr<TimerId> TimerHeap::Add(TimerTarget target) {
  if (impl_ == nullptr) return NoMemory();
  return impl_->Add(target);
}

absl::StatusOr<TimerId> TimerHeap::Start(int64_t when, int64_t period,
                                         TimerTarget target) {
  if (when < 0) return absl::InvalidArgumentError("negative timer deadline");
  if (period < 0) return absl::InvalidArgumentError("negative timer period");
  absl::StatusOr<TimerId> id = Add(target);
  if (!id.ok()) return id.status();
  absl::StatusOr<bool> armed = Reset(*id, when, period);
  if (!armed.ok()) {
    (void)Remove(*id);
    return armed.status();
  }
  return id;
}

absl::StatusOr<bool> TimerHeap::Reset(TimerId id, int64_t when,
                                      int64_t period) {
  if (impl_ == nullptr) return NotFound();
  return impl_->Reset(id, when, period);
}

absl::StatusOr<bool> TimerHeap::Stop(TimerId id) {
  if (impl_ == nullptr) return NotFound();
  return impl_->Stop(id);
}

absl::StatusOr<bool> TimerHeap::StopSync(TimerId id) {
  if (impl_ == nullptr) return NotFound();
  return impl_->StopSync(id);
}

absl::Status TimerHeap::Remove(TimerId id) {
  if (impl_ == nullptr) return NotFound();
  return impl_->Remove(id);
}

int64_t TimerHeap::Run(int64_t now, uintptr_t* tokens, size_t capacity,
                       size_t* n) {
  if (impl_ == nullptr) {
    *n = 0;
    return -1;
  }
  return impl_->Run(now, tokens, capacity, n);
}

bool TimerHeap::InUse() const {
  if (impl_ == nullptr) return false;
  OwnerLock::Guard lock(impl_->mu_);
  return impl_->runs_ > 0 || impl_->sync_waiters_ > 0;
}

size_t TimerHeap::pending() const {
  if (impl_ == nullptr) return 0;
  OwnerLock::Guard lock(impl_->mu_);
  return impl_->pending_;
}

absl::Status TimerHeap::Reserve(size_t n) {
  if (impl_ == nullptr) return NoMemory();
  return impl_->Reserve(n);
}

size_t TimerHeap::MemoryUsage() const {
  return impl_ == nullptr ? 0 : impl_->MemoryUsage();
}

void TimerHeap::SetEarlierHook(void (*fn)(void* arg), void* arg) {
  if (impl_ == nullptr) return;
  OwnerLock::Guard lock(impl_->mu_);
  impl_->earlier_fn_ = fn;
  impl_->earlier_arg_ = arg;
}

absl::Status TimerHeap::SetCallbackBatch(size_t k) {
  if (k == 0 || k > kMaxCallbackBatch) {
    return absl::InvalidArgumentError("callback batch: 1 to 64");
  }
  if (impl_ == nullptr) return absl::OkStatus();
  OwnerLock::Guard lock(impl_->mu_);
  impl_->batch_ = k;
  return absl::OkStatus();
}

absl::Status TimerHeap::SetOwner(bool own) {
  if (impl_ == nullptr || impl_->mu_.SetOwner(own)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "timer heap: another thread owns it; only the owner gives it up");
}

size_t TimerHeap::HeapSlotsForTesting() const {
  if (impl_ == nullptr) return 0;
  OwnerLock::Guard lock(impl_->mu_);
  return impl_->size_;
}

void TimerHeap::SetNextArmingForTesting(uint32_t next) {
  if (impl_ == nullptr) return;
  OwnerLock::Guard lock(impl_->mu_);
  impl_->order_ = next;
}

}  // namespace gort
